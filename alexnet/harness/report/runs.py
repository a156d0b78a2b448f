"""The other runs the PDF cites beside its own: the ablations of the CPU baseline, the
recipes compared (the pure 2012 one that diverged, ``paper`` with He initialisation,
``modern``), the 2012 recipe's first steps and the initialisation tries, all read from
``results/``.

Each table is built from the run folders themselves (config.json, metrics.json,
history.csv), so a run committed later appears in the next build by itself. A run not
there yet is a "not yet measured" row, a bad file a note for "Notes on this build":
nothing here raises on bad evidence.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from alexnet import plots
from alexnet.harness.report import evidence
from alexnet.runs import read_history

BASELINE = "imagenette-modern-cpu-128"  # the modern recipe, 128 px, 20 epochs, on the CPU
# Ablations of the baseline: folder suffix, what it tests, the change (train's flags),
# and whether a missing folder is a "not yet measured" row (else simply left out).
ABLATIONS = (("-no-dropout", "no dropout", "--dropout 0", True),
             ("-no-augmentation", "no augmentation", "--augmentation none", True),
             ("-lrn", "LRN instead of BatchNorm", "", False))
PAPER_2012 = "imagenette-paper"         # the pure 2012 recipe (N(0, 0.01), biases 1)
PAPER_RUN = "imagenette-paper-cpu-128"  # the paper recipe (He initialisation) on the CPU
MODERN_RUN = "imagenette-modern"        # the modern recipe on an H100
RECIPE_RUNS = (PAPER_2012, PAPER_RUN, BASELINE, MODERN_RUN)
QUICK = "imagenette-quick-cpu-128"     # the quick recipe's runs: QUICK-seed<N>, QUICK-notebook
TENTH = "imagenette-tenth"             # the small-data study: TENTH-<setting>
FIRST_STEPS = "paper-first-steps-cpu.txt"
INIT_TRIES = "paper-init-tries"
RUN_FILES = ("config.json", "history.csv", "metrics.json", "conv1_filters.npy", "mistakes.json")
# The settings an ablation's change is read from (config.json keys, train's flags).
COMPARED = ("variant", "init", "dropout", "augmentation", "weight_decay", "lr", "momentum",
            "batch_size", "image_size", "label_smoothing", "schedule", "warmup_epochs",
            "mixup", "cutmix", "epochs")
INITS = {"paper": "N(0, 0.01), biases 1", "he": "He", "glorot": "Glorot"}
STEP_LINE = re.compile(r"step\s+(\d+)\s+loss\s+(\S+)\s+most predicted class\s+([\d.]+)%")


def points(value: float) -> str:
    """A difference of accuracies in points, signed, with a real minus sign."""
    return f"{100 * value:+.1f}".replace("-", "−")


def top5_cell(metrics: dict) -> str:
    """Top-5 accuracy in percent, or why it is no result (ties among the outputs decided it)."""
    if metrics.get("top5_tied"):
        return "tied: no result"
    return evidence.percent(metrics.get("top5"))


def one_class_share(metrics: dict) -> float | None:
    """The share of validation images given to the most predicted class (1: every image
    gets the same answer), from the confusion matrix."""
    matrix = np.asarray(metrics.get("confusion_matrix") or [], float)
    if matrix.ndim != 2 or matrix.sum() == 0:
        return None
    return float(matrix.sum(axis=0).max() / matrix.sum())


def summary(folder: Path, notes: list[str]) -> tuple[dict, dict] | None:
    """A run folder's figures as the tables print them (accuracies in percent) and its
    history, for the curves; None, with a note, when a file is missing or unreadable."""
    try:
        config = json.loads((folder / "config.json").read_text())
        metrics = json.loads((folder / "metrics.json").read_text())
        history = read_history(folder / "history.csv")
        top1 = 1 - evidence.top_errors(metrics)["top1"]
        train, val = float(history["accuracy"][-1]), float(history["val_accuracy"][-1])
        ten = evidence.top_errors(metrics.get("ten_crop"))
    except (OSError, ValueError, KeyError, TypeError) as error:
        notes.append(f"{folder}: unreadable ({type(error).__name__}: {error}); left out")
        return None
    share = one_class_share(metrics)
    row = {"folder": folder.name, "measured": True, "recipe": str(config.get("recipe") or "–"),
           "variant": str(config.get("variant", "?")),
           "init": INITS.get(config.get("init"), str(config.get("init", "?"))),
           "image_size": str(config.get("image_size", "?")),
           "epochs": f"{len(history['epoch'])} of {config.get('epochs', '?')}",
           "machine": machine(config),
           "top1": evidence.percent(top1), "top5": top5_cell(metrics),
           "ten_top1": evidence.percent(1 - ten["top1"]) if ten else "not measured",
           "train": evidence.percent(train), "val": evidence.percent(val),
           "gap": points(train - val), "gap_value": train - val, "top1_value": top1,
           "one_class": evidence.percent(share) if share is not None else "?",
           "top5_tied": f"{int(metrics.get('top5_tied') or 0):,}",
           "examples": f"{int(metrics.get('examples') or 0):,}",
           "val_per_epoch": ", ".join(evidence.percent(v) for v in history["val_accuracy"])}
    return row, {"config": config, "history": history}


def machine(config: dict) -> str:
    """The machine a config.json records, without trademarks and filler ("Intel Xeon,
    2 cores"), so that the tables stay narrow."""
    return re.sub(r"\((R|TM)\)| Processor| CPU", "", str(config.get("machine", "not recorded")))


def _flag(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def change(config: dict, baseline: dict) -> str:
    """How a run's settings differ from the baseline's, as train's flags ("none" when
    they do not); a setting one of the two did not record is not compared."""
    flags = [f"--{key.replace('_', '-')} {_flag(config[key])}" for key in COMPARED
             if config.get(key) is not None and baseline.get(key) is not None
             and config[key] != baseline[key]]
    return ", ".join(flags) or "none"


def ablation_rows(results_dir: Path, notes: list[str]) -> tuple[list[dict], dict]:
    """The ablation table: the baseline, each ablation in ABLATIONS (a "not yet measured"
    row where a required one has no folder yet) and any other ``BASELINE-*`` folder, with
    their configs and histories by folder name, for the curves."""
    planned = [("", "baseline", "none", True), *ABLATIONS]
    known = {BASELINE + suffix for suffix, *_ in planned}
    extra = sorted(path.name for path in Path(results_dir).glob(BASELINE + "-*")
                   if path.is_dir() and path.name not in known)
    planned += [(name[len(BASELINE):], name[len(BASELINE) + 1:], "", False) for name in extra]
    rows, found_runs, baseline = [], {}, None
    for suffix, label, flags, required in planned:
        folder = Path(results_dir) / (BASELINE + suffix)
        found = summary(folder, notes) if (folder / "metrics.json").is_file() else None
        if found is None:
            if required:
                rows.append({"folder": folder.name, "label": label, "measured": False,
                             "change": flags})
            continue
        row, run = found
        baseline = baseline or (run["config"] if suffix == "" else None)
        row |= {"label": label, "change": change(run["config"], baseline) if baseline
                else flags or "–"}
        if suffix and row["change"] == "none":  # a second run of the baseline: seed noise
            row["label"] = f"the baseline again ({label})"
        rows.append(row)
        found_runs[folder.name] = run
    return rows, found_runs


def ablation_gaps(rows: list[dict]) -> dict[str, str]:
    """Each measured run's gap, training minus validation accuracy at the last epoch, in
    points by its label: the overfitting evidence, as data (the document words it)."""
    return {row["label"]: row["gap"] for row in rows if row["measured"]}


def ablation_moves(rows: list[dict]) -> dict[str, str]:
    """Each measured change's top-1 minus the baseline's (the first row), in points by
    its label; empty when the baseline is not measured. A run of the baseline's own
    settings (its label "the baseline again ...") measures the run-to-run spread."""
    measured = [row for row in rows if row["measured"]]
    if not measured or measured[0]["label"] != "baseline":
        return {}
    base = measured[0]["top1_value"]
    return {row["label"]: points(row["top1_value"] - base) for row in measured[1:]}


def recipe_rows(results_dir: Path, notes: list[str]) -> tuple[list[dict], dict]:
    """The recipes compared (RECIPE_RUNS), one row each; the paper recipe's CPU run is
    a "not yet committed" row until its folder is there; with the runs by folder name."""
    rows, found_runs = [], {}
    for name in RECIPE_RUNS:
        folder = Path(results_dir) / name
        found = summary(folder, notes) if (folder / "metrics.json").is_file() else None
        if found is None:
            rows.append({"folder": name, "measured": False})
            continue
        rows.append(found[0])
        found_runs[name] = found[1]
    return rows, found_runs


def first_steps(path: Path) -> dict | None:
    """The loss per step of ``scripts/first_steps.py``'s output (its ``#`` lines: how and
    where it ran); None when the file is not there or holds no finite loss."""
    if not Path(path).is_file():
        return None
    text = Path(path).read_text()
    steps = [(int(m[1]), float(m[2]), float(m[3]) / 100) for m in STEP_LINE.finditer(text)]
    if not steps or not all(math.isfinite(loss) for _, loss, _ in steps):
        return None
    losses = [loss for _, loss, _ in steps]
    peak = int(np.argmax(losses))
    shares = [share for *_, share in steps]
    return {"header": [line.lstrip("# ").strip() for line in text.splitlines()
                       if line.startswith("#")],
            "steps": [step for step, *_ in steps], "losses": losses,
            "count": str(len(steps)), "first": f"{losses[0]:.1f}", "peak": f"{losses[peak]:.1f}",
            "peak_step": str(steps[peak][0]), "last": f"{losses[-1]:.2f}",
            "share_min": evidence.percent(min(shares)), "share_max": evidence.percent(max(shares))}


def init_tries(folder: Path, notes: list[str]) -> list[dict]:
    """The initialisation tries (one run folder each), best validation accuracy first."""
    rows = []
    for run in sorted(Path(folder).glob("*/metrics.json")):
        found = summary(run.parent, notes)
        if found is not None:
            rows.append(found[0] | {"top1_value": float(found[0]["top1"])})
    return sorted(rows, key=lambda row: -row["top1_value"])


def collect(results_dir: Path, config: dict, notes: list[str]) -> dict:
    """Everything the document takes from ``results_dir`` beside its own run (``config``):
    the tables' rows, the runs behind them (by folder name) with a colour each, the first
    steps, the initialisation tries, and the paper recipe's conv1 kernels to show beside
    the run's (None when the run is itself a ``paper`` run, or they are not there)."""
    results_dir = Path(results_dir)
    ablation, ablation_runs = ablation_rows(results_dir, notes)
    recipes, recipe_runs = recipe_rows(results_dir, notes)
    found = ablation_runs | recipe_runs
    colours = {name: plots.RUN_COLOURS[i % len(plots.RUN_COLOURS)]
               for i, name in enumerate(found)}
    partner, kernel_file = None, results_dir / PAPER_RUN / "conv1_filters.npy"
    paper_run = recipe_runs.get(PAPER_RUN)
    if paper_run is not None and config.get("variant") != "paper":
        if kernel_file.is_file():
            paper_config = paper_run["config"]
            partner = (f"{PAPER_RUN}: {paper_config.get('variant')}, "
                       f"{len(paper_run['history']['epoch'])} epochs at "
                       f"{paper_config.get('image_size')} px", np.load(kernel_file))
        else:
            notes.append(f"{kernel_file}: not there; the paper recipe's conv1 kernels left out")
    return {"ablation": ablation, "recipes": recipes, "runs": found, "colours": colours,
            "ablation_gaps": ablation_gaps(ablation), "ablation_moves": ablation_moves(ablation),
            "first_steps": first_steps(results_dir / FIRST_STEPS),
            "init_tries": init_tries(results_dir / INIT_TRIES, notes),
            "conv1_partner": partner}


def evidence_files(results_dir: Path) -> list[Path]:
    """Every file these tables read, for the PDF's digest of its inputs."""
    results_dir = Path(results_dir)
    folders = [results_dir / name for name in RECIPE_RUNS]
    folders += [path for prefix in (BASELINE, QUICK, TENTH)
                for path in sorted(results_dir.glob(prefix + "-*"))]
    folders += sorted((results_dir / INIT_TRIES).glob("*"))
    files = [folder / name for folder in folders for name in RUN_FILES]
    return [path for path in [*files, results_dir / FIRST_STEPS] if path.is_file()]
