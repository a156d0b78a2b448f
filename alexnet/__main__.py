"""Command line: ``python -m alexnet train|evaluate|predict|summary ...``.

Thin on purpose: parse the arguments, call the package, print. Bad arguments
and missing files end with a one-line ``error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def cmd_train(args: argparse.Namespace) -> None:
    from alexnet import evaluate
    from alexnet.train import TrainConfig, train

    given = {k: v for k, v in vars(args).items() if v is not None}
    options = {k: v for k, v in given.items() if k not in ("command", "func")}
    run_dir = train(TrainConfig(**options))
    metrics = evaluate.load_metrics(run_dir)
    print(f"Run folder: {run_dir}\n{evaluate.summary(metrics)}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from alexnet import data, evaluate, model, pipeline, plots
    from alexnet.train import load_config

    run_dir = Path(args.model).parent
    net = model.load(args.model)
    config = load_config(run_dir) if (run_dir / "config.json").is_file() else {}
    root = data.locate(args.data or config.get("dataset_root") or "imagenette")
    split = data.list_split(root, "val", config.get("class_names"), limit=args.limit)
    image_size = net.input_shape[1]
    dataset = pipeline.batches(split, image_size, args.batch_size, training=False)
    metrics = evaluate.evaluate(net, dataset, split.class_names)
    out = Path(args.out) if args.out else run_dir
    out.mkdir(parents=True, exist_ok=True)
    evaluate.save(metrics, out)
    plots.confusion(metrics).savefig(out / "confusion.png", dpi=100)
    print(f"{evaluate.summary(metrics)}\nWrote {out / 'metrics.json'}")


def cmd_predict(args: argparse.Namespace) -> None:
    from alexnet import data, model, predict

    net = model.load(args.model)
    class_names = predict.class_names(args.model, args.classes)
    for path in args.images:
        probabilities = predict.predict_file(net, path)
        print(path)
        for index in probabilities.argsort()[::-1][:5]:
            name = data.display_names([class_names[index]])[0]
            print(f"  {probabilities[index]:7.2%}  {name}")


def cmd_summary(args: argparse.Namespace) -> None:
    from alexnet import model

    net = model.build(args.variant, args.classes, args.image_size)
    net.summary(line_length=100)
    print(f"Parameters: {net.count_params():,}")
    print(f"Multiply-accumulates per image: {model.count_macs(net) / 1e9:.3f} G")


def parser() -> argparse.ArgumentParser:
    variants = ("paper", "owt", "bn")  # as alexnet.model.VARIANTS, without importing Keras
    root = argparse.ArgumentParser(prog="python -m alexnet", description=__doc__.split("\n")[0])
    commands = root.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model; writes a run folder")
    train.add_argument("--data", help="dataset folder, or a name to find/download (imagenette)")
    train.add_argument("--variant", choices=variants, help="model variant (default bn)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--image-size", type=int, help="crop size (default: 224, paper 227)")
    train.add_argument("--lr", type=float, help="initial learning rate (default 0.01)")
    train.add_argument("--limit", type=int, help="images per class, for quick runs")
    train.add_argument("--cache", action="store_true", default=None,
                       help="keep decoded images in memory after the first epoch")
    train.add_argument("--seed", type=int)
    train.add_argument("--out", help="run folder (default checkpoints/<run-name>/)")
    # choices as alexnet.recipe.PRECISIONS and JIT_COMPILE, without importing Keras
    train.add_argument("--precision", choices=("auto", "float32", "mixed_float16",
                                               "mixed_bfloat16"),
                       help="auto (default): mixed on GPUs with tensor cores, else float32")
    train.add_argument("--jit-compile", choices=("auto", "on", "off"),
                       help="XLA; auto (default): on for GPUs and JAX, off for TF on CPU")
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser("evaluate", help="Top-1/Top-5 of a saved model on val/")
    evaluate.add_argument("--model", required=True, help="a .keras file, e.g. RUN/best.keras")
    evaluate.add_argument("--data", help="dataset folder or name (default: the run's)")
    evaluate.add_argument("--batch-size", type=int, default=64)
    evaluate.add_argument("--limit", type=int, help="images per class")
    evaluate.add_argument("--out", help="where metrics.json goes (default: the model's folder)")
    evaluate.set_defaults(func=cmd_evaluate)

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
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except (OSError, ValueError) as error:  # missing files, bad settings: one line, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
