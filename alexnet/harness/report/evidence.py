"""Reading the evidence the PDF cites: a run folder's files and the benchmark results in
``benchmarks/results/*.json`` (the other runs under ``results/``: runs.py).

Each reader checks what the document uses, so that a bad file is named (an error for
the run's own files, a note for the optional ones) rather than failing halfway.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from alexnet.runs import read_history

IMAGENET_TRAIN_IMAGES = 1_281_167
PAPER_EPOCHS = 90
PAPER_BATCH_SIZE = 128
RUN_FILES = ("config.json", "history.csv", "metrics.json")
OPTIONAL_FILES = ("conv1_filters.npy", "neighbours.json", "mistakes.json", "augmented.png")


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
    history = read_history(run_dir / "history.csv")
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
    for key in ("top1", "top5"):  # a None (a figure that is no result) is left out
        if entry.get(f"{key}_error") is not None:
            errors[key] = float(entry[f"{key}_error"])
        elif entry.get(key) is not None:
            errors[key] = 1 - float(entry[key])
    return errors if "top1" in errors else None


def percent(fraction) -> str:
    """A fraction as the document prints it (one decimal, no sign; a dash for None)."""
    return "–" if fraction is None else f"{100 * fraction:.1f}"


def benchmark_rates(folder: Path, notes: list[str] | None = None) -> list[dict]:
    """Every measurement of ``benchmarks/train_throughput.py`` in ``folder``: one row per
    file, variant, batch size and part (``synthetic``: the training step alone, on data
    in memory; ``input``: the input pipeline alone; ``pipeline``: the two together)."""
    rows = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            if notes is not None:
                notes.append(f"{path}: unreadable ({error}); not used")
            continue
        if not isinstance(record, dict) or not isinstance(record.get("results"), list):
            continue  # another benchmark's layout
        machine = record.get("machine") if isinstance(record.get("machine"), dict) else {}
        gpu = machine.get("gpu")
        device = str(gpu) if gpu else f"{machine.get('cpu_count', '?')}-core CPU"
        for result in record["results"]:
            rates = result.get("images_per_s") if isinstance(result, dict) else None
            for part in ("synthetic", "input", "pipeline") if isinstance(rates, dict) else ():
                value = rates.get(part)
                if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                    rows.append({"file": path.name, "device": device, "gpu": bool(gpu),
                                 "cpu_count": machine.get("cpu_count"),
                                 "variant": result.get("variant"),
                                 "image_size": result.get("image_size"),
                                 "batch_size": result.get("batch_size"), "part": part,
                                 "images_per_s": float(value)})
    return rows


def duration(images_per_s: float, epochs: int = PAPER_EPOCHS,
             images: int = IMAGENET_TRAIN_IMAGES) -> str:
    """How long ``epochs`` passes over ``images`` take at ``images_per_s``, in words."""
    hours = images * epochs / images_per_s / 3600
    return f"{hours:,.1f} h" if hours < 48 else f"{hours / 24:,.1f} days"


def _rate_row(rate: dict, what: str) -> dict:
    return {"what": what, "device": rate["device"], "source": rate["file"],
            "settings": f"{rate['variant']}, {rate['image_size']} px, batch {rate['batch_size']}",
            "images_per_s": f"{rate['images_per_s']:,.0f}", "time": duration(rate["images_per_s"])}


def imagenet_projection(rates: list[dict], variant: str, image_size: int,
                        batch_size: int | None = None) -> dict:
    """ImageNet's training time at the slower of two measured paces, since a step cannot
    run faster than its batches arrive: the GPU training step of ``variant`` at
    ``image_size`` (at ``batch_size`` if measured there; the fastest) and the input
    pipeline at ``image_size`` (the fastest measured). ``missing`` names what was not
    measured; there is no projection then."""
    steps = [r for r in rates if r["part"] == "synthetic" and r["gpu"]
             and r["variant"] == variant and r["image_size"] == image_size]
    steps = [r for r in steps if r["batch_size"] == batch_size] or steps
    feeds = [r for r in rates if r["part"] == "input" and r["image_size"] == image_size]
    missing = [what for what, found in (("a GPU training step", steps),
                                        ("the input pipeline", feeds)) if not found]
    if missing:
        return {"missing": " and ".join(missing)}
    step = max(steps, key=lambda r: r["images_per_s"])
    feed = max(feeds, key=lambda r: r["images_per_s"])
    bound = min(step, feed, key=lambda r: r["images_per_s"])
    faster = max(step["images_per_s"], feed["images_per_s"])
    return {"missing": None, "step": _rate_row(step, "GPU training step (data in memory)"),
            "input": _rate_row(feed, "input pipeline (decode, crop, flip)"),
            "bound": "the input pipeline" if bound is feed else "the GPU training step",
            "time": duration(bound["images_per_s"]),
            "ratio": f"{faster / bound['images_per_s']:,.0f}",
            "input_cpus": str(feed["cpu_count"] or "?"),
            "step_cpus": str(step["cpu_count"] or "?")}


def top5_text(metrics: dict) -> str:
    """The top-5 figure, unless ties among the outputs decided it (then not a result)."""
    if metrics.get("top5") is None or metrics.get("top5_tied"):
        return "tied, -"
    return f"{metrics['top5']:.1%}"


def results_table(folders: list[Path]) -> str:
    """A Markdown table of finished runs (e.g. every folder under ``results/`` with a
    ``metrics.json``): settings, centre-crop and 10-crop accuracy, machine and the
    precision it computed in, training time and command. README's results table is this."""
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
        machine = ", ".join(filter(None, (config.get("machine", "-"),
                                          config.get("precision_used"))))
        lines.append(
            f"| {folder.name} | {config['variant']} | {config.get('recipe') or '-'} | "
            f"{len(epochs)} of {config['epochs']} | {config['image_size']} | "
            f"{metrics['top1']:.1%} | {top5_text(metrics)} | "
            f"{ten_top1} | {machine} | "
            f"{minutes:.1f} min | `{config.get('command') or '-'}` |")
    return "\n".join(lines)
