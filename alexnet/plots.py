"""Matplotlib figures of a run (curves, errors, confusion, predictions, samples) and of
a model (architecture diagram, conv1 filters, nearest neighbours) for the PDF.

Each function returns a Figure (shown inline in the notebook); ``save_run_plots``
writes them all as PNG into a run folder.
"""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

if matplotlib.get_backend().lower() not in ("inline", "module://matplotlib_inline.backend_inline"):
    matplotlib.use("Agg")  # no display needed outside notebooks
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from alexnet import data, model  # noqa: E402
from alexnet.augmentation import AUGMENTATIONS, denormalize  # noqa: E402
from alexnet.inputs import tfdata  # noqa: E402  (None without TensorFlow)


def read_history(path: Path) -> dict[str, np.ndarray]:
    """``history.csv`` (one row per epoch, in Keras' CSVLogger format) as columns of floats."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path}: no epochs recorded")
    return {key: np.array([float(row[key]) for row in rows]) for key in rows[0]}


def curves(history: dict[str, np.ndarray]) -> plt.Figure:
    """Training and validation loss and accuracy per epoch."""
    epochs = history["epoch"] + 1
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, title in ((axes[0], "loss", "Loss"), (axes[1], "accuracy", "Top-1 accuracy")):
        ax.plot(epochs, history[key], "o-", label="train")
        ax.plot(epochs, history[f"val_{key}"], "o-", label="validation")
        ax.set(title=title, xlabel="epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def errors(history: dict[str, np.ndarray]) -> plt.Figure:
    """Top-1 and Top-5 validation (and training) error per epoch, as the paper reports."""
    epochs = history["epoch"] + 1
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("accuracy", "top-1"), ("top5_accuracy", "top-5")):
        ax.plot(epochs, 100 * (1 - history[f"val_{key}"]), "o-", label=f"{label} validation")
        ax.plot(epochs, 100 * (1 - history[key]), "--", alpha=0.6, label=f"{label} train")
    ax.set(title="Error rate", xlabel="epoch", ylabel="error (%)", ylim=(0, None))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def confusion(metrics: dict) -> plt.Figure:
    """Confusion matrix (rows: true class, columns: predicted), counts in the cells."""
    matrix = np.array(metrics["confusion_matrix"])
    names = data.display_names(metrics["class_names"])
    size = max(5, 0.55 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set(xlabel="predicted", ylabel="true",
           title=f"Confusion matrix (top-1 accuracy {metrics['top1']:.1%})")
    if len(names) <= 20:
        for (i, j), count in np.ndenumerate(matrix):
            ax.text(j, i, count, ha="center", va="center", fontsize=8,
                    color="white" if count > matrix.max() / 2 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def predictions(images: np.ndarray, probabilities: np.ndarray, labels: np.ndarray,
                class_names: list[str], count: int = 8) -> plt.Figure:
    """Validation images with their top-5 predictions (green: the true class)."""
    names = data.display_names(class_names)
    count = min(count, len(images))
    fig, axes = plt.subplots(2, count, figsize=(2.4 * count, 5.2),
                             gridspec_kw={"height_ratios": [1.3, 1]})
    axes = np.array(axes).reshape(2, count)
    for i in range(count):
        axes[0, i].imshow(denormalize(images[i]))
        axes[0, i].set_title(names[labels[i]], fontsize=9)
        axes[0, i].axis("off")
        top = np.argsort(-probabilities[i])[:5][::-1]
        colours = ["tab:green" if k == labels[i] else "tab:grey" for k in top]
        axes[1, i].barh(range(len(top)), probabilities[i][top], color=colours)
        axes[1, i].set_yticks(range(len(top)), [names[k] for k in top], fontsize=8)
        axes[1, i].set_xlim(0, 1)
        axes[1, i].tick_params(axis="x", labelsize=7)
    fig.suptitle("Validation images and their top-5 predictions")
    fig.tight_layout()
    return fig


def samples(images: np.ndarray, labels: np.ndarray, class_names: list[str],
            title: str = "Augmented training samples", columns: int = 8) -> plt.Figure:
    """A grid of (normalised) images with their class names."""
    names = data.display_names(class_names)
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.8 * columns, 2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, label in zip(axes.flat, images, labels, strict=False):
        ax.imshow(denormalize(image))
        ax.set_title(names[label], fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def save_run_plots(run_dir: Path, metrics: dict, net, inputs) -> list[Path]:
    """Writes every figure of a run as PNG into ``run_dir``; returns the paths. ``net``:
    the trained model; ``inputs``: the run's (inputs.py), which give the examples."""
    run_dir = Path(run_dir)
    history = read_history(run_dir / "history.csv")
    val_images, val_labels = inputs.examples(8, training=False)
    train_images, train_labels = inputs.examples(16, training=True)
    bare = model.unwrap(net)  # takes normalised crops, as the examples are
    figures = {
        "curves.png": curves(history),
        "errors.png": errors(history),
        "confusion.png": confusion(metrics),
        "predictions.png": predictions(val_images, bare.predict(val_images, verbose=0),
                                       val_labels, inputs.class_names),
        "augmented.png": samples(train_images, train_labels, inputs.class_names),
    }
    paths = []
    for name, fig in figures.items():
        fig.savefig(run_dir / name, dpi=100)
        plt.close(fig)
        paths.append(run_dir / name)
    return paths


