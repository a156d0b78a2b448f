"""Matplotlib figures of a *model*: the architecture diagram drawn from its own layers,
its conv1 kernels (the paper's Figure 3) and the nearest neighbours of its FC7 features
(Figure 4), for the PDF. Figures of a run are in plots.py.

Each function returns a Figure.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch
from PIL import Image

from alexnet.data.names import display_names
from alexnet.features import mosaic as _mosaic
from alexnet.harness.report.artifacts import resolve_image


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
            ax.add_patch(FancyBboxPatch(
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


def conv1_side_by_side(kernels: list[tuple[str, np.ndarray]], rows: int = 8) -> plt.Figure:
    """Several runs' conv1 kernels side by side, each in ``rows`` rows (so that 64 and 96
    kernels print at the same size), titled with its label."""
    mosaics = [(label, _mosaic(kernel, int(np.ceil(np.shape(kernel)[-1] / rows))))
               for label, kernel in kernels]
    widths = [mosaic.shape[1] for _, mosaic in mosaics]
    height = max(mosaic.shape[0] for _, mosaic in mosaics)
    width = min(6.5, 3.4 * len(mosaics))  # inches, as printed: one alone at half the page
    fig, axes = plt.subplots(1, len(mosaics), squeeze=False, width_ratios=widths,
                             figsize=(width, width * height / sum(widths) + 0.5))
    for ax, (label, mosaic) in zip(axes[0], mosaics, strict=True):
        ax.imshow(mosaic, interpolation="nearest")
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig


NEIGHBOURS_LAYOUT = {"pad": 0.3, "h_pad": 0.3, "w_pad": 0.3}


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
    fig.tight_layout(**NEIGHBOURS_LAYOUT)
    return fig


def _display_image(path: Path, size: int = 128) -> np.ndarray:
    """An image file as a square uint8 RGB thumbnail (centre crop), for figures."""
    with Image.open(path) as image:
        image = image.convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        return np.asarray(image.crop((left, top, left + side, top + side)).resize((size, size)))


def _class_of(path: str, class_names: list[str]) -> str:
    """The class folder in ``path`` as a display name ("?" when there is none)."""
    for part in reversed(Path(path).parts[:-1]):
        if part in class_names:
            return display_names([part])[0]
    return "?"


def neighbours_figure(record: dict, class_names: list[str], roots: list[Path],
                      notes: list[str], rows: int = 6, columns: int = 5):
    """The nearest-neighbour figure from ``neighbours.json``; missing image files are
    counted and named in ``notes``; None when no query image can be found."""
    missing, queries, found, query_titles, found_titles = [], [], [], [], []
    for entry in record["queries"]:
        if len(queries) == rows:
            break
        query = resolve_image(entry["file"], roots)
        if query is None:
            missing.append(entry["file"])
            continue
        row, titles = [], []
        for neighbour in entry["neighbours"][:columns]:
            path = resolve_image(neighbour["file"], roots)
            if path is None:
                missing.append(neighbour["file"])
            row.append(None if path is None else _display_image(path))
            score = (f"d {neighbour['distance']:.3g}" if "distance" in neighbour
                     else f"cos {neighbour['similarity']:.3f}")  # Euclidean or cosine
            titles.append(f"{_class_of(neighbour['file'], class_names)}\n{score}")
        queries.append(_display_image(query))
        query_titles.append(f"{_class_of(entry['file'], class_names)}\nquery")
        found.append(row)
        found_titles.append(titles)
    if missing:
        where = ", ".join(str(r) for r in roots)
        notes.append(f"neighbours.json: {len(missing)} image file(s) not found, e.g. "
                     f"{missing[0]} (looked under: {where}; pass --data DATASET_ROOT)")
    if not queries:
        return None
    return neighbours(queries, found, query_titles, found_titles)
