#!/bin/bash
set -u
T=${T:-190}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
export PYTHONPATH=$PWD/src:/tmp/site AEKIT_DATA=$PWD/shared/data PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 AEKIT_THREADS=1
L=/tmp/logs; mkdir -p $L; echo gpu2 > $L/env.txt
(timeout $T python3 -m pytest tests/test_data.py tests/test_training.py -q -p no:cacheprovider --disable-warnings -rfE -k "idx or t10k or resume" > $L/pytest.txt 2>&1) &
R="--widths 32,64,128 --blocks 1 --residual-blocks 1"
run() { n=$1; shift; (timeout $T python3 benchmarks/mnist_ae_vs_pca.py --data shared/data/mnist --dims 32 --minutes-per-dim 30 $R "$@" --out /tmp/mn/$n > $L/mn_$n.txt 2>&1) & }
run base --epochs 8
run silu --epochs 8 --act silu
run gelu --epochs 8 --act gelu
run bilinear --epochs 8 --upsample bilinear
run nearest --epochs 8 --upsample nearest
run tov --epochs 7 --train-on-val
run lr5e-3 --epochs 8 --lr 5e-3
wait
python3 benchmarks/gpu/collect.py > ${OUT:-/tmp}/summary2.txt 2>&1
cat ${OUT:-/tmp}/summary2.txt
