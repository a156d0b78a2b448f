"""The studies the PDF reports beside the ablations, as data: the small-data overfitting
study (the ``quick`` recipe on a tenth of Imagenette's training images, with and without
dropout and crops), the ``quick`` recipe's seeds, every run the document cites as a table
row (the headline run's own parts: headline.py).

The document is written in two languages from one ``report.json``, so everything here is
numbers as formatted strings, booleans and names, never a sentence: the words are the
document's. As in runs.py, a run not committed yet is a ``"measured": false`` row and a
bad file a note; nothing here raises on missing evidence.
"""

from __future__ import annotations

import functools
import json
import re
import statistics
from pathlib import Path

import numpy as np
from PIL import Image

from alexnet.data.splits import split_settings
from alexnet.harness import shards
from alexnet.harness.report import artifacts, evidence, runs
from alexnet.harness.report.runs import BASELINE, QUICK, TENTH, points
from alexnet.runs import read_history

# The small-data study: folder, dropout on, crops (augmentation "basic") on, the flags
# that differ from the first run's. Each ran SMALLDATA_COMMAND plus its change.
SMALLDATA = ((f"{TENTH}-dropout-crops", True, True, ""),
             (f"{TENTH}-crops", False, True, "--dropout 0"),
             (f"{TENTH}-dropout", True, False, "--augmentation none"),
             (f"{TENTH}-neither", False, False, "--dropout 0 --augmentation none"))
SMALLDATA_FRACTION, SMALLDATA_EPOCHS = 0.1, 50
SMALLDATA_COMMAND = ("python -m alexnet train --recipe quick --train-fraction 0.1 --epochs 50 "
                     "--patience 50 --dropout 0.5 --seed 0 --data imagenette")
# The quick recipe's runs: folder, seed, how it was run (the command line or the notebook):
# three seeds in bfloat16 (a CPU with AVX512-BF16), three in float32 (one with AVX2 only).
QUICK_RUNS = (*((f"{QUICK}-seed{seed}", seed, "cli") for seed in range(3)),
              *((f"{QUICK}-float32-seed{seed}", seed, "cli") for seed in range(3)),
              (f"{QUICK}-notebook", 0, "notebook"))
PRECISION_WORDS = {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16",
                   "float32": "float32"}
MODERN_CPU = BASELINE  # the modern recipe at 128 px on the CPU, in the time figure
# Every run the document cites as a table row, in the order of the runs table.
CITED = (*(name for name, *_ in QUICK_RUNS), BASELINE,
         *(f"{BASELINE}-{suffix}" for suffix in ("no-dropout", "no-augmentation", "wd5e-4",
                                                  "notebook")),
         runs.PAPER_RUN, runs.PAPER_2012, runs.MODERN_RUN, *(name for name, *_ in SMALLDATA))
DATASET_NAMES = {"imagenette": "Imagenette", "imagenette-320": "Imagenette",
                 "imagenette-full": "Imagenette", "imagenet": "ImageNet"}
PACKED = re.compile(r"(.+)-(\d+)\.npz$")
HISTORY = ("epoch", "accuracy", "val_accuracy", "val_loss")  # the columns the studies read


def read(folder: Path, notes: list[str]) -> dict | None:
    """A finished run's config, metrics and history, checked for what the studies use;
    None when it is not there yet (metrics.json is written last), None with a note when
    a file is unreadable or lacks it."""
    if not (folder / "metrics.json").is_file():
        return None
    try:
        run = {"config": json.loads((folder / "config.json").read_text()),
               "metrics": json.loads((folder / "metrics.json").read_text()),
               "history": read_history(folder / "history.csv")}
        absent = [key for key in HISTORY if key not in run["history"]]
        if absent or evidence.top_errors(run["metrics"]) is None:
            raise ValueError(f"no {', '.join(absent) or 'top-1 in metrics.json'}")
    except (OSError, ValueError, AttributeError) as error:
        notes.append(f"{folder}: unreadable ({type(error).__name__}: {error}); left out")
        return None
    return run


def minutes(history: dict) -> float | None:
    """Minutes of training, the sum of the epochs' ``epoch_seconds`` (validation
    included); None where the run did not record them."""
    seconds = history.get("epoch_seconds")
    if seconds is None or not np.all(np.isfinite(seconds)):
        return None
    return float(np.sum(seconds)) / 60


def top1(metrics: dict) -> tuple[str, str, str | None]:
    """Centre-crop top-1, top-5 and 10-crop top-1 of the best checkpoint, in percent
    (a top-5 decided by tied outputs is no result: runs.top5_cell)."""
    ten = evidence.top_errors(metrics.get("ten_crop"))
    return (evidence.percent(1 - evidence.top_errors(metrics)["top1"]), runs.top5_cell(metrics),
            evidence.percent(1 - ten["top1"]) if ten else None)


