"""The command line's commands: ``python -m alexnet COMMAND`` runs ``cmd_COMMAND`` with the
arguments ``__main__.py`` parsed. ``train`` runs ``harness.train.train``, which walks the
steps in the order the notebook's cells do."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

import keras
import numpy as np

from alexnet import evaluate, plots, runs, training
from alexnet.data import batches, files
from alexnet.data.augment import resize_size
from alexnet.data.datasets import locate
from alexnet.data.names import display_names
from alexnet.data.splits import split_settings
from alexnet.harness import port, runfolder, shards, train
from alexnet.harness.resume import resume_changes, resume_config
from alexnet.models import summary
from alexnet.models.alexnet import build
from alexnet.recipes import CPU_RECIPE, default_recipe, from_recipe


def cmd_train(args: argparse.Namespace) -> None:
    given = {k: v for k, v in vars(args).items() if v is not None}
    options = {k: v for k, v in given.items()
               if k not in ("command", "resume", "recipe", "argv", "estimate")}
    if args.resume:
        config = resume_config(Path(args.resume),
                               **resume_changes(Path(args.resume), options, args.recipe))
    elif args.recipe is None:
        recipe = default_recipe(training.gpu_capability() is not None)
        print(f"Recipe {recipe!r}" + (" (no GPU here; --recipe modern is the GPU recipe)"
                                      if recipe == CPU_RECIPE else ""))
        config = from_recipe(recipe, **options)
    else:
        config = from_recipe(args.recipe, **options)
    run = train.train(config, resume_run=bool(args.resume),
                      estimate=args.estimate and not args.resume,  # timed once, at first
                      command=shlex.join(["python", "-m", "alexnet", *args.argv]))
    if run.metrics is None:  # a multi-worker worker other than the chief
        print(f"Worker done; the chief writes {run.run_dir}")
    else:
        print(f"Run folder: {run.run_dir}\n{evaluate.summary(run.metrics)}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit {args.limit}: must be at least 1 (images per class)")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size {args.batch_size}: must be at least 1")
    run_dir = Path(args.model).parent
    out = Path(args.out) if args.out else run_dir
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out}: a file; --out names the folder that "
                                 "metrics.json goes into")
    net = runfolder.load_model(args.model)
    saved = runs.load_config(run_dir) if (run_dir / "config.json").is_file() else {}
    if not (args.data or saved.get("dataset_root")):
        raise FileNotFoundError(f"{run_dir / 'config.json'}: none beside the model, so its "
                                "dataset is unknown: pass --data")
    root = locate(args.data or saved["dataset_root"], download=False)
    settings = split_settings(saved)  # the run's own validation images
    if args.val_dir:
        settings.update(val_dir=args.val_dir, validation_split=None)
    split = shards.open_dataset(root).split("val", saved.get("class_names"), limit=args.limit,
                                     **settings)
    print(f"Evaluating on {len(split)} images from {split.source}")
    try:
        metrics = evaluate.evaluate_split(net, split, net.input_shape[1], args.batch_size,
                                          args.ten_crop, flip=True)
    except Exception as error:
        if type(error).__name__ != "DataLossError":  # tf.data: a truncated or corrupt shard
            raise
        raise shards.shard_error(error, split) from None
    metrics["skipped_files"] = [list(skip) for skip in split.skipped]
    # the run's own figures stay: a partial evaluation is written beside them
    partial = "-".join(part for part in (args.val_dir and f"val-{args.val_dir}",
                                         args.limit and f"limit-{args.limit}") if part)
    name = f"metrics-{partial}.json" if partial else "metrics.json"
    out.mkdir(parents=True, exist_ok=True)
    runfolder.write_text(out / name, json.dumps(metrics, indent=2) + "\n")
    plots.confusion(metrics).savefig(out / name.replace("metrics", "confusion")
                                     .replace(".json", ".png"), dpi=100)
    if split.skipped:
        print(files.report(split.skipped, split.source))
    print(f"{evaluate.summary(metrics)}\nWrote {out / name}")


def cmd_prepare(args: argparse.Namespace) -> None:
    manifest = shards.prepare(args.src, args.dest, args.shorter_side, args.shard_size,
                              args.quality, args.workers, val_dir=args.val_dir,
                              validation_split=args.validation_split)
    print(f"Wrote {manifest}")


def class_names(model_path: str | Path, classes: str | Path | None = None) -> list[str]:
    """Class names for a model's outputs: from ``classes`` (a text file with one name per
    line, or a JSON index such as Keras' ``imagenet_class_index.json``: ``{"0": name or
    [wnid, name], ...}`` or a list of names), else the run's ``config.json``."""
    if not classes:
        config = Path(model_path).parent / "config.json"
        if not config.is_file():
            raise FileNotFoundError(f"{config}: no config.json beside the model; "
                                    "pass --classes FILE with the class names")
        names = runs.load_config(config.parent).get("class_names")
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise ValueError(f"{config}: no list of class_names in it; pass --classes FILE")
        return names
    path = Path(classes)
    if not path.is_file():
        raise FileNotFoundError(f"--classes {path}: no such file")
    if path.suffix != ".json":
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    index = runs.read_json(path, "class index", (dict, list))
    if isinstance(index, dict) and all(str(i) in index for i in range(len(index))):
        index = [index[str(i)] for i in range(len(index))]
    if isinstance(index, list) and all(isinstance(entry, str) for entry in index):
        return index
    if isinstance(index, list) and all(isinstance(entry, list) and len(entry) == 2
                                       and isinstance(entry[1], str) for entry in index):
        return [entry[1] for entry in index]
    raise ValueError(f"--classes {path}: expected a list of names, or {{\"0\": name, ...}} "
                     "or {\"0\": [wnid, name], ...} with keys 0 to N-1")


