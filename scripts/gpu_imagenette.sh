#!/usr/bin/env bash
# Imagenette recipes on a GPU box with Keras on JAX and no TensorFlow (see the .py).
# Needs .gpu/imagenette-128.npz (arrays.pack) and, where Keras is missing, its wheels
# in .whl/ (keras, namex, optree for the machine's Python). Results go to $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 KERAS_BACKEND="${KERAS_BACKEND:-jax}" XLA_PYTHON_CLIENT_PREALLOCATE=false
if ! python3 -c "import keras" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD"
OUT="${OUT:-results/gpu}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 scripts/gpu_imagenette.py --out "$OUT/runs" "$@" 2>&1 | tee "$OUT/log.txt"
tar -czf "$OUT/gpu_results.tar.gz" -C "$OUT" runs && rm -r "$OUT/runs"
