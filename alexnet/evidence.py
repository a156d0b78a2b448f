"""Reading the evidence the PDF cites: a run folder's files, ``ablation.json`` and the
benchmark results in ``benchmarks/results/*.json``.

Each reader checks what the document uses, so that a bad file is named (an error for
the run's own files, a note for the optional ones) rather than failing halfway.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from alexnet import data, plots

BENCHMARK_DIR = data.PROJECT_DIR / "benchmarks" / "results"
RESULTS_DIR = data.PROJECT_DIR / "results"
IMAGENET_TRAIN_IMAGES = 1_281_167
PAPER_EPOCHS = 90
RUN_FILES = ("config.json", "history.csv", "metrics.json")
OPTIONAL_FILES = ("conv1_filters.npy", "neighbours.json", "ablation.json", "augmented.png")


def read_run(run_dir: Path) -> tuple[dict, dict, dict]:
    """config.json, metrics.json and history.csv of a run folder, checked for what the
    document uses, so that a bad file is named rather than failing halfway."""
    missing = [name for name in RUN_FILES if not (run_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{run_dir}: not a complete run folder, missing "
                                f"{', '.join(missing)} (needs {', '.join(RUN_FILES)})")
    loaded = []
    for name, keys in (("config.json", ("class_names", "image_size")),
                       ("metrics.json", ("examples", "loss", "top1", "top1_error",
                                         "top5_error", "class_names", "per_class_accuracy",
                                         "confusion_matrix"))):
        try:
            record = json.loads((run_dir / name).read_text())
        except ValueError as error:
            raise ValueError(f"{run_dir / name}: not valid JSON ({error})") from None
        absent = [key for key in keys if key not in record]
        if absent:
            raise ValueError(f"{run_dir / name}: no {', '.join(absent)}")
        loaded.append(record)
    history = plots.read_history(run_dir / "history.csv")
    absent = [key for key in ("epoch", "loss", "accuracy", "top5_accuracy", "val_loss",
                              "val_accuracy", "val_top5_accuracy") if key not in history]
    if absent:
        raise ValueError(f"{run_dir / 'history.csv'}: no column {', '.join(absent)}")
    return loaded[0], loaded[1], history


def top_errors(entry) -> dict | None:
    """Top-1 and Top-5 error (fractions) of a metrics-like dict, or None."""
    if not isinstance(entry, dict):
        return None
    errors = {}
    for key in ("top1", "top5"):
        if f"{key}_error" in entry:
            errors[key] = float(entry[f"{key}_error"])
        elif key in entry:
            errors[key] = 1 - float(entry[key])
    return errors if "top1" in errors else None


def percent(fraction) -> str:
    """A fraction as the document prints it (one decimal, no sign; a dash for None)."""
    return "–" if fraction is None else f"{100 * fraction:.1f}"


def read_ablation(path: Path, notes: list[str]) -> list[dict] | None:
    """Rows of ``ablation.json``: a list of runs (or ``{"runs": [...]}``), each with a
    ``name``, optional ``augmentation``/``dropout``/``epochs`` and top1/top5 accuracy or
    ``top1_error``/``top5_error`` (fractions), directly or under ``metrics``."""
    if not path.is_file():
        return None
    try:
        runs = json.loads(path.read_text())
    except ValueError as error:
        notes.append(f"{path}: not valid JSON ({error}); ablation left out")
        return None
    runs = runs.get("runs", []) if isinstance(runs, dict) else runs
    rows = []
    for i, run in enumerate(runs if isinstance(runs, list) else []):
        errors = None
        if isinstance(run, dict):
            errors = top_errors(run) or top_errors(run.get("metrics"))
        if errors is None:
            notes.append(f"{path}: entry {i} has no top1/top1_error; left out")
            continue
        rows.append({"name": str(run.get("name", f"run {i + 1}")),
                     "augmentation": str(run.get("augmentation", "")),
                     "dropout": str(run.get("dropout", "")), "epochs": str(run.get("epochs", "")),
                     "top1": percent(errors["top1"]), "top5": percent(errors.get("top5"))})
    return rows or None


def _numbers(record, path=()):
    """(key path, value) for every number in a JSON value."""
    if isinstance(record, dict):
        for key, value in record.items():
            yield from _numbers(value, (*path, str(key)))
    elif isinstance(record, list):
        for i, value in enumerate(record):
            label = str(i)
            if isinstance(value, dict):  # name list entries by what they measured
                label = str(value.get("name") or value.get("mode") or i)
            yield from _numbers(value, (*path, label))
    elif isinstance(record, int | float) and not isinstance(record, bool):
        yield path, float(record)


def measured_throughput(folder: Path = BENCHMARK_DIR, notes: list[str] | None = None,
                        limit: int = 8) -> list[dict]:
    """Training images/s found in ``benchmarks/results/*.json`` (any layout: every number
    whose key says images per second and whose path says train, not inference), with the
    90-epoch ImageNet time each projects, fastest first."""
    rows = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            if notes is not None:
                notes.append(f"{path}: unreadable ({error}); not used")
            continue
        device = next((str(record[k]) for k in ("device", "machine", "gpu", "host")
                       if isinstance(record, dict) and isinstance(record.get(k), str)), "")
        machine = record.get("machine") if isinstance(record, dict) else None
        if not device and isinstance(machine, dict):  # train_throughput.py's layout
            device = str(machine.get("gpu") or f"{machine.get('cpu_count', '?')}-core CPU")
        for keys, value in _numbers(record):
            key, where = keys[-1].lower(), "/".join(keys).lower()
            per_second = any(s in where for s in ("images_per_s", "img_per_s", "images/s",
                                                  "img/s", "imgs_per_s", "throughput"))
            training = "train" in where or key in ("synthetic", "pipeline")  # train_throughput.py
            if not per_second or not training or value <= 0 or any(
                    s in where for s in ("infer", "predict", "eval", "reference", "torch",
                                         "matmul", "input")):
                continue
            hours = IMAGENET_TRAIN_IMAGES * PAPER_EPOCHS / value / 3600
            owner = record
            for k in keys[:-2]:  # the dict that holds this figure's settings, if any
                if isinstance(owner, list):
                    owner = owner[int(k)] if k.isdigit() and int(k) < len(owner) else {}
                else:
                    owner = owner.get(k, {}) if isinstance(owner, dict) else {}
            settings = (f"{owner['variant']} {owner.get('image_size', '')} px, batch "
                        f"{owner.get('batch_size', '?')}, {key}"
                        if isinstance(owner, dict) and "variant" in owner
                        else "/".join(keys[:-1]) or keys[-1])
            rows.append({"source": f"{path.name}: {settings}",
                         "device": device, "images_per_s": f"{value:,.0f}",
                         "time": f"{hours:,.1f} h" if hours < 48 else f"{hours / 24:,.1f} days",
                         "value": value})
    rows.sort(key=lambda row: -row["value"])
    return rows[:limit]


def top5_text(metrics: dict) -> str:
    """The top-5 figure, unless ties among the outputs decided it (then not a result)."""
    if metrics.get("top5") is None or metrics.get("top5_tied"):
        return "tied, -"
    return f"{metrics['top5']:.1%}"


def results_table(folders: list[Path] | None = None) -> str:
    """A Markdown table of finished runs (default: every run under ``results/``): settings,
    centre-crop and 10-crop accuracy, machine, training time and command. README's
    results table and the notebook's are this."""
    if folders is None:
        folders = sorted(path.parent for path in RESULTS_DIR.glob("*/metrics.json"))
    lines = ["| run | variant | recipe | epochs | image size | top-1 | top-5 | 10-crop top-1 "
             "| machine | training time | command |",
             "| --- | --- | --- | --- | --- | ---: | ---: | ---: | --- | ---: | --- |"]
    for folder in map(Path, folders):
        config = json.loads((folder / "config.json").read_text())
        metrics = json.loads((folder / "metrics.json").read_text())
        with open(folder / "history.csv", newline="") as f:
            epochs = list(csv.DictReader(f))
        minutes = sum(float(epoch.get("epoch_seconds") or 0) for epoch in epochs) / 60
        ten = metrics.get("ten_crop") or {}
        ten_top1 = f"{ten['top1']:.1%}" if ten else "-"
        lines.append(
            f"| {folder.name} | {config['variant']} | {config.get('recipe') or '-'} | "
            f"{len(epochs)} of {config['epochs']} | {config['image_size']} | "
            f"{metrics['top1']:.1%} | {top5_text(metrics)} | "
            f"{ten_top1} | {config.get('machine', '-')} | "
            f"{minutes:.1f} min | `{config.get('command') or '-'}` |")
    return "\n".join(lines)