def flip_top1(metrics: dict) -> str | None:
    """Top-1 of the centre crop and its mirror image averaged (a test-time flip), in
    percent; None where the run's metrics have none."""
    flip = evidence.top_errors(metrics.get("flip"))
    return evidence.percent(1 - flip["top1"]) if flip else None


def train_images(config: dict, roots: list[Path]) -> str | None:
    """How many training images a run had, counted from its dataset as train counted
    them (its limit, split and fraction); None without the dataset."""
    root = artifacts.find_dataset(roots)
    if root is None:
        return None
    try:
        split = shards.open_dataset(root).split("train", config.get("class_names"),
                                         limit=config.get("limit"), **split_settings(config))
    except (OSError, ValueError):
        return None
    if config.get("train_fraction"):
        split = split.fraction(config["train_fraction"], config.get("seed", 0))
    return f"{len(split):,}"


def smalldata(results_dir: Path, roots_of, notes: list[str]) -> tuple[dict, dict]:
    """The small-data study: one row per setting (SMALLDATA), with the runs' histories by
    folder for the figure. ``roots_of(config)``: where that run's dataset may be."""
    rows, found, first = [], {}, None
    for folder, dropout, crops, change in SMALLDATA:
        run = read(Path(results_dir) / folder, notes)
        if run is None:
            rows.append({"folder": folder, "dropout": dropout, "crops": crops,
                         "change": change, "measured": False})
            continue
        config, history = run["config"], run["history"]
        first = first or run
        train, val = history["accuracy"], history["val_accuracy"]
        best, lowest = int(np.nanargmax(val)), int(np.nanargmin(history["val_loss"]))
        centre, top5, ten = top1(run["metrics"])
        recorded = config.get("dropout"), config.get("augmentation")
        rows.append({"folder": folder, "change": change,
                     "dropout": dropout if recorded[0] is None else float(recorded[0]) > 0,
                     "crops": crops if recorded[1] is None else recorded[1] != "none",
                     "measured": True, "top1": centre, "top5": top5, "ten_top1": ten,
                     "train": evidence.percent(train[-1]), "val": evidence.percent(val[-1]),
                     "gap": points(train[-1] - val[-1]), "best_val": evidence.percent(val[best]),
                     "best_epoch": str(best + 1), "epochs": str(len(val)),
                     "last_val_loss": f"{history['val_loss'][-1]:.2f}",
                     "min_val_loss": f"{history['val_loss'][lowest]:.2f}",
                     "min_val_loss_epoch": str(lowest + 1),
                     "command": config.get("command")})
        found[folder] = history
    config, metrics = (first["config"], first["metrics"]) if first else ({}, {})
    fraction = config.get("train_fraction") or SMALLDATA_FRACTION
    return {"fraction": f"{100 * fraction:g}",
            "train_images": train_images(config, roots_of(config)) if first else None,
            "val_images": f"{int(metrics['examples']):,}" if metrics.get("examples") else None,
            "epochs": str(config.get("epochs", SMALLDATA_EPOCHS)),
            "machine": runs.machine(config) if first else None,
            "command": SMALLDATA_COMMAND, "rows": rows}, found


def _median(values: list[float], minimum: int = 3) -> float | None:
    return statistics.median(values) if len(values) >= minimum else None


def quick(results_dir: Path, notes: list[str]) -> tuple[dict, dict]:
    """The quick recipe's runs (QUICK_RUNS), with the medians over the measured
    command-line seeds of each precision (None below three), and for the figure each
    run's precision and history by folder."""
    rows, found, cli = [], {}, {}
    for folder, seed, source in QUICK_RUNS:
        run = read(Path(results_dir) / folder, notes)
        if run is None:
            rows.append({"folder": folder, "seed": str(seed), "source": source,
                         "measured": False})
            continue
        took = minutes(run["history"])
        centre, top5, ten = top1(run["metrics"])
        used = run["config"].get("precision_used")
        precision = PRECISION_WORDS.get(used, used or "not recorded")
        rows.append({"folder": folder, "seed": str(run["config"].get("seed", seed)),
                     "source": source, "measured": True, "precision": precision,
                     "minutes": f"{took:.1f}" if took is not None else None,
                     "top1": centre, "top5": top5, "ten_top1": ten,
                     "flip_top1": flip_top1(run["metrics"]),
                     "epochs": str(len(run["history"]["epoch"])),
                     "machine": runs.machine(run["config"]),
                     "command": run["config"].get("command")})
        found[folder] = (precision, run["history"])
        if source == "cli":
            cli.setdefault(precision, []).append((took, run["metrics"], run["config"]))
    groups = []
    for precision, measured in cli.items():
        spent = _median([took for took, _, _ in measured if took is not None])
        best = _median([1 - evidence.top_errors(m)["top1"] for _, m, _ in measured])
        tens = [evidence.top_errors(m.get("ten_crop")) for _, m, _ in measured]
        ten = _median([1 - t["top1"] for t in tens if t])
        flips = [evidence.top_errors(m.get("flip")) for _, m, _ in measured]
        flip = _median([1 - f["top1"] for f in flips]) if all(flips) else None
        units = sorted({bfloat16_units(config) for _, _, config in measured})
        groups.append({"precision": precision, "seeds": len(measured), "units": units,
                       "median_minutes": f"{spent:.1f}" if spent is not None else None,
                       "median_top1": evidence.percent(best) if best is not None else None,
                       "median_ten_top1": evidence.percent(ten) if ten is not None else None,
                       "median_flip_top1": evidence.percent(flip) if flip is not None else None})
    machines = {row["machine"] for row in rows if row["measured"]}
    return {"rows": rows, "groups": groups,
            "machine": machines.pop() if len(machines) == 1 else None}, found


