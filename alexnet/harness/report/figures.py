"""The PDF's figures, drawn from the evidence into the build folder: the run's own
(plots.py), the model's (figures.py), and those only the document shows: several runs'
accuracy curves, the 2012 recipe's first steps, one image under every augmentation.

Every figure keeps plots.py's styles: training dashed, validation solid; a figure of
several runs gives each run one colour, the same in every figure. Each is drawn twice
(``_save``): for the English edition, and in Korean for the Korean one (korean.py), to
``<name>.ko.<ext>`` beside it.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import keras
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from alexnet import plots
from alexnet.data import augment, batches
from alexnet.data.names import display_names
from alexnet.data.splits import Split
from alexnet.harness.report import korean, runs
from alexnet.harness.report import model_figures as figures

FIGURES = ("architecture", "augmentations", "augmented", "ablation", "curves", "errors",
           "confusion", "per_class", "first_steps", "recipes", "conv1_filters", "neighbours")


TIGHT: dict = {}  # fig.tight_layout()'s defaults: how most figures are laid out


def _save(make: Callable[[], plt.Figure | None], path: Path,
          layout: dict | None = TIGHT) -> str | None:
    """Draws ``make()`` at print resolution twice: to ``path`` for the English edition,
    and in Korean (korean.style, korean.translate, laid out again with
    ``tight_layout(**layout)``; ``None``: as drawn) to ``korean.edition_file(path)``.
    Photographs as JPEG, which keeps the PDF small. Returns the English file's name, or
    None (nothing written) when ``make`` gives no figure."""
    for language in ("en", "ko"):
        with korean.style() if language == "ko" else contextlib.nullcontext():
            fig = make()
            if fig is None:
                return None
            if language == "ko":
                korean.translate(fig, layout)
            fig.savefig(path if language == "en" else korean.edition_file(path), dpi=200,
                        **({"pil_kwargs": {"quality": 90}} if path.suffix == ".jpg" else {}))
            plt.close(fig)
    return path.name


def _fit(fig, width: float = 6.5):
    """Resizes a figure to its printed width so that its text prints at its nominal size,
    with whole-number epoch ticks."""
    w, h = fig.get_size_inches()
    fig.set_size_inches(width, h * width / w)
    for ax in fig.axes:
        if ax.get_xlabel() in ("epoch", "step"):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def accuracy_curves(curves: list[tuple[str, dict, str]], training: bool = True,
                    size: tuple[float, float] = (6.5, 3.2)) -> plt.Figure:
    """Top-1 accuracy per epoch of several runs (label, history, colour): validation solid,
    training dashed (measured on augmented crops, with dropout on)."""
    fig, ax = plt.subplots(figsize=size)
    for label, history, colour in curves:
        epochs = history["epoch"] + 1
        ax.plot(epochs, 100 * history["val_accuracy"], color=colour, linestyle="-",
                marker="o", markersize=2.5, label=label)
        if training:
            ax.plot(epochs, 100 * history["accuracy"], color=colour, linestyle="--")
    handles, labels = ax.get_legend_handles_labels()
    styles = [Line2D([], [], color="grey", linestyle=style, label=label)
              for style, label in (("-", "validation"), ("--", "training")) if training]
    ax.legend(handles=handles + styles, labels=labels + [s.get_label() for s in styles],
              loc="lower right", fontsize=8)
    ax.set(xlabel="epoch", ylabel="top-1 accuracy (%)", ylim=(0, 100))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def first_steps(record: dict, classes: int) -> plt.Figure:
    """The training loss of the 2012 recipe's first steps, against the loss of a uniform
    guess over the classes (log scale when the spikes dominate); no legend to cover them."""
    fig, ax = plt.subplots(figsize=(3.3, 2.4))
    ax.plot(record["steps"], record["losses"], marker="o", markersize=3, **plots.TRAINING)
    chance = math.log(classes)
    ax.axhline(chance, color="black", linestyle=":", lw=1)
    # below the line at the start, where the losses are above it (they end on it)
    ax.annotate(f"ln {classes} = {chance:.2f}: uniform guess", (record["steps"][0], chance),
                xytext=(2, -3), textcoords="offset points", ha="left", va="top", fontsize=7)
    log = plots.log_if_spiky(ax, record["losses"], [chance])
    ax.set_ylim(bottom=chance * (0.75 if log else 0.5))
    ax.set(xlabel="step", ylabel="training loss" + (" (log scale)" if log else ""))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def samples(images: np.ndarray, labels: np.ndarray, class_names: list[str],
            title: str = "Augmented training samples", columns: int = 8) -> plt.Figure:
    """A grid of images (0-255) with their class names."""
    names = display_names(class_names)
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.8 * columns, 2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, label in zip(axes.flat, images, labels, strict=False):
        ax.imshow(np.clip(image, 0, 255).astype("uint8"))
        ax.set_title(names[label], fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def per_class(metrics: dict, max_classes: int = 30) -> plt.Figure:
    """Validation accuracy of each class, with the overall Top-1 accuracy as a line. With
    more than ``max_classes`` classes (ImageNet), the best and the worst half of that each."""
    names = display_names(metrics["class_names"])
    accuracy = [metrics["per_class_accuracy"][name] for name in metrics["class_names"]]
    title = ""
    if len(names) > max_classes:
        order = np.argsort(accuracy, kind="stable")[::-1]
        keep = [*order[:max_classes // 2], *order[-(max_classes // 2):]]
        names, accuracy = [names[k] for k in keep], [accuracy[k] for k in keep]
        title = f"The {max_classes // 2} best and worst of {len(order)} classes"
    fig, ax = plt.subplots(figsize=(6.5, 0.28 * len(names) + 1.2))
    bars = ax.barh(range(len(names)), accuracy, color=plots.VALIDATION["color"])
    ax.bar_label(bars, [f"{a:.0%}" for a in accuracy], padding=2, fontsize=8)
    ax.axvline(metrics["top1"], color="black", lw=1, linestyle=":")
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    overall = f"dotted line: overall {metrics['top1']:.1%}"  # named in the title: no legend
    ax.set(xlim=(0, 1.1), xlabel="top-1 accuracy (validation)",
           title=f"{title}, {overall}" if title else overall.capitalize())
    ax.title.set_fontsize(9)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    fig.tight_layout()
    return fig


GRID_LAYOUT = {"pad": 0.2, "h_pad": 0.4, "w_pad": 0.3}


def augmentation_cells(path: Path, image_size: int, columns: int = 6
                       ) -> list[tuple[str, np.ndarray | None]]:
    """One training image as the augmentations give it, titled: the original, its centre
    crop (``none``), random draws of the paper's crops (``paper``) and of random-resized
    crops (``rrc``), and the paper's five test crops (their mirror images, the other
    five, left out); empty cells fill the last row."""
    square = batches.decode_square(path, augment.resize_size(image_size))
    layers = {name: augment.augmentation(name, image_size, seed=0)
              for name in ("none", "paper", "rrc")}

    def draw(name: str, count: int) -> list[np.ndarray]:
        return list(np.asarray(layers[name](np.repeat(square[None], count, axis=0))))

    tests = np.asarray(augment.ten_crops(square[None].astype("float32"), image_size)[0, :5])
    cells = [("decoded square", square), ("none: centre", draw("none", 1)[0])]
    cells += [("paper", image) for image in draw("paper", columns - 2)]
    cells += [("rrc", image) for image in draw("rrc", columns)]
    return cells + [("test crop", image) for image in tests] + [("", None)] * (columns - len(tests))


def augmentation_grid(cells: list[tuple[str, np.ndarray | None]], columns: int = 6
                      ) -> plt.Figure:
    """augmentation_cells' images in rows of ``columns``, each titled."""
    rows = len(cells) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(6.5, rows * 6.5 / columns * 1.1))
    for ax, (title, image) in zip(axes.flat, cells, strict=True):
        ax.axis("off")
        if image is not None:
            ax.imshow(np.clip(image, 0, 255).astype("uint8"))
            ax.set_title(title, fontsize=7, pad=2)
    fig.tight_layout(**GRID_LAYOUT)
    return fig


