"""Matplotlib figures of a run: curves, Top-1/Top-5 errors, the schedule, confusion,
per-class accuracy, predictions, samples, and the augmentation of one image.

Each function returns a Figure (shown inline in the notebook; the command line saves
them into the run folder). ``history`` is Keras' ``History.history`` or a history.csv read
back: a dict of per-epoch arrays. Images are 0-255 RGB.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from alexnet.data import augment
from alexnet.data.names import display_names

# One style per series in every figure: training dashed, validation solid, each in its
# own colour; figures of several runs keep the styles and give each run a colour of
# RUN_COLOURS (none of them the training or validation colour).
TRAINING = {"color": "tab:blue", "linestyle": "--"}
VALIDATION = {"color": "tab:orange", "linestyle": "-"}
RUN_COLOURS = ("#2ca02c", "#9467bd", "#8c564b", "#d62728", "#17becf", "#e377c2", "#000000",
               "#bcbd22", "#7f7f7f")


def log_if_spiky(ax, *series) -> bool:
    """A log scale for the y axis where a few spikes would flatten the rest of the curves
    (peak over five times the median); says whether it chose one."""
    values = np.concatenate([np.ravel(s) for s in series])
    spiky = bool(values.size and values.min() > 0 and values.max() > 5 * np.median(values))
    if spiky:  # ticks at 1, 2, 5 x 10^k, written as plain numbers
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 5)))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    return spiky


def curves(history: dict[str, np.ndarray]) -> plt.Figure:
    """Training and validation loss and accuracy per epoch (the loss on a log scale when
    spikes dominate it)."""
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, title in ((axes[0], "loss", "Loss"), (axes[1], "accuracy", "Top-1 accuracy")):
        ax.plot(epochs, history[key], label="training", **TRAINING)
        ax.plot(epochs, history[f"val_{key}"], label="validation", **VALIDATION)
        if key == "loss" and log_if_spiky(ax, history[key], history[f"val_{key}"]):
            title += " (log scale)"
        ax.set(title=title, xlabel="epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def schedule(learning_rate, steps_per_epoch: int, epochs: int) -> plt.Figure:
    """The learning rate over the epochs: a Keras schedule (warm-up then cosine), or a
    constant that ReduceLROnPlateau divides by 10 when validation stalls."""
    steps = np.linspace(0, epochs * steps_per_epoch, 200)
    if callable(learning_rate):
        rates = [float(learning_rate(int(step))) for step in steps]
        warmup = " after a linear warm-up" if getattr(learning_rate, "warmup_steps", 0) else ""
        title = f"Learning rate: {type(learning_rate).__name__}{warmup}"
    else:
        rates = [float(learning_rate)] * len(steps)
        title = "Learning rate: constant, / 10 on a plateau (ReduceLROnPlateau)"
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(steps / steps_per_epoch, rates)
    ax.set(title=title, xlabel="epoch", ylabel="learning rate", ylim=(0, None))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def errors(history: dict[str, np.ndarray]) -> plt.Figure:
    """Top-1 and Top-5 validation (and training) error per epoch, as the paper reports."""
    epochs = np.arange(1, len(history["val_accuracy"]) + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label, marker in (("accuracy", "top-1", "o"), ("top5_accuracy", "top-5", "s")):
        validation = 100 * (1 - history[f"val_{key}"])
        ax.plot(epochs, validation, label=f"{label} validation", marker=marker, markersize=3,
                **VALIDATION)
        ax.plot(epochs, 100 * (1 - history[key]), label=f"{label} training", marker=marker,
                markersize=3, markevery=max(1, len(epochs) // 10), fillstyle="none",
                **TRAINING)
    ax.set(title="Error rate", xlabel="epoch", ylabel="error (%)", ylim=(0, None))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def most_confused(matrix: np.ndarray, count: int) -> list[int]:
    """Up to ``count`` class indices, taken from the largest off-diagonal cells down: the
    classes a confusion matrix of many classes is worth showing."""
    errors = matrix.astype(float).copy()
    np.fill_diagonal(errors, 0)
    chosen: list[int] = []
    for flat in np.argsort(-errors, axis=None):
        i, j = np.unravel_index(flat, errors.shape)
        if errors[i, j] == 0:
            break
        chosen += [k for k in (int(i), int(j)) if k not in chosen]
        if len(chosen) >= count:
            break
    return chosen[:count]


def confusion(metrics: dict, max_classes: int = 20) -> plt.Figure:
    """Confusion matrix (rows: true class, columns: predicted), counts in the cells. With
    more than ``max_classes`` classes (ImageNet), only the most-confused ones."""
    matrix = np.array(metrics["confusion_matrix"])
    names = display_names(metrics["class_names"])
    title = f"Confusion matrix (top-1 accuracy {metrics['top1']:.1%})"
    if len(names) > max_classes:
        keep = most_confused(matrix, max_classes) or list(range(max_classes))
        matrix, names = matrix[np.ix_(keep, keep)], [names[k] for k in keep]
        title = (f"The {len(keep)} most-confused of {len(metrics['class_names'])} classes "
                 f"(top-1 accuracy {metrics['top1']:.1%})")
    size = max(5, 0.55 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, count, ha="center", va="center", fontsize=8,
                color="white" if count > matrix.max() / 2 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def augmentations(square: np.ndarray, image_size: int, columns: int = 5,
                  seed: int = 0) -> plt.Figure:
    """One decoded square under each training augmentation (a row: a batch of
    ``columns`` copies through augment.py's ``augmentation``, the layers training uses),
    then the paper's ten test crops (two rows: the five crops, then their mirror images)."""
    copies = np.repeat(square[None], columns, axis=0)
    rows = {name: list(augment.augmentation(name, image_size, seed=seed)(copies))
            for name in augment.AUGMENTATIONS}
    crops = list(augment.ten_crops(square[None].astype("float32"), image_size)[0])
    rows["10 test crops"], rows["mirrored"] = crops[:5], crops[5:]
    width = max(columns, 5) + 1  # the ten crops take five columns a row
    fig, axes = plt.subplots(len(rows), width, squeeze=False,
                             figsize=(1.3 * width, 1.3 * len(rows)))
    for ax in axes.flat:
        ax.axis("off")
    axes[0, 0].imshow(square)
    axes[0, 0].set_title("decoded square", fontsize=8)
    for row, (name, images) in zip(axes, rows.items(), strict=True):
        for ax, image in zip(row[1:], images, strict=False):
            ax.imshow(np.clip(np.asarray(image), 0, 255).astype("uint8"))
        row[1].set_title(name, fontsize=8, loc="left")
    fig.tight_layout(pad=0.3)
    return fig


TRUE_CLASS, OTHER_CLASS = "tab:red", "tab:blue"  # top5_bars' bars, as the paper colours them


def top5_bars(images: np.ndarray, probabilities: np.ndarray, labels: np.ndarray,
              class_names: list[str], count: int = 8, columns: int = 4) -> plt.Figure:
    """Ours of the paper's Figure 4 (left half): validation images, each with its true
    class under it and its five most probable classes as horizontal bars, the most
    probable on top; the true class's bar is red, the others blue, and an image whose true
    class is not among the five says so. Fewer than five classes: all of them."""
    names = display_names(class_names)
    count = min(count, len(images))
    columns = max(1, min(columns, count))
    rows = int(np.ceil(count / columns))
    top = min(5, probabilities.shape[1])
    fig = plt.figure(figsize=(2.6 * columns, 3.0 * rows + 0.3), layout="constrained")
    cells = fig.add_gridspec(rows, columns, hspace=0.08)
    for i in range(count):
        image_ax, bars_ax = (fig.add_subplot(spec) for spec in cells[
            i // columns, i % columns].subgridspec(2, 1, height_ratios=[1.2, 1], hspace=0))
        image_ax.axis("off")
        image_ax.imshow(np.clip(images[i], 0, 255).astype("uint8"))
        truth = int(labels[i])
        image_ax.set_title(names[truth], fontsize=9, fontweight="bold")
        order = np.argsort(-probabilities[i], kind="stable")[:top]
        bars_ax.barh(range(top), probabilities[i][order], height=0.7,
                     color=[TRUE_CLASS if k == truth else OTHER_CLASS for k in order])
        bars_ax.set_yticks(range(top), [names[k] for k in order], fontsize=8)
        for tick, k in zip(bars_ax.get_yticklabels(), order, strict=True):
            if k == truth:
                tick.set_color(TRUE_CLASS)
                tick.set_fontweight("bold")
        bars_ax.invert_yaxis()  # the most probable class on top
        bars_ax.set_xlim(0, 1)
        bars_ax.set_xticks([0, 0.5, 1])
        bars_ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        bars_ax.tick_params(axis="x", labelsize=7)
        for side in ("top", "right"):
            bars_ax.spines[side].set_visible(False)
        if truth not in order:
            bars_ax.set_xlabel("true class not in the top 5", fontsize=7, color=TRUE_CLASS)
    fig.suptitle("Validation images and their top-5 predictions (red: the true class)",
                 fontsize=10)
    return fig
