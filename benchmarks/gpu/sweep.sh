#!/bin/bash
# Device sweep: pytest on CUDA + MNIST AE recipes + CamVid configs + label-efficiency variants, in parallel.
set -u
T=${T:-420}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
export PYTHONPATH=$PWD/src:/tmp/site AEKIT_DATA=$PWD/shared/data PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 AEKIT_THREADS=1
L=/tmp/logs; mkdir -p $L
{ nvidia-smi -L; python3 -c "import torch,lightning,torchmetrics;print(torch.__version__, lightning.__version__, torchmetrics.__version__, torch.cuda.get_device_name())"; } > $L/env.txt 2>&1
MN=${MN:-"R1:37:16,32,128:1:0 R0:16:32,64,128:2:0 R4:28:16,64,128:2:0 R5:13:32,64,128:3:0 R3:13:32,64,256:2:0 R2:12:32,64,128:1:1 R7:10:32,64,128,256:2:0"}
CV=${CV:-"segnet_basic unet64_add unet_small fcn_basic"}
CVE=${CVE:-40}
LE=${LE:-"base:3:16,32,64:64: long:30:16,32,64:64: wide:30:32,64,128:64: dae:30:16,32,64:64:--input-noise,0.3 noaug:30:16,32,64:64:--no-augment"}
LEX=${LEX:-}
(timeout $T python3 -m pytest tests -q -p no:cacheprovider --disable-warnings -rfE ${PYTEST_ARGS:-} > $L/pytest.txt 2>&1) &
for s in $MN; do IFS=: read n e w b r <<< "$s"
  (timeout $T python3 benchmarks/mnist_ae_vs_pca.py --data shared/data/mnist --dims 32 --epochs $e --minutes-per-dim 30 \
     --widths $w --blocks $b --residual-blocks $r --out /tmp/mn/$n > $L/mn_$n.txt 2>&1) &
done
for m in $CV; do
  (timeout $T python3 benchmarks/camvid.py --models $m --epochs $CVE --out /tmp/cv > $L/cv_$m.txt 2>&1) &
done
for s in $LE; do IFS=: read n e w z x <<< "$s"
  (timeout $T python3 -m aekit label-efficiency --data mnist:shared/data/mnist --latent-dim $z --widths $w \
     --pretrain-epochs $e --methods ae_finetune,scratch,knn_z --labels-per-class 10 --seeds 2 --mode full \
     --encoder-lr-scale 1.0 --encoder-bn train --steps 600 ${x//,/ } $LEX --out /tmp/le/$n > $L/le_$n.txt 2>&1) &
done
wait
python3 benchmarks/gpu/collect.py > ${OUT:-/tmp}/summary.txt 2>&1
cp $L/pytest.txt ${OUT:-/tmp}/ 2>/dev/null
tar czf ${OUT:-/tmp}/logs.tgz -C /tmp logs 2>/dev/null
cat ${OUT:-/tmp}/summary.txt
