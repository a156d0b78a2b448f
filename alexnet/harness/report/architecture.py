"""The model's side of the document, read from the Keras models themselves: the layer
table, the variants and where each puts its dropout, and the published ImageNet figures
that ours stand beside."""

from __future__ import annotations

import keras

from alexnet.harness.report import artifacts
from alexnet.harness.report import model_figures as figures
from alexnet.models import VARIANTS
from alexnet.models.summary import count_macs, layer_macs

# Published ImageNet (ILSVRC-2012 validation) figures, errors in percent.
PUBLISHED = [
    {"name": "Krizhevsky et al. 2012 (1 CNN)", "layout": "paper: two towers, LRN",
     "top1": 40.7, "top5": 18.2, "crops": "10-crop", "epochs": "~90"},
    {"name": "Caffe bvlc_alexnet", "layout": "paper", "top1": 42.9, "top5": 19.8,
     "crops": "centre", "epochs": "~72 (360k iterations of 256)"},
    {"name": "torchvision alexnet (IMAGENET1K_V1)", "layout": "owt: one tower, no LRN",
     "top1": 43.48, "top5": 20.93, "crops": "centre", "epochs": "90 (reference recipe)"},
]


def layer_rows(net: keras.Model) -> list[dict]:
    """The layer table: every layer but ReLU, with its output shape, parameters and
    multiply-accumulates per image (``summary.layer_macs``: convolution and FC layers)."""
    rows, macs_by_layer = [], layer_macs(net)
    for layer in net.layers:
        kind = figures.layer_kind(layer)
        if kind == "ReLU":
            continue
        macs = macs_by_layer.get(layer.name, 0)
        if kind == "Conv2D":
            kh, kw = layer.kernel_size
            kind = f"conv {kh}×{kw}" + (f"/{layer.strides[0]}" if layer.strides[0] > 1 else "")
            kind += f", groups {layer.groups}" if layer.groups > 1 else ""
        elif kind == "Dense":
            kind = "fully connected"
        else:
            kind = figures.layer_label(layer) if kind != "InputLayer" else "input"
        rows.append({"name": layer.name, "kind": kind,
                     "shape": "×".join(str(d) for d in layer.output.shape[1:]),
                     "params": f"{layer.count_params():,}",
                     "macs": f"{macs / 1e6:,.1f}" if macs else ""})
    return rows


def dropout_place(net: keras.Model) -> str:
    """Where a model's dropout sits, read from its layers: "after fc6 and fc7" (the
    paper: on those layers' outputs) or "before fc6 and fc7" (torchvision: on their inputs)."""
    layers = [(type(layer).__name__, layer.name) for layer in net.layers]
    after, before = [], []
    for i, (kind, _) in enumerate(layers):
        if kind != "Dropout":
            continue
        j = i - 1
        while j >= 0 and layers[j][0] in ("ReLU", "BatchNormalization", "Activation"):
            j -= 1
        after.append(layers[j][1] if j >= 0 and layers[j][0] == "Dense" else None)
        before.append(next((name for k, name in layers[i + 1:] if k == "Dense"), None))
    if after and all(after):
        return "after " + " and ".join(after)
    return "before " + " and ".join(name for name in before if name) if before else "none"


def variant_rows(trained: str | None) -> list[dict]:
    """The variants table: size, cost and layout of each variant for 1000 classes."""
    rows = []
    for name in VARIANTS:
        net = artifacts.reference_model(name)
        kinds = {type(layer).__name__ for layer in net.layers}
        rows.append({"name": name, "image_size": str(net.input_shape[1]),
                     "params": f"{net.count_params():,}",
                     "macs": f"{count_macs(net) / 1e9:.3f}",
                     "lrn": "yes" if "LocalResponseNormalization" in kinds else "no",
                     "bn": "yes" if "BatchNormalization" in kinds else "no",
                     "towers": "2" if any(getattr(la, "groups", 1) > 1
                                          for la in net.layers) else "1",
                     "dropout": dropout_place(net), "trained": name == trained})
    return rows