def per_class(metrics: dict) -> plt.Figure:
    """Validation accuracy of each class, with the overall Top-1 accuracy as a line."""
    names = data.display_names(metrics["class_names"])
    accuracy = [metrics["per_class_accuracy"][name] for name in metrics["class_names"]]
    fig, ax = plt.subplots(figsize=(6.5, 0.28 * len(names) + 1.2))
    bars = ax.barh(range(len(names)), accuracy, color="tab:blue")
    ax.bar_label(bars, [f"{a:.0%}" for a in accuracy], padding=2, fontsize=8)
    ax.axvline(metrics["top1"], color="tab:red", lw=1, label=f"overall {metrics['top1']:.1%}")
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set(xlim=(0, 1.1), xlabel="top-1 accuracy (validation)")
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def conv1_filters(kernel: np.ndarray, columns: int | None = None) -> plt.Figure:
    """The first layer's kernels (HWIO, RGB input) as colour patches, as the paper's
    Figure 3; each kernel is scaled to its own range so that its pattern shows."""
    kernel = np.asarray(kernel, "float32")
    if kernel.ndim != 4 or kernel.shape[2] != 3:
        raise ValueError(f"conv1 kernel must be HxWx3xN (HWIO, RGB), got shape {kernel.shape}")
    size, count = kernel.shape[0], kernel.shape[3]
    columns = columns or (16 if count % 16 == 0 and count > 64 else 8)
    rows = int(np.ceil(count / columns))
    cell = size + 1  # one-pixel white gaps
    mosaic = np.ones((rows * cell + 1, columns * cell + 1, 3), "float32")
    for n in range(count):
        patch = kernel[..., n]
        patch = (patch - patch.min()) / max(float(np.ptp(patch)), 1e-12)
        r, c = divmod(n, columns)
        mosaic[1 + r * cell: r * cell + cell, 1 + c * cell: c * cell + cell] = patch
    fig, ax = plt.subplots(figsize=(6.5, 6.5 * mosaic.shape[0] / mosaic.shape[1] + 0.4))
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_title(f"conv1: {count} kernels of {size}×{size}×3", fontsize=10)
    ax.axis("off")
    fig.tight_layout()
    return fig


