"""Plots that must stay readable at ImageNet's 1000 classes, the learning-rate plot, and
the grid of augmentations."""

from __future__ import annotations

import keras
import matplotlib
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
    seed, given a batch of the square's copies: the one training runs, not another
    implementation of it."""
    square = decode_square(sample_photo, augment.resize_size(64))
    fig = plots.augmentations(square, 64, columns=3, seed=5)
    rows = fig.axes[1:]  # after the decoded square: each augmentation's row, in order
    width = len(fig.axes) // (len(AUGMENTATIONS) + 2)
    for index, name in enumerate(AUGMENTATIONS):
        layer = augment.augmentation(name, 64, seed=5)
        expected = np.clip(np.asarray(layer(np.repeat(square[None], 3, axis=0))), 0, 255
                           ).astype("uint8")
        drawn = [np.asarray(ax.images[0].get_array())
                 for ax in rows[index * width:(index + 1) * width] if ax.images]
        drawn = [image for image in drawn if image.shape == (64, 64, 3)][-3:]
        assert len(drawn) == 3, name
        for mine, theirs in zip(drawn, expected, strict=True):
            np.testing.assert_array_equal(mine, theirs)


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def test_top5_bars_draws_each_image_with_its_five_most_probable_classes(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 24, 24, 3)).astype("uint8")
    probabilities = softmax(rng.normal(size=(6, 7)) * 2)
    labels = np.array([int(np.argmax(p)) for p in probabilities])  # right: top of the bars
    labels[1] = int(np.argsort(probabilities[1])[0])  # the least probable: not in the top 5
    names = [f"class{k}" for k in range(7)]
    fig = plots.top5_bars(images, probabilities, labels, names, count=8, columns=4)
    image_axes = [ax for ax in fig.axes if ax.images]
    bar_axes = [ax for ax in fig.axes if ax.patches]
    assert len(image_axes) == len(bar_axes) == 6  # count is capped at the images given
    for i, (image_ax, bars_ax) in enumerate(zip(image_axes, bar_axes, strict=True)):
        assert image_ax.get_title() == names[labels[i]]
        order = np.argsort(-probabilities[i])[:5]
        widths = [bar.get_width() for bar in bars_ax.patches]
        assert np.allclose(widths, probabilities[i][order])
        ticks = [label.get_text() for label in bars_ax.get_yticklabels()]
        assert ticks == [names[k] for k in order]
        assert bars_ax.yaxis_inverted()  # the most probable on top
        red = [names[k] for k, bar in zip(order, bars_ax.patches, strict=True)
               if bar.get_facecolor() == matplotlib.colors.to_rgba(plots.TRUE_CLASS)]
        if labels[i] in order:
            assert red == [names[labels[i]]] and bars_ax.get_xlabel() == ""
        else:
            assert red == [] and "not in the top 5" in bars_ax.get_xlabel()
    assert red == [names[labels[5]]]
    assert "top-5" in fig.texts[0].get_text()
    fig.savefig(tmp_path / "top5.png")


def test_top5_bars_with_fewer_than_five_classes_shows_them_all():
    probabilities = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    fig = plots.top5_bars(np.zeros((2, 8, 8, 3)), probabilities, np.array([2, 0]),
                          ["a", "b", "c"], columns=4)
    bar_axes = [ax for ax in fig.axes if ax.patches]
    assert [len(ax.patches) for ax in bar_axes] == [3, 3]
    assert [t.get_text() for t in bar_axes[0].get_yticklabels()] == ["b", "c", "a"]


def test_errors_are_one_minus_the_accuracies_in_percent():
    history = {"epoch": np.arange(4.0), "accuracy": np.array([0.2, 0.4, 0.6, 0.7]),
               "val_accuracy": np.array([0.3, 0.5, 0.55, 0.6]),
               "top5_accuracy": np.array([0.6, 0.8, 0.9, 0.95]),
               "val_top5_accuracy": np.array([0.7, 0.85, 0.9, 0.92])}
    axis = plots.errors(history).axes[0]
    lines = {line.get_label(): line for line in axis.lines}
    assert set(lines) == {"top-1 validation", "top-1 training", "top-5 validation",
                          "top-5 training"}
    for label, key in (("top-1 validation", "val_accuracy"), ("top-1 training", "accuracy"),
                       ("top-5 validation", "val_top5_accuracy"),
                       ("top-5 training", "top5_accuracy")):
        assert np.allclose(lines[label].get_xdata(), [1, 2, 3, 4])  # epochs count from 1
        assert np.allclose(lines[label].get_ydata(), 100 * (1 - history[key]))
        assert lines[label].get_linestyle() == ("-" if "validation" in label else "--")
    assert axis.get_ylim()[0] == 0 and axis.get_ylabel() == "error (%)"
