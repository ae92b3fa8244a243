#!/usr/bin/env bash
# Re-choose the MNIST autoencoder recipe on the validation digits only (--score-on val: the last
# 10,000 digits are never scored), then measure the chosen recipe once on them.
# Usage: bash benchmarks/mnist_recipe_sweep.sh [MINUTES_PER_CANDIDATE] [OUTDIR] [FINAL_DIMS] [FINAL_MINUTES]
# PRECISION=32 for CPUs without bf16 instructions (AVX2 only: bf16-mixed is ~10x slower there).
set -euo pipefail
MIN=${1:-4}
OUT=${2:-runs/mnist_sweep}
DIMS=${3:-2,10,32}
FINAL_MIN=${4:-2,2,15}
PREC=${PRECISION:-bf16-mixed}
mkdir -p "$OUT"
PY=${PYTHON:-python}
declare -A RECIPES=(
  [res1_silu]="--widths 32,64,128 --blocks 1 --residual-blocks 1 --act silu"
  [res1_relu]="--widths 32,64,128 --blocks 1 --residual-blocks 1 --act relu"
  [b2_silu]="--widths 32,64,128 --blocks 2 --residual-blocks 0 --act silu"
  [b2w256_silu]="--widths 32,64,256 --blocks 2 --residual-blocks 0 --act silu"
)
for name in ${CANDIDATES:-res1_silu res1_relu b2_silu b2w256_silu}; do
  # shellcheck disable=SC2086
  $PY benchmarks/mnist_ae_vs_pca.py --dims 32 --minutes-per-dim "$MIN" --score-on val --precision "$PREC" \
    ${RECIPES[$name]} \
    --out "$OUT/$name" 2> "$OUT/$name.log" | tail -1 > "$OUT/$name.json"
  echo "$name $(cat "$OUT/$name.json" | $PY -c 'import json,sys; d=json.load(sys.stdin)["dims"]["32"]; print(d["val_ratio"], d["steps"])')"
done
best=$($PY - "$OUT" <<'PY'
import json, sys
from pathlib import Path
rows = {p.stem: json.loads(p.read_text())["dims"]["32"]["val_ratio"] for p in Path(sys.argv[1]).glob("*.json")
        if p.stem != "final"}
print(min(rows, key=rows.get))
PY
)
echo "chosen on validation: $best"
# shellcheck disable=SC2086
$PY benchmarks/mnist_ae_vs_pca.py --dims "$DIMS" --minutes-per-dim "$FINAL_MIN" --precision "$PREC" ${RECIPES[$best]} \
  --out "$OUT/final" 2> "$OUT/final.log" | tail -1 > "$OUT/final.json"
cat "$OUT/final.json"