def load_image(path: str | Path, image_size: int) -> np.ndarray:
    """One image file as evaluation sees it (the centre crop of its decoded square, uint8
    RGB); one line naming the file when it cannot be used."""
    side = resize_size(image_size)
    try:
        square = batches.decode_square(path, side)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    offset = (side - image_size) // 2
    return square[offset:offset + image_size, offset:offset + image_size]


def predict_file(net: keras.Model, path: str | Path) -> np.ndarray:
    """Class probabilities for one image file (the model normalises its pixels itself)."""
    image = load_image(path, net.input_shape[1])
    return np.asarray(net.predict_on_batch(image[None].astype("float32")))[0]


def cmd_predict(args: argparse.Namespace) -> None:
    net = runfolder.load_model(args.model)
    names = class_names(args.model, args.classes)
    source = f"--classes {args.classes}" if args.classes else str(Path(args.model).parent /
                                                                  "config.json")
    evaluate.check_class_count(net, names, source)
    for path in args.images:
        probabilities = predict_file(net, path)
        print(path)
        for index in probabilities.argsort()[::-1][:5]:
            print(f"  {probabilities[index]:7.2%}  {display_names([names[index]])[0]}")


def cmd_summary(args: argparse.Namespace) -> None:
    net = build(args.variant, args.classes, args.image_size)
    net.summary()
    where = summary.layout(net)
    print(f"Input: {net.input_shape[1]}x{net.input_shape[2]}x3, {args.classes} classes")
    print(f"Multiply-accumulates per image: {summary.count_macs(net) / 1e9:.3f} G")
    print(f"LRN after: {', '.join(where['lrn']) or '-'}; BatchNorm after: "
          f"{', '.join(where['batchnorm']) or '-'}; grouped: {', '.join(where['grouped']) or '-'}")


def cmd_port(args: argparse.Namespace) -> None:
    net = port.port(args.pth, args.out, args.image_size)
    print(f"Wrote {args.out}: torchvision AlexNet weights from {args.pth} in the owt variant "
          f"({net.input_shape[1]}x{net.input_shape[2]} input, {net.output_shape[-1]} classes)")


def cmd_report(args: argparse.Namespace) -> None:
    from alexnet.harness.report import build as report  # only this command loads the PDF machinery

    outputs, notes = report.build(args.run_dir, Path(args.project), args.out,
                                  data_root=args.data)
    for note in notes:
        print(f"left out: {note}")
    print("Wrote " + ", ".join(map(str, outputs)))
