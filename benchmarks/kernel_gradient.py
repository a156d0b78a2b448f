"""Training images/s with alexnet.layers.TapwiseConv2D's kernel gradients (one matmul per kernel
tap) against the backend's own, the same model twice in one process.

The two models are traced with ``alexnet.layers.kernel_gradient_by_matmuls`` forced
on and off; everything else is the same. Repetitions alternate between them, so a
busy machine slows both alike, and the figure to read is the ratio. Synthetic data
(random tensors in memory), warm-up steps (tracing) excluded, medians over
``--repeats``; a JSON file goes to ``--out`` (default: $OUT, else benchmarks/results/).
Run it with ``alexnet`` importable (``pip install -e .``, or ``PYTHONPATH=<project root>``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import common  # benchmarks/common.py: this folder is on the path (the script's or pytest's)
import train_throughput as throughput

# Keras (and with it TensorFlow) is imported in main, after the arguments are parsed, so
# that --help answers at once; these two files import neither at their top.

NAMES = {True: "matmul_kernel_gradient", False: "backend_kernel_gradient"}


def trained_step(variant: str, image_size: int, batch_size: int, classes: int,
                 by_matmuls: bool, warmup: int):
    """A function(steps) -> seconds training a fresh model whose kernel gradients were
    traced with the tapwise matmuls on or off."""
    from alexnet.models import fast
    from alexnet.models.alexnet import build

    net = build(variant, classes, image_size)
    train = throughput.synthetic_training(net, variant, image_size, batch_size, classes)
    original = fast.kernel_gradient_by_matmuls
    fast.kernel_gradient_by_matmuls = lambda: by_matmuls  # read when fit traces the step
    try:
        train(max(warmup, 1))
    finally:
        fast.kernel_gradient_by_matmuls = original
    return train


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", choices=common.VARIANTS, default="bn")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, help="default: the variant's")
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--out")
    parser.add_argument("--name", default="kernel_gradient.json")
    args = parser.parse_args(argv)
    import alexnet  # noqa: F401, I001  first: how TensorFlow loads (alexnet/environment.py)
    import keras
    from alexnet.training import devices

    image_size = args.image_size or common.DEFAULT_IMAGE_SIZE[args.variant]
    if keras.backend.backend() != "tensorflow":
        parser.error("alexnet.models.fast.TapwiseConv2D computes its own kernel gradients only "
                     "on TensorFlow")
    trains = {NAMES[on]: trained_step(args.variant, image_size, args.batch_size, args.classes,
                                      on, args.warmup) for on in (False, True)}
    runs = common.alternate(trains, args.batch_size, args.steps, args.repeats)
    result = common.paired_ratio(runs, NAMES[True], NAMES[False])
    medians = result["images_per_s"]
    print(f"{args.variant} {image_size} px, batch {args.batch_size}: "
          f"{medians[NAMES[True]]:.1f} img/s with matmul kernel gradients, "
          f"{medians[NAMES[False]]:.1f} with the backend's: {result['ratio']:.2f}x "
          f"(median of paired ratios {result['paired_ratio_median']:.2f}x)")
    record = {"command": " ".join(["python", *sys.argv] if argv is None
                                  else ["kernel_gradient.py", *argv]),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "settings": {k: v for k, v in vars(args).items() if k not in ("out", "name")},
              "image_size": image_size, **result,
              "machine": {**common.host_info(), **throughput.keras_info(
                  "float32", False, devices.gpu_capability() is not None)}}
    return common.write_record(record, args.out, args.name)


if __name__ == "__main__":
    main()