def bfloat16_units(config: dict) -> str:
    """The bfloat16 units of the CPU a run's config.json records: "AMX", "AVX512-BF16",
    "none", or "not recorded" (a GPU's run, or one from before the record)."""
    details = config.get("machine_details") or {}
    if details.get("gpu") or "avx512_bf16" not in details:
        return "not recorded"
    return "AMX" if details.get("amx_bf16") else "AVX512-BF16" if details["avx512_bf16"] \
        else "none"


def data_words(config: dict, roots: list[Path]) -> dict:
    """What a run trained on, from its config: a packed ``NAME-<N>.npz`` holds N px
    copies (up-sampled when N is below the run's image size); a folder is named, and
    with the dataset at hand, its images' size when all of a sample share one square size."""
    data = str(config.get("data", "?"))
    packed = PACKED.search(Path(data).name)
    if packed:
        name = DATASET_NAMES.get(packed[1], packed[1])
        size, image_size = int(packed[2]), int(config.get("image_size") or 0)
        up = str(image_size) if size < image_size else None
        words = f"{name} packed at {size} px" + (f", up-sampled to {up}" if up else "")
        return {"data": words, "data_name": name, "data_px": str(size), "packed": True,
                "upsampled_to": up}
    name = DATASET_NAMES.get(Path(data).name, Path(data).name)
    root = artifacts.find_dataset(roots)
    size = copies_px(root) if root is not None else None
    return {"data": f"{name} {size} px copies" if size else name, "data_name": name,
            "data_px": size, "packed": False, "upsampled_to": None}


@functools.cache
def copies_px(root: Path) -> str | None:
    """The side of a dataset's images when the first image of each of (up to) ten
    classes is a square of one size (resized copies, as the project's Imagenette);
    None when they vary, as in the official downloads."""
    folders = sorted(p for p in (root / "train").iterdir() if p.is_dir())[:10]
    sizes = set()
    for first in (min(folder.iterdir(), default=None) for folder in folders):
        if first is None:
            continue
        try:
            with Image.open(first) as image:
                sizes.add(image.size)
        except OSError:
            return None
    if len(sizes) != 1:
        return None
    width, height = sizes.pop()
    return str(width) if width == height else None


def cited_runs(results_dir: Path, roots_of) -> list[dict]:
    """Every run the document cites (CITED) as a table row; ``measured: false`` until
    its folder is committed."""
    rows = []
    for folder in CITED:
        run = read(Path(results_dir) / folder, [])  # a bad file is noted by its table
        if run is None:
            rows.append({"folder": folder, "measured": False})
            continue
        config, history = run["config"], run["history"]
        took = minutes(history)
        centre, top5, ten = top1(run["metrics"])
        fraction = config.get("train_fraction")
        rows.append({"folder": folder, "measured": True,
                     "recipe": str(config.get("recipe") or "–"),
                     "variant": str(config.get("variant", "?")),
                     **data_words(config, roots_of(config)),
                     "train_fraction": f"{100 * fraction:g}" if fraction else None,
                     "image_size": str(config.get("image_size", "?")),
                     "epochs": str(len(history["epoch"])),
                     "epochs_planned": str(config.get("epochs", "?")),
                     "backend": str(config.get("keras_backend", "?")),
                     "machine": runs.machine(config), "command": config.get("command"),
                     "top1": centre, "top5": top5, "ten_top1": ten,
                     "minutes": f"{took:.1f}" if took is not None else None})
    return rows


def collect(results_dir: Path, roots_of, notes: list[str]) -> dict:
    """The studies' data for report.json (``record``) and the histories behind the
    figures (``smalldata_runs``, ``quick_runs``, ``modern_cpu``: by folder)."""
    small, small_runs = smalldata(results_dir, roots_of, notes)
    seeds, quick_runs = quick(results_dir, notes)
    modern = read(Path(results_dir) / MODERN_CPU, [])
    return {"record": {"smalldata": small, "quick": seeds,
                       "runs": cited_runs(results_dir, roots_of)},
            "smalldata_runs": small_runs, "quick_runs": quick_runs,
            "modern_cpu": modern["history"] if modern else None}