def run_label(row: dict, config: dict) -> str:
    """A run of the recipes' figure, in a few words."""
    init = config.get("init", "?")
    return (f"{row['recipe']} recipe, {row['variant']} network, "
            f"{runs.INITS.get(init, init)} init, {row['image_size']} px")


def draw(run_dir: Path, config: dict, metrics: dict, history: dict, train: Split | None,
         roots: list[Path], paper: keras.Model, others: dict, out: Path,
         notes: list[str]) -> dict[str, str | None]:
    """Draws every figure into ``out``; name -> file name, None where it cannot be made
    (the reason goes to ``notes``). ``train``: the run's training split when the dataset
    is at hand (for the augmented samples, drawn afresh, sized for print; otherwise
    training's ``augmented.png``); ``others``: runs.collect's other runs."""
    made: dict[str, str | None] = dict.fromkeys(FIGURES)
    made["architecture"] = _save(lambda: figures.architecture(paper), out / "architecture.png",
                                 layout=None)
    made["curves"] = _save(lambda: _fit(plots.curves(history)), out / "curves.png")
    made["errors"] = _save(lambda: _fit(plots.errors(history), 5), out / "errors.png")
    made["confusion"] = _save(lambda: _fit(plots.confusion(metrics), 5), out / "confusion.png")
    made["per_class"] = _save(lambda: per_class(metrics), out / "per_class.png")

    if train is not None:
        augmentation = config.get("augmentation", "basic")
        sample = batches.decode(train.spread(12), config["image_size"])
        layer = augment.augmentation(augmentation, config["image_size"], seed=0)
        images = np.asarray(layer(sample.images))
        made["augmented"] = _save(lambda: _fit(samples(images, sample.labels,
                                                       train.class_names, columns=6)),
                                  out / "augmented.jpg")
        cells = augmentation_cells(train.files[0], config["image_size"])  # drawn once
        made["augmentations"] = _save(lambda: augmentation_grid(cells),
                                      out / "augmentations.jpg", layout=GRID_LAYOUT)
    elif (run_dir / "augmented.png").is_file():
        made["augmented"] = Path(shutil.copy(run_dir / "augmented.png", out)).name
    if train is None:
        notes.append("no dataset at hand (pass --data DATASET_ROOT): the augmentations "
                     "figure left out" + ("" if made["augmented"] else
                                          ", and augmented samples (no augmented.png)"))

    colours, found = others["colours"], others["runs"]
    ablation = [(row["label"], found[row["folder"]]["history"], colours[row["folder"]])
                for row in others["ablation"] if row["measured"]]
    if ablation:
        made["ablation"] = _save(lambda: accuracy_curves(ablation), out / "ablation.png")
    else:
        notes.append("no ablation run under results/; ablation figure left out")
    recipes = [(run_label(row, found[row["folder"]]["config"]), found[row["folder"]]["history"],
                colours[row["folder"]]) for row in others["recipes"] if row["measured"]]
    if recipes:
        made["recipes"] = _save(lambda: accuracy_curves(recipes, training=False),
                                 out / "recipes.png")
    else:
        notes.append("no recipe run under results/; the recipes' figure left out")
    if others["first_steps"] is not None:
        made["first_steps"] = _save(lambda: first_steps(others["first_steps"],
                                                        len(config["class_names"])),
                                    out / "first_steps.png")
    else:
        notes.append(f"results/{runs.FIRST_STEPS}: not there, or no finite loss per step in "
                     "it; the first-steps figure left out")

    kernel_file, neighbours_file = run_dir / "conv1_filters.npy", run_dir / "neighbours.json"
    if kernel_file.is_file():
        kernels = [(f"this run: {config.get('variant')}, {len(history['epoch'])} epochs at "
                    f"{config.get('image_size')} px", np.load(kernel_file))]
        partner = others["conv1_partner"]
        if partner is not None:
            kernels.append(partner)
        made["conv1_filters"] = _save(lambda: figures.conv1_side_by_side(kernels),
                                      out / "conv1_filters.png")
    else:
        notes.append(f"{kernel_file.name}: not in the run folder (nor best.keras and the "
                     "dataset to make it from); conv1 figure left out")
    if neighbours_file.is_file():
        record, found = json.loads(neighbours_file.read_text()), []
        made["neighbours"] = _save(lambda: figures.neighbours_figure(
            record, config["class_names"], roots, found), out / "neighbours.jpg",
            layout=figures.NEIGHBOURS_LAYOUT)
        notes.extend(dict.fromkeys(found))  # drawn twice: each note once
    else:
        notes.append(f"{neighbours_file.name}: not in the run folder (nor best.keras and the "
                     "dataset to make it from); nearest-neighbour figure left out")
    return made
