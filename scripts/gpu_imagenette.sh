#!/usr/bin/env bash
# Imagenette recipes on a GPU box with Keras on JAX and no TensorFlow (see the .py).
# Packs Imagenette into .gpu/imagenette-$PACK_SIZE.npz (arrays.pack; 128 px by default,
# 49 MB) unless it is there, so a remote GPU box needs only that file; with
# PACK_PARTS=N in N files .gpu/imagenette-$PACK_SIZE.<i>-of-N.npz, which can travel one
# by one (224 px: 121 MB, so PACK_PARTS=3). `--pack-only` stops after packing.
# Where Keras is missing, its wheels go in .whl/ (keras, namex, optree for the
# machine's Python). Results go to $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 KERAS_BACKEND="${KERAS_BACKEND:-jax}" XLA_PYTHON_CLIENT_PREALLOCATE=false
if ! python3 -c "import keras" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD"
OUT="${OUT:-results/gpu}"
export RUN_COMMAND="${PACK_SIZE:+PACK_SIZE=$PACK_SIZE }bash scripts/gpu_imagenette.sh $*"  # for config.json
PACK=".gpu/imagenette-${PACK_SIZE:-128}.npz"
if ! ls "$PACK" "${PACK%.npz}".*-of-*.npz >/dev/null 2>&1; then  # pack here, by the dataset
  mkdir -p .gpu
  python3 -c "from alexnet.data import arrays; from alexnet.data.datasets import Dataset, locate; \
root = locate('imagenette'); train, val = Dataset.open(root).splits(); \
print(*arrays.pack({'train': train, 'val': val}, '$PACK', ${PACK_SIZE:-128}, root=root, \
parts=${PACK_PARTS:-1}))"
fi
if [ "${1:-}" = --pack-only ]; then ls -l "${PACK%.npz}"*; exit 0; fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
# stop in time to pack what finished (GPU_SECONDS), rather than be killed with nothing
timeout "${GPU_SECONDS:-540}" python3 scripts/gpu_imagenette.py --data "$PACK" --out "$OUT/runs" "$@" 2>&1 \
  | tee "$OUT/log.txt" || true
tar -czf "$OUT/gpu_results.tar.gz" -C "$OUT" runs && rm -r "$OUT/runs"
