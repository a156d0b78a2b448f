"""Command line: ``python -m alexnet train|evaluate|prepare|predict|summary|port|report ...``.

Thin on purpose: parse the arguments (the choices come from modules that load no Keras,
so ``--help`` answers at once), then run the command (commands.py). Bad arguments, bad
files and failed runs end with a one-line ``error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from alexnet.training.config import CHOICES, RECIPES


def parser() -> argparse.ArgumentParser:
    variants = CHOICES["variant"]
    root = argparse.ArgumentParser(prog="python -m alexnet", description=__doc__.split("\n")[0])
    commands = root.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model; writes a run folder")
    train.add_argument("--recipe", choices=tuple(RECIPES),
                       help="a preset of the settings below, which override it (default: "
                            "modern with a GPU, quick without; alexnet/training/config.py)")
    train.add_argument("--data", help="dataset folder, or a name to find/download (imagenette)")
    train.add_argument("--variant", choices=variants, help="model variant (modern: bn)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--image-size", type=int, help="crop size (default: 224, paper 227)")
    train.add_argument("--lr", type=float, help="peak learning rate (modern 0.05, paper 0.01)")
    train.add_argument("--momentum", type=float, help="SGD momentum (0.9)")
    train.add_argument("--weight-decay", type=float,
                       help="L2 decay added to the gradient, as in the paper (modern 5e-5, "
                            "paper 5e-4)")
    train.add_argument("--schedule", choices=CHOICES["schedule"],
                       help="lr / 10 when val_loss stalls (paper) | warm-up then cosine (modern)")
    train.add_argument("--warmup-epochs", type=int, help="linear warm-up before the cosine")
    train.add_argument("--label-smoothing", type=float, help="modern 0.1, paper 0")
    train.add_argument("--dropout", type=float, help="dropout rate of the FC layers (0.5)")
    train.add_argument("--init", choices=CHOICES["init"],
                       help="weight initialisation (he in both recipes; see model.py)")
    train.add_argument("--limit", type=int, help="images per class, for quick runs")
    train.add_argument("--train-fraction", type=float, metavar="F",
                       help="train on a seeded fraction F of each class (validation stays "
                            "whole), e.g. 0.1 for a small-data study")
    train.add_argument("--val-dir", metavar="NAME",
                       help="folder of the held-out images (default: val/, validation/ or "
                            "test/, the first there is)")
    train.add_argument("--validation-split", type=float, metavar="F",
                       help="hold out a seeded fraction F of each class of train/, e.g. 0.2")
    train.add_argument("--cache", action="store_true", default=None,
                       help="keep decoded images in memory after the first epoch")
    train.add_argument("--augmentation", choices=CHOICES["augmentation"],
                       help="crop+flip | + PCA lighting | random-resized crops + flip | "
                            "centre crop, no flip (see alexnet/data/augment.py)")
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
    train.add_argument("--estimate", action=argparse.BooleanOptionalAction, default=True,
                       help="time a few steps first and print the expected time (default)")
    train.add_argument("--resume", metavar="RUN_DIR",
                       help="continue the run in RUN_DIR from its last completed epoch")
    train.add_argument("--strategy", choices=CHOICES["strategy"],
                       help="train on all local GPUs (mirrored) or on the machines in "
                            "TF_CONFIG (multiworker)")
    train.add_argument("--precision", choices=CHOICES["precision"],
                       help="auto (default): mixed on GPUs with tensor cores and on CPUs with "
                            "bfloat16 units, else float32")
    train.add_argument("--jit-compile", choices=CHOICES["jit_compile"],
                       help="XLA; auto (default): on for GPUs and JAX, off for TF on CPU")

    evaluate = commands.add_parser("evaluate",
                                   help="Top-1/Top-5 of a saved model on its validation images")
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
    prepare.add_argument("--workers", type=int, help="decoding processes (default: all cores)")
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
    # After parsing, so that --help and bad flags answer without loading TensorFlow (10 s).
    from alexnet import commands

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
        from alexnet.data.failures import op_message  # TensorFlow is loaded: it raised

        print(f"error: {op_message(error)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
