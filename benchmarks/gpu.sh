#!/usr/bin/env bash
# Training throughput on one NVIDIA GPU, in at most 6 minutes: Keras on JAX (XLA by
# construction) in mixed precision at batch 256 and 512 on synthetic data, against the
# PyTorch reference (channels_last, autocast), each in a process of its own, taking turns
# repetition by repetition. JSON results go to $OUT (default benchmarks/results/). Extra
# arguments are passed on to train_throughput.py and override its settings here.
#
# Needs: Python with jax[cuda], torch (CUDA), numpy, h5py, absl-py, rich, ml-dtypes and
# packaging. Keras and what it needs beyond those come from wheels in .whl/ (git-ignored),
# prepared on a machine with network access:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
#     --platform manylinux2014_x86_64 -d .whl keras==3.15.1 namex optree
# The real-pipeline part runs too where TensorFlow is importable (it feeds tf.data).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 KERAS_BACKEND=jax
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"   # alexnet, from this checkout
# JAX takes 60% of the GPU's memory at its first use: leave the rest to the processes of the
# PyTorch reference and the matmul probe
export XLA_PYTHON_CLIENT_MEM_FRACTION=0.6
OUT="${OUT:-benchmarks/results}"
mkdir -p "$OUT"
start=$SECONDS

if ! python3 -c "import keras" 2>/dev/null; then
    ls .whl/*.whl >/dev/null 2>&1 || { echo "error: no Keras and no wheels in .whl/" >&2; exit 2; }
    echo "== installing $(ls .whl | tr '\n' ' ')into /tmp/site"
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
python3 - <<'PY'
import os, jax, keras, torch
gpus = [d for d in jax.devices() if d.platform == "gpu"]
print(f"== keras {keras.__version__} ({keras.backend.backend()}), jax {jax.__version__}, "
      f"torch {torch.__version__}, {gpus[0].device_kind if gpus else 'no GPU'}")
if os.environ.get("REQUIRE_GPU", "1") == "1":  # REQUIRE_GPU=0: a trial run on a CPU
    assert gpus, f"JAX sees no GPU: {jax.devices()}"
    assert torch.cuda.is_available(), "PyTorch sees no GPU"
PY
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || true

bench=(python3 benchmarks/train_throughput.py --batch-size 256 512 --precision auto
       --jit-compile auto --warmup 3 --steps 20 --repeats 5 --out "$OUT")

echo "== synthetic: owt (tf_cnn_benchmarks' AlexNet) and bn (the default), $((SECONDS - start)) s"
timeout 300 "${bench[@]}" --variant owt bn --parts synthetic inference --time-budget 200 \
    --name gpu-synthetic.json "$@"

if python3 -c "import tensorflow" 2>/dev/null && [ $((SECONDS - start)) -lt 270 ]; then
    echo "== real pipeline (tf.data from Imagenette), $((SECONDS - start)) s"
    timeout $((350 - SECONDS + start)) "${bench[@]}" --variant bn --parts pipeline \
        --no-reference --time-budget 30 --name gpu-pipeline.json "$@"
else
    echo "== real pipeline skipped: no TensorFlow here (or no time left)"
fi
echo "== done in $((SECONDS - start)) s; results in $OUT"
