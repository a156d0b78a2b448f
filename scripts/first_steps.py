"""The loss of a recipe's first training steps, step by step: does it survive its start?

    python scripts/first_steps.py --recipe paper --steps 30 --data ../shared/datasets/imagenette

Prepares the run as ``python -m alexnet train --recipe R`` does (``train.prepare``: the
same inputs, model and optimiser, in a scratch run folder), then prints the loss of each
step and the share of the batch given to the most predicted class (1.0: the network
answers one class for every image).
"""

from __future__ import annotations

import argparse
import tempfile
import time


def main(argv: list[str] | None = None) -> list[float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", choices=("paper", "modern"), default="paper")
    parser.add_argument("--data", default="imagenette")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, help="default: the recipe's")
    parser.add_argument("--image-size", type=int, help="default: the variant's")
    parser.add_argument("--init", help="default: the recipe's (glorot | he | paper)")
    parser.add_argument("--lr", type=float, help="default: the recipe's")
    parser.add_argument("--precision", default="float32")
    args = parser.parse_args(argv)
    # After parsing, so that --help answers without loading Keras and TensorFlow.
    import numpy as np

    from alexnet.harness import train
    from alexnet.recipes import RECIPES, TrainConfig

    overrides = {name: getattr(args, name) for name in ("batch_size", "image_size", "init", "lr")
                 if getattr(args, name) is not None}
    config = TrainConfig(**{**RECIPES[args.recipe], **overrides}, data=args.data,
                         precision=args.precision, recipe=args.recipe,
                         out=tempfile.mkdtemp(prefix="first-steps-"))
    run = train.start(config)
    train.load_data(run)
    train.build_model(run)
    train.compile_model(run)
    losses = []
    start = time.perf_counter()
    for step, (x, y) in enumerate(train.train_batches(run).take(args.steps)):
        loss = float(run.model.train_on_batch(x, y, return_dict=True)["loss"])
        top = np.bincount(np.argmax(run.model.predict_on_batch(x), axis=1)).max() / len(x)
        losses.append(loss)
        print(f"step {step + 1:3d}  loss {loss:8.3f}  most predicted class {top:5.0%}  "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    return losses


if __name__ == "__main__":
    main()
