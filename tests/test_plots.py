"""Plots that must stay readable at ImageNet's 1000 classes, the learning-rate plot, and
the grid of augmentations."""

from __future__ import annotations

import keras
import numpy as np

from alexnet import plots
from alexnet.data import augment
from alexnet.data.augment import AUGMENTATIONS
from alexnet.data.batches import decode_square
from alexnet.harness.report import figures


def metrics_of(classes: int, seed: int = 0) -> dict:
    """metrics.json-like figures of ``classes`` classes, with three planted confusions."""
    rng = np.random.default_rng(seed)
    matrix = np.diag(rng.integers(20, 50, classes))
    for true, predicted, count in ((5, 700, 40), (700, 5, 30), (123, 456, 25)):
        matrix[true, predicted] = count
    names = [f"n{index:08d}" for index in range(classes)]
    accuracy = np.diag(matrix) / matrix.sum(axis=1)
    return {"class_names": names, "confusion_matrix": matrix.tolist(), "top1": 0.5,
            "per_class_accuracy": dict(zip(names, accuracy.tolist(), strict=True))}


def test_confusion_of_many_classes_keeps_the_most_confused():
    metrics = metrics_of(1000)
    assert plots.most_confused(np.array(metrics["confusion_matrix"]), 20) == [5, 700, 123, 456]
    figure = plots.confusion(metrics)
    axis = figure.axes[0]
    assert [label.get_text() for label in axis.get_yticklabels()] == [
        "n00000005", "n00000700", "n00000123", "n00000456"]
    assert axis.images[0].get_array().shape == (4, 4)
    assert "of 1000 classes" in axis.get_title()
    assert max(figure.get_size_inches()) < 10


def test_confusion_of_ten_classes_shows_them_all():
    names = [f"class{index}" for index in range(10)]
    metrics = {"class_names": names, "confusion_matrix": (np.eye(10, dtype=int) * 5).tolist(),
               "top1": 1.0}
    axis = plots.confusion(metrics).axes[0]
    assert axis.images[0].get_array().shape == (10, 10)


def test_per_class_of_many_classes_shows_the_best_and_worst():
    metrics = metrics_of(1000)
    figure = figures.per_class(metrics, max_classes=30)  # the PDF's figure (the harness)
    axis = figure.axes[0]
    labels = [label.get_text() for label in axis.get_yticklabels()]
    accuracy = metrics["per_class_accuracy"]
    ranked = sorted(accuracy, key=accuracy.get)
    assert len(labels) == 30 and labels[-1] in ranked[:15] and labels[0] in ranked[-15:]
    assert "n00000005" in labels  # the class that lost most to confusion is among the worst
    assert figure.get_size_inches()[1] < 12


def test_schedule_plot_follows_the_warm_up_and_the_cosine():
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=150, warmup_target=0.05, warmup_steps=50)
    line = plots.schedule(schedule, steps_per_epoch=10, epochs=20).axes[0].lines[0]
    epochs, rates = line.get_xdata(), line.get_ydata()
    assert abs(epochs[np.argmax(rates)] - 5) < 0.2 and abs(rates.max() - 0.05) < 1e-3
    assert rates[0] == 0 and rates[-1] < 1e-3
    flat = plots.schedule(0.01, steps_per_epoch=10, epochs=20).axes[0].lines[0].get_ydata()
    assert np.all(flat == 0.01)


def test_augmentation_grid(tmp_path, sample_photo):
    square = decode_square(sample_photo, augment.resize_size(128))
    fig = plots.augmentations(square, 128, columns=3)
    assert len([ax for ax in fig.axes if ax.images]) == 1 + len(AUGMENTATIONS) * 3 + 10
    fig.savefig(tmp_path / "grid.png")


def test_the_grid_draws_the_augmentation_that_trains(sample_photo):
    """The figure's crops are the pixels of augment.py's ``augmentation`` with the same
    seed: the one training runs, not another implementation of it."""
    square = decode_square(sample_photo, augment.resize_size(64))
    fig = plots.augmentations(square, 64, columns=3, seed=5)
    rows = fig.axes[1:]  # after the decoded square: each augmentation's row, in order
    width = len(fig.axes) // (len(AUGMENTATIONS) + 2)
    for index, name in enumerate(AUGMENTATIONS):
        layer = augment.augmentation(name, 64, seed=5)
        expected = [np.clip(np.asarray(layer(square)), 0, 255).astype("uint8")
                    for _ in range(3)]
        drawn = [np.asarray(ax.images[0].get_array())
                 for ax in rows[index * width:(index + 1) * width] if ax.images]
        drawn = [image for image in drawn if image.shape == (64, 64, 3)][-3:]
        assert len(drawn) == 3, name
        for mine, theirs in zip(drawn, expected, strict=True):
            np.testing.assert_array_equal(mine, theirs)
