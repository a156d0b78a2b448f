"""Command line: ``python -m alexnet train|evaluate|prepare|predict|summary|port|report ...``.

Thin on purpose: parse the arguments (``train``'s flags are made from the fields of
``recipes.TrainConfig``), then run the command (harness/commands.py). Bad arguments, bad
files and failed runs end with a one-line ``error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from alexnet.recipes import CHOICES, RECIPES, TrainConfig


def add_setting(parser: argparse.ArgumentParser, item: dataclasses.Field) -> None:
    """``--name`` for a field of TrainConfig: its type, choices and help, and the value
    each recipe gives it. Every default is None: given flags override the recipe."""
    kind = {"bool": bool, "int": int, "float": float}.get(
        str(item.type).split(" |")[0], str)
    values = {recipe: RECIPES[recipe].get(item.name, item.default) for recipe in RECIPES}
    said = (f"{values['modern']}" if len(set(map(str, values.values()))) == 1 else
            ", ".join(f"{recipe} {value}" for recipe, value in values.items()))
    extra = {"action": argparse.BooleanOptionalAction} if kind is bool else {"type": kind}
    if item.name in CHOICES:
        extra["choices"] = CHOICES[item.name]
    parser.add_argument(f"--{item.name.replace('_', '-')}", default=None,
                        metavar=item.metadata.get("metavar"),
                        help=f"{item.metadata['help']} ({said})", **extra)


def parser() -> argparse.ArgumentParser:
    variants = CHOICES["variant"]
    root = argparse.ArgumentParser(prog="python -m alexnet", description=__doc__.split("\n")[0])
    commands = root.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model; writes a run folder")
    train.add_argument("--recipe", choices=tuple(RECIPES),
                       help="a preset of the settings below, which override it (default: "
                            "modern with a GPU, quick without; alexnet/recipes.py)")
    for item in dataclasses.fields(TrainConfig):
        if item.name != "recipe":
            add_setting(train, item)
    train.add_argument("--estimate", action=argparse.BooleanOptionalAction, default=True,
                       help="time a few steps first and print the expected time (default)")
    train.add_argument("--resume", metavar="RUN_DIR",
                       help="continue the run in RUN_DIR from its last completed epoch")

    evaluate = commands.add_parser("evaluate",
                                   help="Top-1/Top-5 of a saved model on its validation "
                                        "images (the centre crop, and with its mirror)")
    evaluate.add_argument("--model", required=True, help="a .keras file, e.g. RUN/best.keras")
    evaluate.add_argument("--data", help="dataset folder or name (default: the run's)")
    evaluate.add_argument("--batch-size", type=int, default=64)
    evaluate.add_argument("--limit", type=int, help="images per class")
    evaluate.add_argument("--ten-crop", action=argparse.BooleanOptionalAction, default=True,
                          help="also the paper's 10-crop figures (corners, centre, flips; "
                               "default)")
    evaluate.add_argument("--val-dir", metavar="NAME",
                          help="evaluate on this folder (default: the run's validation images)")
    evaluate.add_argument("--out", help="where metrics.json goes (default: the model's folder)")

    prepare = commands.add_parser("prepare", help="convert a raw dataset into TFRecord shards")
    prepare.add_argument("src", help="dataset folder (class folders, or ILSVRC-2012 layouts)")
    prepare.add_argument("dest", help="folder for the shards and manifest.json")
    prepare.add_argument("--shorter-side", type=int, default=256,
                         help="resize larger images to this shorter side (default 256)")
    prepare.add_argument("--shard-size", type=int, default=1024, help="images per shard")
    prepare.add_argument("--quality", type=int, default=90, help="JPEG quality (default 90)")
    prepare.add_argument("--workers", type=int, help="decoding threads (default: all cores)")
    prepare.add_argument("--val-dir", metavar="NAME",
                         help="also convert this held-out folder (val/, validation/ and "
                              "test/ are converted when there)")
    prepare.add_argument("--validation-split", type=float, metavar="F",
                         help="hold out a seeded fraction F of each class of train/ as val")

    predict = commands.add_parser("predict", help="top-5 classes of image files")
    predict.add_argument("--model", required=True, help="a .keras file")
    predict.add_argument("--classes", help="class names: a text file (one per line) or "
                         "imagenet_class_index.json; default: the run's config.json")
    predict.add_argument("images", nargs="+")

    summary = commands.add_parser("summary", help="layer table, parameters, MACs")
    summary.add_argument("--variant", choices=variants, default="paper")
    summary.add_argument("--image-size", type=int)
    summary.add_argument("--classes", type=int, default=1000)

    port = commands.add_parser("port", help="torchvision AlexNet weights (.pth) -> .keras model")
    port.add_argument("pth", help="a torchvision alexnet state dict, e.g. alexnet-owt-7be5be79.pth")
    port.add_argument("out", help="the .keras file to write (variant owt)")
    port.add_argument("--image-size", type=int, default=224)
    report = commands.add_parser("report", help="build AlexNet.pdf and AlexNet.ko.pdf from a "
                                 "run folder")
    report.add_argument("run_dir", help="run folder with config.json, history.csv, metrics.json")
    report.add_argument("--project", default=".",
                        help="the checkout: its docs/, results/ and benchmarks/results/ "
                             "(default: here)")
    report.add_argument("--out", help="the English PDF to write (default: AlexNet.pdf in the "
                        "project; the Korean edition beside it as .ko.pdf)")
    report.add_argument("--data", help="dataset root the run's image paths are relative to "
                        "(default: the run's, or $ALEXNET_DATA/<name>)")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    import matplotlib

    matplotlib.use("Agg")  # the command line's process: figures go to files, no window
    from alexnet.harness import commands

    try:
        getattr(commands, f"cmd_{args.command}")(args)
    except (OSError, ValueError, FloatingPointError) as error:  # one line, no traceback
        if isinstance(error, OSError) and error.strerror and error.filename is None:
            error = error.strerror  # our own message, without "[Errno 28] "
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        if not type(error).__module__.startswith("tensorflow"):
            raise
        # a TensorFlow op's error (memory, a file the pipeline stopped on): its own words
        from alexnet.harness.shards import op_message  # TensorFlow is loaded: it raised

        print(f"error: {op_message(error)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