def neighbours(queries: list[np.ndarray], found: list[list[np.ndarray | None]],
               query_titles: list[str], found_titles: list[list[str]]) -> plt.Figure:
    """One validation image per row, then its nearest training images (the paper's
    Figure 4); a missing image file leaves its cell empty with a note."""
    columns = 1 + max(len(row) for row in found)
    fig, axes = plt.subplots(len(queries), columns, squeeze=False,
                             figsize=(6.5, 6.5 / columns * len(queries) * 1.3))
    for r, (query, row) in enumerate(zip(queries, found, strict=True)):
        for c, ax in enumerate(axes[r]):
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                image, title = query, query_titles[r]
                for spine in ax.spines.values():
                    spine.set(color="tab:red", linewidth=2)
            elif c - 1 < len(row):
                image, title = row[c - 1], found_titles[r][c - 1]
            else:
                ax.axis("off")
                continue
            if image is None:
                ax.text(0.5, 0.5, "file\nnot found", ha="center", va="center", fontsize=7,
                        transform=ax.transAxes)
            else:
                ax.imshow(image)
            ax.set_title(title, fontsize=7, linespacing=1.1)
    fig.tight_layout(pad=0.3, h_pad=0.3, w_pad=0.3)
    return fig


def _shape(shape) -> str:
    return "×".join(str(d) for d in shape[1:])


def layer_label(layer) -> str:
    """A short label for a layer that follows a convolution or FC layer."""
    kind = type(layer).__name__
    if kind == "MaxPooling2D":
        return f"max-pool {layer.pool_size[0]}×{layer.pool_size[1]}/{layer.strides[0]}"
    if kind == "Dropout":
        return f"dropout {layer.rate:g}"
    if kind == "ZeroPadding2D":
        return f"pad {layer.padding[0][0]}"
    if kind == "AdaptiveAveragePooling2D":
        return "avg-pool to {}×{}".format(*layer.output.shape[1:3])
    if kind == "Activation":
        return layer.activation.__name__
    labels = {"ReLU": "ReLU", "BatchNormalization": "BN", "LocalResponseNormalization": "LRN",
              "Flatten": "flatten"}
    return labels.get(kind, kind)


def layer_kind(layer) -> str:
    """The layer's class name; convolutions (also ``GroupedConv2D``) are "Conv2D"."""
    is_conv = any(cls.__name__ == "Conv2D" for cls in type(layer).__mro__)
    return "Conv2D" if is_conv else type(layer).__name__


def stages(net) -> list[dict]:
    """The model's layer chain grouped into stages: the input, then each Conv2D or Dense
    layer with the layers that follow it (ReLU, LRN, pooling, dropout...)."""
    found = []
    for layer in net.layers:
        kind = layer_kind(layer)
        if kind in ("InputLayer", "Conv2D", "Dense"):
            stage = {"name": layer.name, "kind": kind, "groups": getattr(layer, "groups", 1),
                     "shape": layer.output.shape, "ops": [], "out": layer.output.shape}
            if kind == "Conv2D":
                k, s = layer.kernel_size, layer.strides
                stage["detail"] = f"{k[0]}×{k[1]}" + (f"/{s[0]}" if s[0] > 1 else "")
            found.append(stage)
        elif found:
            found[-1]["ops"].append(layer_label(layer))
            found[-1]["out"] = layer.output.shape
    return found


