"""The loss of a recipe's first training steps, step by step: does it survive its start?

    python scripts/first_steps.py --recipe paper --steps 30 --data ../shared/datasets/imagenette

Builds the model and optimiser as ``python -m alexnet train --recipe R`` does, feeds it the
same tf.data pipeline, and prints the loss of each step and the share of the batch given
to the most predicted class (1.0: the network answers one class for every image).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import alexnet  # noqa: E402, F401, I001  first: turns on TensorFlow's oneDNN kernels
import keras  # noqa: E402
import numpy as np  # noqa: E402

from alexnet import precision  # noqa: E402
from alexnet.train import RECIPES, TrainConfig, build_model, compile_model, load_data  # noqa: E402


def main(argv=None) -> list[float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="paper")
    parser.add_argument("--data", default="imagenette")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, help="default: the recipe's")
    parser.add_argument("--image-size", type=int, help="default: the variant's")
    parser.add_argument("--precision", choices=precision.PRECISIONS, default="float32")
    args = parser.parse_args(argv)
    settings = {**RECIPES[args.recipe], "data": args.data, "precision": args.precision}
    settings.update({k: v for k, v in (("batch_size", args.batch_size),
                                       ("image_size", args.image_size)) if v})
    config = TrainConfig(**settings)
    precision.set_precision(config.precision)
    keras.utils.set_random_seed(config.seed)
    _, train_split, _, train_data, _ = load_data(config)
    net = compile_model(build_model(config, len(train_split.class_names)), config,
                        steps_per_epoch=max(1, len(train_split) // config.batch_size))
    losses = []
    start = time.perf_counter()
    for step, (x, y) in enumerate(train_data.take(args.steps)):
        loss = float(net.train_on_batch(x, y, return_dict=True)["loss"])
        top = np.bincount(np.argmax(net.predict_on_batch(x), axis=1)).max() / len(x)
        losses.append(loss)
        print(f"step {step + 1:3d}  loss {loss:8.3f}  most predicted class {top:5.0%}  "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    return losses


if __name__ == "__main__":
    main()
