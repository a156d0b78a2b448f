"""Training images/s of the ``bn`` variant as the package builds it, with
``alexnet.layers.FusedBatchNormalization`` (TensorFlow's fused batch-norm kernel), against
the same model with Keras' own BatchNormalization, the two models in one process.

Keras 3 normalises with separate ops (moments, subtract, multiply, add and their
gradients): on the 2-core Xeon they were about a fifth of a ``bn`` training step
(``benchmarks/results/cpu-2core-xeon-profile-bn-224.txt``); this measures what fusing gains.

Repetitions alternate between the two models, so a busy machine slows both alike, and
the figure to read is the ratio. Synthetic data, warm-up steps (tracing) excluded,
medians over ``--repeats``; a JSON file goes to ``--out`` (default: $OUT, else
benchmarks/results/). Run it with ``alexnet`` importable (``pip install -e .``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import common  # benchmarks/common.py: this folder is on the path (the script's or pytest's)
import train_throughput as throughput

# Keras (and with it TensorFlow) is imported in main, after the arguments are parsed, so
# that --help answers at once.

NAMES = {False: "keras_batchnorm", True: "fused_batchnorm"}


def with_keras_batchnorm(net):
    """A copy of ``net`` with Keras' own BatchNormalization in place of the fused one
    (same configuration, so the same weights load into either)."""
    import keras

    from alexnet.models.fast import FusedBatchNormalization

    def clone(layer):
        kind = (keras.layers.BatchNormalization if isinstance(layer, FusedBatchNormalization)
                else type(layer))
        return kind.from_config(layer.get_config())

    return keras.models.clone_model(net, clone_function=clone)


def trained_step(variant: str, image_size: int, batch_size: int, classes: int, fused: bool,
                 warmup: int):
    """A function(steps) -> seconds training a fresh model, its BatchNorm fused or not."""
    import keras

    from alexnet.models.alexnet import build

    keras.utils.set_random_seed(0)
    net = build(variant, classes, image_size)  # fused, as the package trains
    if not fused:
        net = with_keras_batchnorm(net)
    train = throughput.synthetic_training(net, variant, image_size, batch_size, classes)
    train(max(warmup, 1))
    return train


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--out")
    parser.add_argument("--name", default="fused_batchnorm.json")
    args = parser.parse_args(argv)
    import alexnet  # noqa: F401, I001  first: how TensorFlow loads (alexnet/environment.py)
    import keras
    from alexnet.training import devices

    if keras.backend.backend() != "tensorflow":
        parser.error("the fused kernel is TensorFlow's: run with KERAS_BACKEND=tensorflow")
    trains = {NAMES[on]: trained_step("bn", args.image_size, args.batch_size, args.classes,
                                      on, args.warmup) for on in (False, True)}
    runs = common.alternate(trains, args.batch_size, args.steps, args.repeats)
    result = common.paired_ratio(runs, NAMES[True], NAMES[False])
    medians = result["images_per_s"]
    print(f"bn {args.image_size} px, batch {args.batch_size}: {medians[NAMES[True]]:.1f} img/s "
          f"with fused BatchNorm, {medians[NAMES[False]]:.1f} with Keras': {result['ratio']:.2f}x "
          f"(median of paired ratios {result['paired_ratio_median']:.2f}x)")
    record = {"command": " ".join(["python", *sys.argv] if argv is None
                                  else ["fused_batchnorm.py", *argv]),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "settings": {k: v for k, v in vars(args).items() if k not in ("out", "name")},
              **result,
              "machine": {**common.host_info(), **throughput.keras_info(
                  "float32", False, devices.gpu_capability() is not None)}}
    return common.write_record(record, args.out, args.name)


if __name__ == "__main__":
    main()
