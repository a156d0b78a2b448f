"""Top-1/Top-5 as results: hits that do not depend on how ties are broken, ties counted,
and no top-5 where every class is in the top five."""

from __future__ import annotations

import numpy as np

from alexnet import evaluate

CLASSES = [f"c{i}" for i in range(8)]


def test_clear_predictions_score_as_usual():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(8), size=200)
    labels = rng.integers(0, 8, 200)
    metrics = evaluate.metrics_from_predictions(probabilities, labels, CLASSES)
    ranked = np.argsort(-probabilities, axis=1)
    assert metrics["top1"] == np.mean(ranked[:, 0] == labels)
    assert metrics["top5"] == np.mean((ranked[:, :5] == labels[:, None]).any(axis=1))
    assert metrics["top1_tied"] == metrics["top5_tied"] == 0
    assert "ties" not in evaluate.summary(metrics)


def test_ties_never_score_and_are_counted():
    """A diverged network: all probability on class 0, the rest 0 (ties among them)."""
    probabilities = np.zeros((8, 8))
    probabilities[:, 0] = 1.0
    labels = np.arange(8)
    metrics = evaluate.metrics_from_predictions(probabilities, labels, CLASSES)
    # only class 0 is a clear hit: the others sit in a tie of seven for ranks 2-8
    assert metrics["top1"] == metrics["top5"] == 1 / 8
    assert metrics["top1_tied"] == 0 and metrics["top5_tied"] == 7
    assert "(at least; 7 images decided by ties)" in evaluate.summary(metrics)


def test_no_top5_with_five_classes_or_fewer():
    probabilities = np.eye(5)[[0, 1, 2, 3, 4, 0]]
    metrics = evaluate.metrics_from_predictions(probabilities, np.array([0, 1, 2, 3, 4, 1]),
                                                CLASSES[:5])
    assert metrics["top5"] is None and metrics["top5_error"] is None
    assert metrics["top1"] == 5 / 6
    assert "top-5 error not a result (5 classes)" in evaluate.summary(metrics)
