"""Trains the Imagenette recipes on a GPU machine that has Keras but no TensorFlow.

Reads a packed dataset (``arrays.pack``) once, then for each recipe walks the training
stages (``train.prepare``, ``fit``, ``finish``: mixed precision on GPUs with tensor
cores, data in memory, augmentation on the GPU, centre-crop and 10-crop metrics), adds
predictions.npz, conv1_filters.npy and neighbours.json (``artifacts.export_run``) and
copies the small files a report needs into ``--out/<recipe>/``. Run by gpu_imagenette.sh.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from pathlib import Path

REPORT_FILES = ("config.json", "history.csv", "metrics.json", "predictions.npz",
                "conv1_filters.npy", "neighbours.json")


def setting(text: str) -> int | float | bool | str:
    """A recipe override's value: a number where it reads as one (int before float)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_recipe(spec: str) -> tuple[str, str, dict]:
    """``modern:lr=0.1:batch_size=128`` -> (recipe, run name, typed overrides)."""
    recipe, *overrides = spec.split(":")
    name = "-".join([recipe, *(o.replace("=", "") for o in overrides)])
    return recipe, name, {key: setting(value)
                          for key, value in (o.split("=") for o in overrides)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=".gpu/imagenette-128.npz")
    parser.add_argument("--out", default="results/gpu")
    parser.add_argument("--recipes", default="modern,paper",
                        help="comma-separated; a recipe may override settings: "
                             "modern:lr=0.1:weight_decay=1e-4")
    parser.add_argument("--epochs", type=int, help="override the recipes' epochs")
    parser.add_argument("--minutes", default="3", help="time limit per recipe, e.g. 4,2.5")
    args = parser.parse_args(argv)
    # After parsing, so that --help answers without loading Keras and its backend.
    from alexnet import evaluate, training
    from alexnet.harness import train
    from alexnet.harness.report import artifacts
    from alexnet.recipes import RECIPES, TrainConfig

    machine = training.machine()
    print(f"{machine['gpu'] or machine['cpu']}, {training.precision('auto')}, {args.data}")
    recipes = args.recipes.split(",")
    minutes = [float(m) for m in args.minutes.split(",")]
    for spec, limit in zip(recipes, minutes * len(recipes), strict=False):
        recipe, name, overrides = parse_recipe(spec)
        unknown = set(overrides) - set(TrainConfig.__dataclass_fields__)
        if unknown:
            raise ValueError(f"--recipes {spec}: TrainConfig has no setting {unknown.pop()!r}")
        config = TrainConfig(**{**RECIPES[recipe], "data": args.data, "time_limit": limit,
                                "out": f"checkpoints/gpu-{name}", "recipe": spec,
                                **({"epochs": args.epochs} if args.epochs else {}),
                                **overrides})
        run = train.start(config, command=os.environ.get("RUN_COMMAND") or shlex.join(sys.argv))
        for step in (train.load_data, train.build_model, train.compile_model,
                     train.make_callbacks, train.fit):
            step(run)
        print(f"{name}: {evaluate.summary(train.finish(run))}")
        artifacts.export_run(run.run_dir, run.train_data, run.val_data, config.image_size)
        out = Path(args.out) / name
        out.mkdir(parents=True, exist_ok=True)
        for file in REPORT_FILES:
            shutil.copy(run.run_dir / file, out / file)


if __name__ == "__main__":
    main()
