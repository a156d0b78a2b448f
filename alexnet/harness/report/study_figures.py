"""The studies' figures (studies.py's data): the small-data study's curves, the quick
recipe's time to accuracy, and the headline run's most confident mistakes.

They keep plots.py's styles (training dashed, validation solid); each is sized for the
full text width of an A4 page, so that its text prints at its nominal size, and drawn
once per edition (figures._save: English, then Korean).
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from alexnet import plots
from alexnet.data.names import display_names
from alexnet.harness.report.artifacts import resolve_image
from alexnet.harness.report.figures import _save
from alexnet.harness.report.model_figures import _display_image

FIGURES = ("smalldata", "time_to_accuracy", "mistakes")
# The small-data panels: (dropout, crops) -> title.
SETTINGS = {(True, True): "dropout + crops", (False, True): "crops only",
            (True, False): "dropout only", (False, False): "neither"}
TARGET, BUDGET = 0.75, 10  # the quick recipe's aim: 75 % top-1 in 10 minutes


def smalldata(rows: list[dict], histories: dict[str, dict]) -> plt.Figure:
    """Top-1 accuracy per epoch of the small-data runs, one panel per setting on shared
    axes: training dashed, validation solid; a run not measured yet says so."""
    fig, axes = plt.subplots(2, 2, figsize=(6.5, 4.6), sharex=True, sharey=True)
    for ax, row in zip(axes.flat, rows, strict=False):
        ax.set_title(SETTINGS.get((row["dropout"], row["crops"]), row["folder"]), fontsize=10)
        history = histories.get(row["folder"])
        if history is None:
            ax.text(0.5, 0.5, "not yet measured", ha="center", va="center", color="grey",
                    transform=ax.transAxes)
        else:
            epochs = history["epoch"] + 1
            ax.plot(epochs, 100 * history["accuracy"], label="training", **plots.TRAINING)
            ax.plot(epochs, 100 * history["val_accuracy"], label="validation",
                    **plots.VALIDATION)
        ax.set_ylim(0, 102)  # a training curve at 100 % clear of the frame
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("top-1 accuracy (%)")
    handles = [Line2D([], [], label=label, **style) for label, style in
               (("training", plots.TRAINING), ("validation", plots.VALIDATION))]
    axes[0, 0].legend(handles=handles, loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def _minutes(history: dict) -> np.ndarray | None:
    seconds = history.get("epoch_seconds")
    if seconds is None or not np.all(np.isfinite(seconds)):
        return None
    return np.cumsum(seconds) / 60


def time_to_accuracy(quick: dict[str, tuple[str, dict]], modern: dict | None
                     ) -> plt.Figure | None:
    """Validation top-1 against minutes of training (the epochs' seconds added up,
    validation included): the quick recipe's runs (``quick``: folder -> (precision,
    history)) a line each, a colour for each precision, the modern recipe's CPU run in
    another; dotted lines at the quick recipe's aim (TARGET, BUDGET). None when no run
    recorded its epochs' seconds."""
    precisions = list(dict.fromkeys(precision for precision, _ in quick.values()))
    series = [(history, plots.RUN_COLOURS[precisions.index(precision)],
               f"quick, 128 px, {precision} (a line per run)")
              for precision, history in quick.values()]
    series += [(modern, plots.RUN_COLOURS[len(precisions)], "modern, 128 px")] if modern else []
    series = [(minutes, h, c, label) for h, c, label in series
              if (minutes := _minutes(h)) is not None]
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    labelled = set()
    for minutes, history, colour, label in series:
        ax.plot(minutes, 100 * history["val_accuracy"], color=colour, marker="o",
                markersize=2.5, lw=1.2, label=None if label in labelled else label)
        labelled.add(label)
    ax.axhline(100 * TARGET, color="black", linestyle=":", lw=1)
    ax.axvline(BUDGET, color="black", linestyle=":", lw=1)
    ax.annotate(f"{TARGET:.0%}", (0, 100 * TARGET), xytext=(3, 3), textcoords="offset points",
                fontsize=8)
    ax.annotate(f"{BUDGET} min", (BUDGET, 0), xytext=(3, 3), textcoords="offset points",
                xycoords=("data", "axes fraction"), fontsize=8)
    values = 100 * np.concatenate([history["val_accuracy"] for _, history, *_ in series])
    low, high = np.nanmin(values), max(np.nanmax(values), 100 * TARGET)  # the curves fill it
    ax.set(xlabel="minutes of training (validation included)",
           ylabel="validation top-1 accuracy (%)", xlim=(0, None),
           ylim=(max(0, 10 * np.floor(low / 10) - 5), min(100, 10 * np.ceil(high / 10) + 5)))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


MISTAKES_LAYOUT = {"pad": 0.3, "h_pad": 0.6, "w_pad": 0.4}


def mistakes(record: dict, roots: list[Path], notes: list[str], columns: int = 4,
             count: int = 8) -> plt.Figure | None:
    """The most confident mistakes of ``mistakes.json``, each titled "true → predicted
    (confidence)"; image files not found are counted in ``notes``; None when none is."""
    shown, missing = [], []
    for entry in record.get("mistakes", []):
        path = resolve_image(entry["file"], roots)
        if path is None:
            missing.append(entry["file"])
        elif len(shown) < count:
            true, predicted = display_names([entry["true"], entry["predicted"]])
            shown.append((_display_image(path),
                          f"{true}\n→ {predicted} ({entry['confidence']:.0%})"))
    if missing:
        notes.append(f"mistakes.json: {len(missing)} image file(s) not found, e.g. "
                     f"{missing[0]} (looked under: {', '.join(map(str, roots))}; pass --data "
                     "DATASET_ROOT)")
    if not shown and not missing:
        notes.append("mistakes.json lists no misclassified image; the mistakes figure left out")
    if not shown:
        return None
    rows = -(-len(shown) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.5, rows * 6.5 / columns * 1.22),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (image, title) in zip(axes.flat, shown, strict=False):
        ax.imshow(image)
        ax.set_title(title, fontsize=8, pad=3)
    fig.tight_layout(**MISTAKES_LAYOUT)
    return fig


def draw(studied: dict, run_dir: Path, roots: list[Path], out: Path, notes: list[str]
         ) -> dict[str, str | None]:
    """Draws the studies' figures into ``out``; name -> file name, None (with a note)
    where the evidence is not there yet. ``studied``: studies.collect's."""
    made: dict[str, str | None] = dict.fromkeys(FIGURES)
    rows = studied["record"]["smalldata"]["rows"]
    if any(row["measured"] for row in rows):
        made["smalldata"] = _save(lambda: smalldata(rows, studied["smalldata_runs"]),
                                  out / "smalldata.png")
    else:
        notes.append("no small-data run under results/ (imagenette-tenth-*) yet; the "
                     "small-data figure left out")
    made["time_to_accuracy"] = _save(
        lambda: time_to_accuracy(studied["quick_runs"], studied["modern_cpu"]),
        out / "time_to_accuracy.png")
    if made["time_to_accuracy"] is None:
        notes.append("no quick-recipe run with epoch_seconds under results/; the time to "
                     "accuracy figure left out")
    path = Path(run_dir) / "mistakes.json"
    if path.is_file():
        record, found = json.loads(path.read_text()), []
        made["mistakes"] = _save(lambda: mistakes(record, roots, found), out / "mistakes.jpg",
                                 layout=MISTAKES_LAYOUT)
        notes.extend(dict.fromkeys(found))  # drawn twice: each note once
    else:
        notes.append("mistakes.json: not in the run folder (nor best.keras and the dataset "
                     "to make it from); the mistakes figure left out")
    return made
