"""The headline run's own parts of ``report.json`` that are not in build.py's tables, as
data for a document written in two languages: what its curves did (best epoch, largest
fall, last gap), its errors (weakest and strongest classes, largest confusions, class
names in English and Korean), the floor of its label-smoothed loss, and the settings of
the recipes it is compared with.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from alexnet import reading
from alexnet.data.names import display_names, korean_names
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
    names, korean = display_names(wnids), korean_names(wnids)
    ko = dict(zip(names, korean, strict=True))
    accuracy = [(metrics["per_class_accuracy"].get(w), w, n) for w, n in zip(wnids, names,
                                                                              strict=True)]
    ranked = sorted((a for a in accuracy if a[0] is not None), key=lambda a: a[0])

    def entries(chosen):
        return [{"class": n, "class_ko": ko[n], "wnid": w, "accuracy": evidence.percent(a)}
                for a, w, n in chosen]

    matrix = np.asarray(metrics["confusion_matrix"], float)
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    cells = [np.unravel_index(k, off.shape) for k in np.argsort(-off, axis=None, kind="stable")]
    strongest = sorted(ranked, key=lambda a: -a[0])[:2]  # ties: in the classes' order
    return {"weakest": entries(ranked[:3]), "strongest": entries(strongest),
            "confusions": [{"true": names[i], "predicted": names[j],
                            "true_ko": korean[i], "predicted_ko": korean[j],
                            "true_wnid": wnids[i], "predicted_wnid": wnids[j],
                            "count": f"{int(off[i, j]):,}",
                            "share": evidence.percent(off[i, j] / matrix[i].sum())}
                           for i, j in cells[:5] if off[i, j] > 0],
            "mistakes": mistakes}




def curve(history: dict) -> dict:
    """What the run's validation curve did, as data (reading.curves words the same in the
    notebook): the best epoch and whether it is the last; the largest fall below the best
    so far of more than reading.COLLAPSE (its epoch, points, whether the learning rate was
    at least half its peak then, the epoch that regained the best or None); and the last
    epoch's training minus validation accuracy, in points, with its kind: "below",
    "equal" (to one decimal), "small" (up to reading.GAP) or "large"."""
    val, train = np.asarray(history["val_accuracy"]), np.asarray(history["accuracy"])
    best = int(np.argmax(val))
    drops = [(e, np.max(val[:e]) - val[e]) for e in range(1, len(val))
             if np.max(val[:e]) - val[e] > reading.COLLAPSE]
    drop = None
    if drops:
        epoch, points = max(drops, key=lambda d: d[1])
        before = np.max(val[:epoch])
        rate = history.get("learning_rate")
        back = next((e for e in range(epoch + 1, len(val)) if val[e] >= before), None)
        drop = {"epoch": str(epoch + 1), "points": f"{100 * points:.1f}",
                "peak_rate": bool(rate is not None and np.all(np.isfinite(rate))
                                  and rate[epoch] >= 0.5 * np.max(rate)),
                "regained": None if back is None else str(back + 1)}
    gap = round(100 * float(train[-1] - val[-1]), 1)
    kind = ("below" if gap < 0 else "equal" if gap == 0 else
            "small" if gap <= 100 * reading.GAP else "large")
    return {"best_epoch": str(best + 1), "epochs": str(len(val)),
            "peak_last": best == len(val) - 1, "drop": drop,
            "collapse": f"{100 * reading.COLLAPSE:.0f}", "limit": f"{100 * reading.GAP:.0f}",
            "gap": f"{abs(gap):.1f}", "gap_kind": kind}
