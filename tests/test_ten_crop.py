"""``evaluate``: the softmax averaged over the centre crop and its mirror (a test-time
flip) and, with ``--ten-crop``, over the paper's ten crops, beside the centre crop, in
metrics.json."""

from __future__ import annotations

import json

import keras
import numpy as np

from alexnet import evaluate
from alexnet.__main__ import main
from alexnet.data import augment, batches
from alexnet.data.datasets import Dataset
from alexnet.models.alexnet import preprocessing


def small_model(image_size: int, classes: int) -> keras.Model:
    """A few thousand parameters: enough to give different crops different outputs. Raw
    pixels in, normalised by its first layer, as the AlexNets."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((image_size, image_size, 3))
    x = keras.layers.Conv2D(8, 5, strides=2, activation="relu")(preprocessing()(inputs))
    x = keras.layers.Flatten()(keras.layers.MaxPooling2D(4)(x))
    return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(x))


def test_evaluate_flip_and_ten_crop_average_softmax(tiny_dataset, tmp_path, capsys):
    net = small_model(64, 3)
    net.save(tmp_path / "best.keras")
    out = tmp_path / "eval"
    assert main(["evaluate", "--model", str(tmp_path / "best.keras"), "--data",
                 str(tiny_dataset), "--ten-crop", "--batch-size", "20", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert "10-crop: top-1 error" in capsys.readouterr().out
    split = Dataset.open(tiny_dataset).folder("val")
    # The reference, by hand: the crops of each image (raw pixels), softmax averaged.
    for key, views in (("flip", [4, 9]), ("ten_crop", list(range(10)))):
        probabilities = []
        for file in split.files:
            square = batches.decode_square(file, augment.resize_size(64)).astype("float32")
            crops = np.asarray(augment.ten_crops(square[None], 64))[0, views]
            probabilities.append(net.predict_on_batch(crops).mean(axis=0))
        expected = evaluate.metrics_from_predictions(np.array(probabilities, "float64"),
                                                     split.labels, split.class_names)
        crops = metrics[key]
        assert crops["examples"] == len(split) == metrics["examples"]
        assert np.isclose(crops["loss"], expected["loss"], rtol=1e-4)
        assert (crops["top1"], crops["top5"]) == (expected["top1"], expected["top5"])
        assert crops["top5"] is None  # 3 classes: top-5 is not a result
        assert crops["loss"] != metrics["loss"]  # not the centre crop again
    assert 0 <= metrics["top1"] <= 1 and metrics["top5"] is None
    assert metrics["flip"]["loss"] != metrics["ten_crop"]["loss"]
