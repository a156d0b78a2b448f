"""The headline run's own parts of ``report.json`` that are not in build.py's tables, as
data for a document written in two languages: its errors (weakest and strongest classes,
largest confusions), the floor of its label-smoothed loss, and the settings of the
recipes it is compared with.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from alexnet.data.names import display_names
from alexnet.harness.report import evidence
from alexnet.recipes import RECIPES, from_recipe


def recipe_settings() -> dict[str, dict]:
    """Each recipe's TrainConfig fields as strings (booleans and None stay JSON's own,
    for the document to word)."""
    def text(value):
        if value is None or isinstance(value, bool):
            return value
        return f"{value:g}" if isinstance(value, float) else str(value)

    return {name: {key: text(value) for key, value in
                   dataclasses.asdict(from_recipe(name)).items()} for name in RECIPES}


def smoothing_floor(config: dict) -> str:
    """The smallest cross-entropy a model can reach against label-smoothed targets (ε
    over K classes): the entropy of the smoothed target. The training and validation
    losses in history.csv carry the smoothing, so they sit above it, while metrics.json's
    plain cross-entropy can go below."""
    eps, classes = float(config.get("label_smoothing") or 0), len(config["class_names"])
    high, low = 1 - eps + eps / classes, eps / classes
    entropy = -high * math.log(high) - ((classes - 1) * low * math.log(low) if low else 0)
    return f"{entropy + 0.0:.2f}"  # + 0.0: no "-0.00" without smoothing


def errors(metrics: dict, mistakes: bool) -> dict:
    """The headline run's weakest (3) and strongest (2) classes, its five largest
    confusions (share: of the true class's images), and whether the mistakes figure
    is there."""
    wnids = metrics["class_names"]
    names = display_names(wnids)
    accuracy = [(metrics["per_class_accuracy"].get(w), w, n) for w, n in zip(wnids, names,
                                                                              strict=True)]
    ranked = sorted((a for a in accuracy if a[0] is not None), key=lambda a: a[0])

    def entries(chosen):
        return [{"class": n, "wnid": w, "accuracy": evidence.percent(a)} for a, w, n in chosen]

    matrix = np.asarray(metrics["confusion_matrix"], float)
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    cells = [np.unravel_index(k, off.shape) for k in np.argsort(-off, axis=None, kind="stable")]
    strongest = sorted(ranked, key=lambda a: -a[0])[:2]  # ties: in the classes' order
    return {"weakest": entries(ranked[:3]), "strongest": entries(strongest),
            "confusions": [{"true": names[i], "predicted": names[j],
                            "true_wnid": wnids[i], "predicted_wnid": wnids[j],
                            "count": f"{int(off[i, j]):,}",
                            "share": evidence.percent(off[i, j] / matrix[i].sum())}
                           for i, j in cells[:5] if off[i, j] > 0],
            "mistakes": mistakes}


