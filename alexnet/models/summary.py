"""What a built model holds, read from its layers: multiply-accumulates, where LRN,
BatchNorm and grouped convolutions sit, and the variants side by side."""

from __future__ import annotations

import keras
from keras import layers

from alexnet.models import VARIANTS
from alexnet.models.alexnet import build
from alexnet.models.layers import LocalResponseNormalization


def count_macs(model: keras.Model) -> int:
    """Multiply-accumulates per image in the convolution and dense layers.

    A grouped convolution costs 1/groups of a full one. ReLU, LRN, pooling and
    BatchNorm are left out: a few million operations, under 1% of the total.
    """
    return sum(layer_macs(model).values())


def layer_macs(model: keras.Model) -> dict[str, int]:
    """``count_macs`` layer by layer: layer name -> multiply-accumulates per image, for
    each convolution and dense layer (the only layers counted)."""
    macs = {}
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw, c_in_per_group, _ = layer.kernel.shape
            macs[layer.name] = int(h * w * c_out * kh * kw * c_in_per_group)
        elif isinstance(layer, layers.Dense):
            macs[layer.name] = int(layer.kernel.shape[0] * layer.kernel.shape[1])
    return macs


def layout(model: keras.Model) -> dict[str, list[str]]:
    """Where LRN, BatchNorm and grouped convolutions sit, read from the built model:
    the conv/FC layer each LRN or BatchNorm follows, and the grouped (two-tower) layers."""
    where = {"lrn": [], "batchnorm": [], "grouped": []}
    last = None
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D | layers.Dense):
            last = layer.name
            if getattr(layer, "groups", 1) > 1:
                where["grouped"].append(layer.name)
        elif isinstance(layer, LocalResponseNormalization):
            where["lrn"].append(last)
        elif isinstance(layer, layers.BatchNormalization):
            where["batchnorm"].append(last)
    return where


def compare_variants(num_classes: int = 1000) -> list[dict]:
    """One row per variant at its default input size: parameters, MACs per image and
    where LRN, BatchNorm and grouping sit (for the notebook's side-by-side table)."""
    rows = []
    for variant in VARIANTS:
        net = build(variant, num_classes)
        rows.append({"variant": variant, "input": f"{net.input_shape[1]}x{net.input_shape[2]}",
                     "parameters": net.count_params(), "macs": count_macs(net),
                     **{key: ", ".join(names) or "-" for key, names in layout(net).items()}})
    return rows


def comparison_table(rows: list[dict]) -> str:
    """``compare_variants()`` rows as a Markdown table (MACs in G)."""
    header = ["variant", "input", "parameters", "MACs", "LRN after", "BatchNorm after",
              "grouped (groups=2)"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in rows:
        cells = [row["variant"], row["input"], f"{row['parameters']:,}",
                 f"{row['macs'] / 1e9:.3f} G", row["lrn"], row["batchnorm"], row["grouped"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
