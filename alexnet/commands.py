"""The command line's commands: ``python -m alexnet COMMAND`` (or ``alexnet COMMAND``) runs
``cmd_COMMAND`` with the arguments ``__main__.py`` parsed."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from alexnet import (
    data,
    estimate,
    evaluate,
    images,
    model,
    plots,
    port,
    predict,
    prepare,
    report,
    train,
)
from alexnet.config import (
    DEFAULT_RECIPE,
    TrainConfig,
    from_recipe,
    load_config,
    resume_changes,
    resume_config,
)
from alexnet.inputs import FileInputs


def cmd_train(args: argparse.Namespace) -> None:
    given = {k: v for k, v in vars(args).items() if v is not None}
    options = {k: v for k, v in given.items()
               if k not in ("command", "resume", "recipe", "argv", "estimate")}
    if args.resume:
        changes = resume_changes(Path(args.resume), options, args.recipe)
        config = resume_config(Path(args.resume), **changes)
    else:
        config = from_recipe(args.recipe or DEFAULT_RECIPE, **options)
    run = train.prepare(config, resume_run=bool(args.resume),
                        command=shlex.join(["python", "-m", "alexnet", *args.argv]))
    if args.estimate and run.strategy is None:
        print(estimate.time_steps(run))
    train.fit(run, verbose="auto" if sys.stdout.isatty() else 2)  # a log: a line an epoch
    metrics = train.finish(run)
    if metrics is None:  # a multi-worker worker other than the chief
        print(f"Worker done; the chief writes {run.run_dir}")
    else:
        print(f"Run folder: {run.run_dir}\n{evaluate.summary(metrics)}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    run_dir = Path(args.model).parent
    net = model.load(args.model)
    saved = load_config(run_dir) if (run_dir / "config.json").is_file() else {}
    root = data.locate(args.data or saved.get("dataset_root") or "imagenette")
    settings = data.split_settings(saved)  # the run's own validation images
    if args.val_dir:
        settings.update(val_dir=args.val_dir, validation_split=None)
    split = data.load_split(root, "val", saved.get("class_names"), limit=args.limit, **settings)
    print(f"Evaluating on {len(split)} images from {split.source}")
    config = TrainConfig(data=str(root), variant=saved.get("variant", "bn"),
                         image_size=model.unwrap(net).input_shape[1], batch_size=args.batch_size)
    metrics = evaluate.evaluate_inputs(net, FileInputs(config, root, None, split), args.ten_crop)
    metrics["skipped_files"] = [list(skip) for skip in split.skipped]
    out = Path(args.out) if args.out else run_dir
    out.mkdir(parents=True, exist_ok=True)
    evaluate.save(metrics, out)
    plots.confusion(metrics).savefig(out / "confusion.png", dpi=100)
    if split.skipped:
        print(images.report(split.skipped, split.source))
    print(f"{evaluate.summary(metrics)}\nWrote {out / 'metrics.json'}")


def cmd_prepare(args: argparse.Namespace) -> None:
    for name in ("shorter_side", "shard_size", "quality", "workers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
    manifest = prepare.prepare(args.src, args.dest, args.shorter_side, args.shard_size,
                               args.quality, args.workers, val_dir=args.val_dir,
                               validation_split=args.validation_split)
    print(f"Wrote {manifest}")


def cmd_predict(args: argparse.Namespace) -> None:
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
    net = model.build(args.variant, args.classes, args.image_size)
    net.summary()
    where = model.layout(net)
    print(f"Input: {net.input_shape[1]}x{net.input_shape[2]}x3, {args.classes} classes")
    print(f"Multiply-accumulates per image: {model.count_macs(net) / 1e9:.3f} G")
    print(f"LRN after: {', '.join(where['lrn']) or '-'}; BatchNorm after: "
          f"{', '.join(where['batchnorm']) or '-'}; grouped: {', '.join(where['grouped']) or '-'}")


def cmd_port(args: argparse.Namespace) -> None:
    net = port.port(args.pth, args.out, args.image_size)
    print(f"Wrote {args.out}: torchvision AlexNet weights from {args.pth} in the owt variant "
          f"({net.input_shape[1]}x{net.input_shape[2]} input, {net.output_shape[-1]} classes)")


def cmd_report(args: argparse.Namespace) -> None:
    out, notes = report.build(args.run_dir, args.out or report.DEFAULT_PDF, data_root=args.data)
    for note in notes:
        print(f"left out: {note}")
    print(f"Wrote {out}")