def architecture(net) -> plt.Figure:
    """A block diagram drawn from the model's own layers: one row per convolution or FC
    layer with its output shape and what follows it. Grouped convolutions split the row
    into towers; lines show which blocks feed which, so the towers' crossings show."""
    rows = stages(net)
    for i, row in enumerate(rows):  # a row is split when it or the next layer is grouped
        after = rows[i + 1]["groups"] if i + 1 < len(rows) else 1
        row["split"] = row["groups"] if row["groups"] > 1 else after
    towered = any(row["split"] > 1 for row in rows)
    row_h, box_h, boxes_w, width = 0.72, 0.44, 3.9, 6.6
    fig = plt.figure(figsize=(width, row_h * (len(rows) - 1) + box_h + (0.45 if towered else 0.1)))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, width), ylim=(-row_h * (len(rows) - 1) - box_h / 2 - 0.05,
                                  box_h / 2 + (0.4 if towered else 0.05)))
    ax.axis("off")
    colours = {"InputLayer": "#e5e5e5", "Conv2D": "#cfe2f3", "Dense": "#fde9c9"}
    gap = 0.2
    spans = []
    for i, row in enumerate(rows):
        y, split = -i * row_h, row["split"]
        w = (boxes_w - gap * (split - 1)) / split
        spans.append([(0.05 + t * (w + gap), w) for t in range(split)])
        channels = row["shape"][-1] // split
        shape = _shape(row["shape"][:-1] + (channels,))
        if row["kind"] == "InputLayer":
            text = f"input  {shape}"
        elif row["kind"] == "Conv2D":
            text = f"{row['name']}  {row['detail']}, {channels} filters\n{shape}"
        else:
            text = f"{row['name']}  {channels} units"
        final = i == len(rows) - 1
        for x, w_ in spans[-1]:
            ax.add_patch(matplotlib.patches.FancyBboxPatch(
                (x, y - box_h / 2), w_, box_h, boxstyle="round,pad=0,rounding_size=0.05",
                facecolor="#d9ead3" if final else colours[row["kind"]], edgecolor="#555555"))
            ax.text(x + w_ / 2, y, text, ha="center", va="center", fontsize=7.5)
        ops = " · ".join(row["ops"])
        if row["out"] != row["shape"] and row["kind"] != "InputLayer":
            ops += f" → {_shape(row['out'])}"
        ax.text(boxes_w + 0.2, y, "\n".join(_wrap(ops, 40)), ha="left", va="center",
                fontsize=7.5)
        previous = rows[i - 1]["split"] if i > 0 else 1
        if previous > 1:  # say how the towers connect, beside the arrows
            ax.text(boxes_w + 0.2, y + row_h / 2, f"within each tower (groups={previous})"
                    if row["groups"] == previous else "connects across the towers",
                    ha="left", va="center", fontsize=7, style="italic", color="#7a3b00")
        if i > 0:
            for x0, w0 in spans[i - 1]:
                for x1, w1 in spans[i]:
                    if row["groups"] > 1 and x0 != x1:
                        continue  # grouped: each tower feeds only itself
                    ax.annotate("", (x1 + w1 / 2, y + box_h / 2),
                                (x0 + w0 / 2, y + row_h - box_h / 2),
                                arrowprops={"arrowstyle": "-|>", "color": "#555555", "lw": 0.8,
                                            "shrinkA": 0, "shrinkB": 0})
    if towered:
        first = next(i for i, row in enumerate(rows) if row["split"] > 1)
        for t, (x, w) in enumerate(spans[first]):
            ax.text(x + w / 2, box_h / 2 + 0.2, f"tower {t + 1}", ha="center", va="center",
                    fontsize=8, weight="bold")
    return fig


def _wrap(text: str, width: int) -> list[str]:
    """Splits ``a · b · c`` at its separators into lines of at most ``width`` characters."""
    lines: list[str] = []
    for part in text.split(" · "):
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return lines
def augmentations(path: str | Path, image_size: int = 224, columns: int = 5) -> plt.Figure:
    """One image under each training augmentation (``columns`` draws per row), and
    the paper's ten test crops."""
    contents = tfdata.read_file(path)
    rows = {name: [tfdata.train_transform(contents, image_size, spec, encoded=True)
                   for _ in range(columns)] for name, spec in AUGMENTATIONS.items()}
    rows["10-crop"] = list(tfdata.ten_crop_transform(contents, image_size, encoded=True))
    width = max(columns, 10)
    fig, axes = plt.subplots(len(rows) + 1, width, figsize=(1.5 * width, 1.7 * (len(rows) + 1)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    axes[0, 0].imshow(tfdata.decode(contents).numpy())
    axes[0, 0].set_title("original", fontsize=9)
    for row, (name, images) in zip(axes[1:], rows.items(), strict=True):
        for ax, image in zip(row, images, strict=False):
            ax.imshow(np.clip(image.numpy(), 0, 255).astype("uint8"))
        row[0].set_title(name, fontsize=9, loc="left")
    fig.suptitle(f"{Path(path).name}: training augmentations and the ten test crops")
    fig.tight_layout()
    return fig
