"""Trains the Imagenette recipes on a GPU machine that has Keras but no TensorFlow.

Reads a packed dataset (``arrays.pack``), trains each recipe (mixed precision on
GPUs with tensor cores, see precision.py) with data in memory and augmentation on
the GPU, then writes the small files a report needs into ``--out/<recipe>/``:
config.json, history.csv, metrics.json (centre crop and 10-crop), predictions.npz,
conv1_filters.npy and neighbours.json (artifacts.export_model_artifacts). Run by gpu_imagenette.sh.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from pathlib import Path

import keras
import numpy as np

from alexnet import arrays, artifacts, augment_layers, evaluate, model, precision
from alexnet.train import RECIPES, TrainConfig, train


def probabilities(net: keras.Model, batches: list) -> np.ndarray:
    return np.concatenate([np.asarray(net.predict_on_batch(b), "float32") for b in batches])


def export(run_dir: Path, config: TrainConfig, images: dict, splits: dict) -> None:
    """Centre-crop and 10-crop metrics, predictions, conv1 filters, FC7 neighbours."""
    trained = model.load(run_dir / "best.keras")
    net = trained.get_layer(f"alexnet_{config.variant}")
    augment = trained.get_layer("augment")
    val_x, val_split = images["val"], splits["val"]
    size, step = config.image_size, 256

    def centre(x):
        return [augment(x[i:i + step], training=False) for i in range(0, len(x), step)]

    centre_probs = probabilities(net, centre(val_x))
    metrics = evaluate.metrics_from_predictions(centre_probs, val_split.labels,
                                                val_split.class_names)
    ten = np.zeros_like(centre_probs)
    for i in range(0, len(val_x), step):
        for crop in augment_layers.ten_crops(val_x[i:i + step], size):
            ten[i:i + step] += np.asarray(net.predict_on_batch(crop), "float32") / 10
    metrics["ten_crop"] = evaluate.ten_crop_summary(
        evaluate.metrics_from_predictions(ten, val_split.labels, val_split.class_names))
    evaluate.save(metrics, run_dir)
    np.savez_compressed(run_dir / "predictions.npz", probabilities=centre_probs.astype("float16"),
                        labels=val_split.labels, files=np.array(val_split.files))
    query, gallery = val_split.spread(8), splits["train"].spread(2000)
    index = {name: {f: k for k, f in enumerate(splits[name].files)} for name in splits}

    def normalised(name, subset):
        rows = [index[name][f] for f in subset.files]
        return np.concatenate([np.asarray(b) for b in centre(images[name][rows])])

    artifacts.export_model_artifacts(net, run_dir, normalised("val", query), query.files,
                                     normalised("train", gallery), gallery.files)
    print(f"{run_dir.name}: {evaluate.summary(metrics)}")


def setting(text: str) -> int | float | bool | str:
    """A recipe override's value: a number where it reads as one (int before float)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=".gpu/imagenette-128.npz")
    parser.add_argument("--out", default="results/gpu")
    parser.add_argument("--recipes", default="modern,paper",
                        help="comma-separated; a recipe may override settings: "
                             "modern:lr=0.1:weight_decay=1e-4")
    parser.add_argument("--epochs", type=int, help="override the recipes' epochs")
    parser.add_argument("--minutes", default="3", help="time limit per recipe, e.g. 4,2.5")
    args = parser.parse_args()
    unpacked = arrays.unpack(Path(args.data))
    images = {name: x for name, (x, _) in unpacked.items()}
    splits = {name: split for name, (_, split) in unpacked.items()}
    print(f"backend {keras.backend.backend()}, {precision.resolve_precision('auto')}, "
          f"{ {k: v.shape for k, v in images.items()} }")
    recipes = args.recipes.split(",")
    minutes = [float(m) for m in args.minutes.split(",")]
    for spec, limit in zip(recipes, minutes * len(recipes), strict=False):
        recipe, *overrides = spec.split(":")
        name = "-".join([recipe, *(o.replace("=", "") for o in overrides)])
        options = {**RECIPES[recipe], "data": args.data, "time_limit": limit,
                   "out": f"checkpoints/gpu-{name}", "recipe": spec}
        if args.epochs:
            options["epochs"] = args.epochs
        for override in overrides:
            key, value = override.split("=")
            if key not in TrainConfig.__dataclass_fields__:
                raise ValueError(f"--recipes {spec}: TrainConfig has no setting {key!r}")
            options[key] = setting(value)
        config = TrainConfig(**options)
        run_dir = train(config, command=os.environ.get("RUN_COMMAND") or shlex.join(sys.argv))
        export(run_dir, config, images, splits)
        out = Path(args.out) / name
        out.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "history.csv", "metrics.json", "predictions.npz",
                     "conv1_filters.npy", "neighbours.json"):
            shutil.copy(run_dir / name, out / name)


if __name__ == "__main__":
    main()
