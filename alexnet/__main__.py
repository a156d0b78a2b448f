"""Command line: ``python -m alexnet train|evaluate|prepare|predict|summary|port|report ...``.

Thin on purpose: parse the arguments, call the package, print. Bad arguments
and missing files end with a one-line ``error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# What --resume may change; any other flag given with it must equal the saved setting.
RESUME_CHANGES = ("epochs", "strategy")


def _same_setting(name: str, saved, given, run_dir: Path, saved_config: dict) -> bool:
    """Whether a flag given with --resume equals the run's saved setting (folders are
    the same folder however they are spelt)."""
    if name == "out":
        return Path(given).expanduser().resolve() == run_dir.expanduser().resolve()
    if saved == given:
        return True
    if name == "data":
        places = {str(p) for p in (saved, saved_config.get("dataset_root")) if p is not None}
        folder = Path(str(given)).expanduser()
        return folder.is_dir() and any(Path(p).expanduser().is_dir() and
                                       Path(p).expanduser().resolve() == folder.resolve()
                                       for p in places)
    return False


def resume_changes(run_dir: Path, options: dict, recipe: str | None = None) -> dict:
    """The settings given with ``--resume RUN_DIR`` that change the run (``--epochs``,
    ``--strategy``); every other flag given (``--recipe`` too) must equal the saved
    value, else one error names each differing flag with its saved and given values."""
    import dataclasses

    from alexnet.train import TrainConfig, load_config

    saved = load_config(run_dir)
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    differing = []
    for name, value in {**options, **({"recipe": recipe} if recipe else {})}.items():
        if name in RESUME_CHANGES:
            continue
        before = str(run_dir) if name == "out" else saved.get(name, defaults.get(name))
        if not _same_setting(name, before, value, run_dir, saved):
            differing.append(f"--{name.replace('_', '-')}: saved {before}, given {value}")
    if differing:
        raise ValueError(f"--resume {run_dir} continues the run with its saved settings (only "
                         f"--epochs and --strategy may change): {'; '.join(differing)}")
    return {name: value for name, value in options.items() if name in RESUME_CHANGES}


def cmd_train(args: argparse.Namespace) -> None:
    from alexnet import evaluate
    from alexnet.train import RECIPES, TrainConfig, resume_config, train

    given = {k: v for k, v in vars(args).items() if v is not None}
    options = {k: v for k, v in given.items()
               if k not in ("command", "func", "resume", "recipe", "argv")}
    if args.resume:
        changes = resume_changes(Path(args.resume), options, args.recipe)
        config = resume_config(Path(args.resume), **changes)
    else:
        config = TrainConfig(**{**RECIPES.get(args.recipe, {}), **options}, recipe=args.recipe)
    run_dir = train(config, resume_run=bool(args.resume),
                    command=shlex.join(["python", "-m", "alexnet", *args.argv]))
    if (run_dir / "metrics.json").is_file():
        print(f"Run folder: {run_dir}\n{evaluate.summary(evaluate.load_metrics(run_dir))}")
    else:  # a multi-worker worker other than the chief
        print(f"Worker done; the chief writes {run_dir}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from alexnet import data, evaluate, images, model, pipeline, plots
    from alexnet.train import load_config

    run_dir = Path(args.model).parent
    net = model.unwrap(model.load(args.model))
    config = load_config(run_dir) if (run_dir / "config.json").is_file() else {}
    root = data.locate(args.data or config.get("dataset_root") or "imagenette")
    settings = data.split_settings(config)  # the run's own validation images
    if args.val_dir:
        settings.update(val_dir=args.val_dir, validation_split=None)
    split = data.load_split(root, "val", config.get("class_names"), limit=args.limit, **settings)
    where = str(root / split.source) if split.source.endswith("/") else f"{root}: {split.source}"
    print(f"Evaluating on {len(split)} images from {split.source}")
    evaluate.check_class_count(net, split.class_names, where)
    image_size = net.input_shape[1]
    dataset = pipeline.batches(split, image_size, args.batch_size, training=False)
    metrics = evaluate.evaluate(net, dataset, split.class_names)
    if args.ten_crop:  # batches of 10 crops per image: a tenth of the batch size
        dataset = pipeline.batches(split, image_size, max(1, args.batch_size // 10),
                                   training=False, ten_crop=True)
        metrics["ten_crop"] = evaluate.ten_crop_summary(
            evaluate.evaluate(net, dataset, split.class_names))
    metrics["skipped_files"] = [list(skip) for skip in split.skipped]
    out = Path(args.out) if args.out else run_dir
    out.mkdir(parents=True, exist_ok=True)
    evaluate.save(metrics, out)
    plots.confusion(metrics).savefig(out / "confusion.png", dpi=100)
    if split.skipped:
        print(images.report(split.skipped, split.source))
    print(f"{evaluate.summary(metrics)}\nWrote {out / 'metrics.json'}")


def cmd_prepare(args: argparse.Namespace) -> None:
    from alexnet.prepare import prepare

    for name in ("shorter_side", "shard_size", "quality", "workers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
    manifest = prepare(args.src, args.dest, args.shorter_side, args.shard_size, args.quality,
                       args.workers, val_dir=args.val_dir, validation_split=args.validation_split)
    print(f"Wrote {manifest}")


def cmd_predict(args: argparse.Namespace) -> None:
    from alexnet import data, evaluate, model, predict

    net = model.unwrap(model.load(args.model))
    class_names = predict.class_names(args.model, args.classes)
    source = Path(args.model).parent / "config.json"
    evaluate.check_class_count(net, class_names,
                               f"--classes {args.classes}" if args.classes else str(source))
    for path in args.images:
        probabilities = predict.predict_file(net, path)
        print(path)
        for index in probabilities.argsort()[::-1][:5]:
            name = data.display_names([class_names[index]])[0]
            print(f"  {probabilities[index]:7.2%}  {name}")


def cmd_summary(args: argparse.Namespace) -> None:
    from alexnet import model

    net = model.build(args.variant, args.classes, args.image_size)
    net.summary()
    where = model.layout(net)
    print(f"Input: {net.input_shape[1]}x{net.input_shape[2]}x3, {args.classes} classes")
    print(f"Multiply-accumulates per image: {model.count_macs(net) / 1e9:.3f} G")
    print(f"LRN after: {', '.join(where['lrn']) or '-'}; BatchNorm after: "
          f"{', '.join(where['batchnorm']) or '-'}; grouped: {', '.join(where['grouped']) or '-'}")


def cmd_port(args: argparse.Namespace) -> None:
    from alexnet import port

    net = port.port(args.pth, args.out, args.image_size)
    print(f"Wrote {args.out}: torchvision AlexNet weights from {args.pth} in the owt variant "
          f"({net.input_shape[1]}x{net.input_shape[2]} input, {net.output_shape[-1]} classes)")


def cmd_report(args: argparse.Namespace) -> None:
    from alexnet import report

    out, notes = report.build(args.run_dir, args.out or report.DEFAULT_PDF, data_root=args.data)
    for note in notes:
        print(f"left out: {note}")
    print(f"Wrote {out}")


def parser() -> argparse.ArgumentParser:
    variants = ("paper", "owt", "bn")  # as alexnet.model.VARIANTS, without importing Keras
    root = argparse.ArgumentParser(prog="python -m alexnet", description=__doc__.split("\n")[0])
    commands = root.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model; writes a run folder")
    train.add_argument("--recipe", choices=("paper", "modern"),
                       help="a preset of the settings below (see train.RECIPES)")
    train.add_argument("--data", help="dataset folder, or a name to find/download (imagenette)")
    train.add_argument("--variant", choices=variants, help="model variant (default bn)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--image-size", type=int, help="crop size (default: 224, paper 227)")
    train.add_argument("--lr", type=float, help="initial learning rate (default 0.01)")
    train.add_argument("--momentum", type=float, help="SGD momentum (default 0.9)")
    train.add_argument("--weight-decay", type=float,
                       help="L2 decay added to the gradient, as in the paper (default 5e-4)")
    train.add_argument("--schedule", choices=("plateau", "cosine"),
                       help="lr / 10 when val_loss stalls (default) | warm-up then cosine")
    train.add_argument("--warmup-epochs", type=int, help="linear warm-up before the cosine")
    train.add_argument("--label-smoothing", type=float, help="e.g. 0.1 (default 0)")
    train.add_argument("--dropout", type=float, help="before FC6 and FC7 (default 0.5)")
    train.add_argument("--init", choices=("glorot", "he", "paper"),
                       help="weight initialisation (default glorot; see model.py)")
    train.add_argument("--limit", type=int, help="images per class, for quick runs")
    train.add_argument("--val-dir", metavar="NAME",
                       help="folder of the held-out images (default: val/, validation/ or "
                            "test/, the first there is)")
    train.add_argument("--validation-split", type=float, metavar="F",
                       help="hold out a seeded fraction F of each class of train/, e.g. 0.2")
    train.add_argument("--cache", action="store_true", default=None,
                       help="keep decoded images in memory after the first epoch")
    train.add_argument("--augmentation", choices=("basic", "paper", "rrc", "none"),
                       help="crop+flip | + PCA lighting | random-resized crops | centre crop")
    train.add_argument("--in-memory", action="store_true", default=None,
                       help="decode the dataset into RAM once and augment on the device")
    train.add_argument("--mixup", type=float, metavar="ALPHA",
                       help="MixUp with Beta(ALPHA, ALPHA) weights, e.g. 0.2 (--in-memory)")
    train.add_argument("--cutmix", type=float, metavar="ALPHA",
                       help="CutMix with Beta(ALPHA, ALPHA) weights, e.g. 1.0 (--in-memory)")
    train.add_argument("--seed", type=int)
    train.add_argument("--out", help="run folder (default checkpoints/<run-name>/)")
    train.add_argument("--patience", type=int, help="epochs without progress before stopping")
    train.add_argument("--lr-patience", type=int,
                       help="epochs without val_loss progress before the learning rate drops")
    train.add_argument("--time-limit", type=float, metavar="MINUTES",
                       help="stop after the epoch that passes this many minutes")
    train.add_argument("--resume", metavar="RUN_DIR",
                       help="continue the run in RUN_DIR from its last completed epoch")
    train.add_argument("--strategy", choices=("mirrored", "multiworker"),
                       help="train on all local GPUs (mirrored) or on the machines in "
                            "TF_CONFIG (multiworker)")
    # choices as alexnet.recipe.PRECISIONS and JIT_COMPILE, without importing Keras
    train.add_argument("--precision", choices=("auto", "float32", "mixed_float16",
                                               "mixed_bfloat16"),
                       help="auto (default): mixed on GPUs with tensor cores, else float32")
    train.add_argument("--jit-compile", choices=("auto", "on", "off"),
                       help="XLA; auto (default): on for GPUs and JAX, off for TF on CPU")
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser("evaluate",
                                   help="Top-1/Top-5 of a saved model on its validation images")
    evaluate.add_argument("--model", required=True, help="a .keras file, e.g. RUN/best.keras")
    evaluate.add_argument("--data", help="dataset folder or name (default: the run's)")
    evaluate.add_argument("--batch-size", type=int, default=64)
    evaluate.add_argument("--limit", type=int, help="images per class")
    evaluate.add_argument("--val-dir", metavar="NAME",
                          help="evaluate on this folder (default: the run's validation images)")
    evaluate.add_argument("--ten-crop", action="store_true",
                          help="also the paper's 10-crop figures (corners, centre, flips)")
    evaluate.add_argument("--out", help="where metrics.json goes (default: the model's folder)")
    evaluate.set_defaults(func=cmd_evaluate)

    prepare = commands.add_parser("prepare", help="convert a raw dataset into TFRecord shards")
    prepare.add_argument("src", help="dataset folder (class folders, or ILSVRC-2012 layouts)")
    prepare.add_argument("dest", help="folder for the shards and manifest.json")
    prepare.add_argument("--shorter-side", type=int, default=256,
                         help="resize larger images to this shorter side (default 256)")
    prepare.add_argument("--shard-size", type=int, default=1024, help="images per shard")
    prepare.add_argument("--quality", type=int, default=90, help="JPEG quality (default 90)")
    prepare.add_argument("--workers", type=int, help="decoding processes (default: all cores)")
    prepare.add_argument("--val-dir", metavar="NAME",
                         help="also convert this held-out folder (val/, validation/ and "
                              "test/ are converted when there)")
    prepare.add_argument("--validation-split", type=float, metavar="F",
                         help="hold out a seeded fraction F of each class of train/ as val")
    prepare.set_defaults(func=cmd_prepare)

    predict = commands.add_parser("predict", help="top-5 classes of image files")
    predict.add_argument("--model", required=True, help="a .keras file")
    predict.add_argument("--classes", help="class names: a text file (one per line) or "
                         "imagenet_class_index.json; default: the run's config.json")
    predict.add_argument("images", nargs="+")
    predict.set_defaults(func=cmd_predict)

    summary = commands.add_parser("summary", help="layer table, parameters, MACs")
    summary.add_argument("--variant", choices=variants, default="paper")
    summary.add_argument("--image-size", type=int)
    summary.add_argument("--classes", type=int, default=1000)
    summary.set_defaults(func=cmd_summary)

    port = commands.add_parser("port", help="torchvision AlexNet weights (.pth) -> .keras model")
    port.add_argument("pth", help="a torchvision alexnet state dict, e.g. alexnet-owt-7be5be79.pth")
    port.add_argument("out", help="the .keras file to write (variant owt)")
    port.add_argument("--image-size", type=int, default=224)
    port.set_defaults(func=cmd_port)
    report = commands.add_parser("report", help="build AlexNet.pdf from a run folder")
    report.add_argument("run_dir", help="run folder with config.json, history.csv, metrics.json")
    report.add_argument("--out", help="the PDF to write (default: AlexNet.pdf in the project)")
    report.add_argument("--data", help="dataset root the run's image paths are relative to "
                        "(default: the run's, or $ALEXNET_DATA/<name>)")
    report.set_defaults(func=cmd_report)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    try:
        args.func(args)
    except (OSError, ValueError, FloatingPointError) as error:  # one line, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
