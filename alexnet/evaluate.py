"""Evaluation: loss, Top-1/Top-5 accuracy and error, per-class accuracy and the confusion
matrix, a test-time flip and the paper's 10-crop test. Models take raw RGB pixels: no
preprocessing here.
"""

from __future__ import annotations

import sys

import keras
import numpy as np

from alexnet.data import batches
from alexnet.data.splits import Split

# The evaluations of several crops an image, in words (``summary``, the progress lines).
CROP_WORDS = {"flip": "centre + mirror", "ten_crop": "10-crop"}


def check_class_count(net: keras.Model, class_names: list[str], source: str) -> None:
    """A model's outputs must pair one to one with the class names, else every label
    and metric after it is silently wrong."""
    outputs = net.output_shape[-1]
    if outputs != len(class_names):
        raise ValueError(f"the model has {outputs} outputs but {source} names "
                         f"{len(class_names)} classes")


def predict(net: keras.Model, dataset, batches: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities and integer labels for every example of a batched
    ``(image, one-hot label)`` dataset, with a progress bar. Examples of several crops
    (``(batch, crops, h, w, 3)``, ``batches.evaluation(crops="ten")``) get the mean of their
    crops' softmax outputs, as in the paper. ``batches``: how many to expect, for the
    progress bar (default: the dataset's length where it knows it)."""
    probabilities, labels = [], []
    if batches is None and hasattr(dataset, "__len__"):
        batches = len(dataset)
    # A live bar in a terminal; in a notebook or a log file one line at the end.
    live = sys.stdout.isatty()
    progress = keras.utils.Progbar(batches, unit_name="batch", interval=2.0,
                                   verbose=1 if live else 2)
    for images, one_hot in dataset:
        if len(images.shape) == 5:
            count, crops = images.shape[:2]
            flat = net.predict_on_batch(keras.ops.reshape(images, (-1, *images.shape[2:])))
            crops = np.asarray(flat).reshape(count, crops, -1)
            probabilities.append(crops.mean(axis=1, dtype="float64"))
        else:
            probabilities.append(np.asarray(net.predict_on_batch(images), "float64"))
        labels.append(np.argmax(np.asarray(one_hot), axis=-1))
        progress.add(1)
    return np.concatenate(probabilities), np.concatenate(labels)


def metrics_from_predictions(probabilities: np.ndarray, labels: np.ndarray,
                             class_names: list[str]) -> dict:
    """Loss, Top-1/Top-5 accuracy and error, per-class accuracy, confusion matrix.

    A hit counts only when the true class is among the top k whichever way ties are
    broken: a network that gives several classes the same probability (a diverged one
    gives all of them 0 but one) does not score by the order of the class list.
    ``top1_tied``/``top5_tied`` count the examples a tie would decide; with any, the
    figure is a lower bound and ``summary`` says so. With five classes or fewer, every
    class is in the top five: ``top5`` is None, not a result."""
    num_classes = len(class_names)
    true_probability = probabilities[np.arange(len(labels)), labels]
    above = (probabilities > true_probability[:, None]).sum(axis=1)
    level = (probabilities == true_probability[:, None]).sum(axis=1) - 1  # others tied with it
    predicted = np.argmax(probabilities, axis=1)
    confusion = np.zeros((num_classes, num_classes), "int64")
    np.add.at(confusion, (labels, predicted), 1)
    counts = confusion.sum(axis=1)  # a class without images has no accuracy (None)
    per_class = [float(hits / count) if count else None
                 for hits, count in zip(confusion.diagonal(), counts, strict=True)]
    metrics = {"examples": int(len(labels)),
               "loss": float(np.mean(-np.log(np.clip(true_probability, 1e-12, 1.0))))}
    for k in (1, 5):
        if k == 5 and num_classes <= 5:
            metrics |= {"top5": None, "top5_error": None, "top5_tied": 0}
            continue
        hit = float(np.mean(above + level < k))
        metrics |= {f"top{k}": hit, f"top{k}_error": 1 - hit,
                    f"top{k}_tied": int(np.sum((above < k) & (above + level >= k)))}
    return {**metrics,
            "per_class_accuracy": dict(zip(class_names, per_class, strict=True)),
            "class_names": list(class_names),
            "confusion_matrix": confusion.tolist()}


def evaluate(net: keras.Model, dataset, class_names: list[str],
             batches: int | None = None) -> dict:
    """Metrics of ``net`` over a batched evaluation dataset (``batches.evaluation``)."""
    probabilities, labels = predict(net, dataset, batches)
    return metrics_from_predictions(probabilities, labels, class_names)


def evaluate_split(net: keras.Model, data: batches.Squares | Split, image_size: int,
                   batch_size: int = 128, ten_crop: bool = True, flip: bool = False) -> dict:
    """The metrics of a trained network (raw pixels in) on validation images (squares in
    memory, or a split on disk): the centre crop; with ``flip``, under ``"flip"``, the
    centre crop and its mirror image, their softmax averaged (a test-time flip); with
    ``ten_crop``, under ``"ten_crop"``, the paper's 10-crop figures (the four corners, the
    centre and their mirror images, sec. 4.1). Several crops an image take a batch as many
    times smaller, so the memory stays the same. The one place these evaluations are made."""
    split = data.split if isinstance(data, batches.Squares) else data
    check_class_count(net, split.class_names, split.source or "the data")
    count = len(data)
    metrics = evaluate(net, batches.evaluation(data, batch_size, image_size),
                       split.class_names, -(-count // batch_size))
    several = [("flip", "flip", 2)] * flip + [("ten_crop", "ten", 10)] * ten_crop
    for key, crops, views in several:
        size = max(1, batch_size // views)
        print(f"{CROP_WORDS[key].capitalize()} ({views} crops an image):")
        metrics[key] = headline(evaluate(net, batches.evaluation(data, size, image_size, crops),
                                         split.class_names, -(-count // size)))
    return metrics


def headline(metrics: dict) -> dict:
    """The headline figures of an evaluation of several crops, kept under
    ``metrics["flip"]`` or ``metrics["ten_crop"]`` beside the centre-crop figures."""
    return {key: metrics[key] for key in ("examples", "loss", "top1", "top5", "top1_error",
                                          "top5_error", "top1_tied", "top5_tied")}


def error_text(metrics: dict, k: int) -> str:
    """``top-k error 12.34%``, or why there is no such figure."""
    if metrics.get(f"top{k}") is None:
        return f"top-{k} error not a result ({len(metrics['class_names'])} classes)" \
            if "class_names" in metrics else f"top-{k} error not a result"
    text = f"top-{k} error {metrics[f'top{k}_error']:.2%}"
    tied = metrics.get(f"top{k}_tied", 0)
    return text + (f" (at least; {tied} images decided by ties)" if tied else "")


def summary(metrics: dict) -> str:
    """One line for people: Top-1/Top-5 error and loss (and those of several crops)."""
    line = (f"{metrics['examples']} images: {error_text(metrics, 1)}, "
            f"{error_text(metrics, 5)}, loss {metrics['loss']:.3f}")
    for key, words in CROP_WORDS.items():
        if key in metrics:
            crops = metrics[key]
            line += (f"; {words}: {error_text(crops, 1)}, {error_text(crops, 5)}, "
                     f"loss {crops['loss']:.3f}")
    return line
