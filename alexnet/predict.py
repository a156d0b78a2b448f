"""Predicting the class of single image files with a saved model."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from alexnet import augmentation, tfdata


def load_image(path: str | Path, image_size: int) -> np.ndarray:
    """One image file, preprocessed as for evaluation (centre crop, normalised)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    try:
        image = tfdata.decode(tfdata.read_file(path))
    except tf.errors.InvalidArgumentError:
        raise ValueError(f"{path}: not an image (JPEG, PNG, GIF or BMP expected)") from None
    image = tfdata.resize_shorter(image, augmentation.resize_size(image_size))
    return tfdata.normalize(tfdata.eval_transform(image, image_size)).numpy()


def predict_file(net: keras.Model, path: str | Path) -> np.ndarray:
    """Class probabilities for one image file."""
    image = load_image(path, net.input_shape[1])
    return np.asarray(net.predict_on_batch(image[None]))[0]


def class_names(model_path: str | Path, classes: str | Path | None = None) -> list[str]:
    """Class names for a model's outputs: from ``classes`` (a text file with one name
    per line, or Keras' ``imagenet_class_index.json``), else the run's ``config.json``."""
    if classes:
        path = Path(classes)
        if not path.is_file():
            raise FileNotFoundError(f"--classes {path}: no such file")
        if path.suffix == ".json":
            index = json.loads(path.read_text())
            return [index[str(i)][1] for i in range(len(index))]
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    config = Path(model_path).parent / "config.json"
    if not config.is_file():
        raise FileNotFoundError(f"{config}: no config.json beside the model; "
                                "pass --classes FILE with the class names")
    return json.loads(config.read_text())["class_names"]
