#!/usr/bin/env bash
# Imagenette recipes on a GPU box with Keras on JAX and no TensorFlow (see the .py).
# Packs Imagenette into .gpu/imagenette-128.npz (arrays.pack) unless it is there, so a
# remote GPU box needs only that file; where Keras is missing, its wheels go in .whl/
# (keras, namex, optree for the machine's Python). Results go to $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 KERAS_BACKEND="${KERAS_BACKEND:-jax}" XLA_PYTHON_CLIENT_PREALLOCATE=false
if ! python3 -c "import keras" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD"
OUT="${OUT:-results/gpu}"
if [ ! -f .gpu/imagenette-128.npz ]; then  # pack it here, where the dataset is (about 50 MB)
  mkdir -p .gpu
  python3 -c "from alexnet import arrays, data; root = data.locate('imagenette'); \
train, val = data.load(root); arrays.pack({'train': train, 'val': val}, \
'.gpu/imagenette-128.npz', 128, root=root)"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
# stop in time to pack what finished (GPU_SECONDS), rather than be killed with nothing
timeout "${GPU_SECONDS:-540}" python3 scripts/gpu_imagenette.py --out "$OUT/runs" "$@" 2>&1 \
  | tee "$OUT/log.txt" || true
tar -czf "$OUT/gpu_results.tar.gz" -C "$OUT" runs && rm -r "$OUT/runs"
