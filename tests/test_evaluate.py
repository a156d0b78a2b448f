"""Top-1/Top-5 as results: hits that do not depend on how ties are broken, ties counted,
and no top-5 where every class is in the top five; per-class accuracy; and the classes of
single image files, raw pixels into the saved model."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from alexnet import evaluate
from alexnet.harness import runfolder
from alexnet.harness.commands import load_image, predict_file

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


def test_a_class_without_images_has_no_accuracy():
    """Per-class accuracy is a result only for classes with images: None for the others
    (not 0, which would read as a class the network always gets wrong)."""
    probabilities = np.eye(3)[[0, 1, 1, 0]]
    metrics = evaluate.metrics_from_predictions(probabilities, np.array([0, 1, 1, 1]),
                                                ["a", "b", "c"])
    assert metrics["per_class_accuracy"] == {"a": 1.0, "b": 2 / 3, "c": None}
    assert metrics["confusion_matrix"][2] == [0, 0, 0]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A run folder written by a tiny ``train`` (one epoch, 64 px) on generated images."""
    from alexnet.harness import train
    from alexnet.recipes import TrainConfig
    from conftest import make_imagenette_like

    root = make_imagenette_like(tmp_path_factory.mktemp("data"), {"train": 2, "val": 1})
    out = tmp_path_factory.mktemp("run") / "tiny"
    config = TrainConfig(data=str(root), epochs=1, image_size=64, batch_size=10,
                         augmentation="basic", out=str(out))
    try:
        return train.train(config).run_dir
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_best_model_predicts_a_raw_jpeg_with_nothing_outside_it(tiny_run, sample_photo):
    """``best.keras`` as ``train`` wrote it takes a decoded photo as it is: the
    probabilities ``predict_file`` (``predict``'s) gives are the model's own on the centre
    crop's raw pixels (0-255), with no normalisation outside the model."""
    from PIL import Image

    net = runfolder.load_model(tiny_run / "best.keras")
    assert net.input_shape == (None, 64, 64, 3)
    probabilities = predict_file(net, sample_photo)
    assert probabilities.shape == (10,) and probabilities.sum() == pytest.approx(1, abs=1e-3)

    # The centre crop by hand: the JPEG decoded, its shorter side resized to 73 (64 of
    # the paper's 224 of 256), the middle 64 x 64 square; pixels as they are.
    image = Image.open(sample_photo).convert("RGB")
    assert image.size == (500, 375)
    resized = np.asarray(image.resize((round(500 * 73 / 375), 73), Image.BICUBIC))
    top, left = (73 - 64) // 2, (resized.shape[1] - 64) // 2
    crop = resized[top:top + 64, left:left + 64].astype("float32")
    loaded = load_image(sample_photo, 64)
    assert loaded.shape == (64, 64, 3) and loaded.dtype == np.uint8
    assert np.abs(loaded - crop).mean() < 3  # Pillow decodes a JPEG at the scale needed
    expected = np.asarray(net(loaded[None].astype("float32"), training=False))[0]
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)


def test_load_image_names_what_it_cannot_read(tmp_path):
    (tmp_path / "notes.jpg").write_text("not an image")
    with pytest.raises(ValueError, match=r"notes.jpg: not decodable \("):
        load_image(tmp_path / "notes.jpg", 64)
    with pytest.raises(ValueError, match=r"gone.jpg: unreadable \(No such file"):
        load_image(tmp_path / "gone.jpg", 64)
    with pytest.raises(ValueError, match=f"{tmp_path.name}: not a regular file"):
        load_image(tmp_path, 64)
