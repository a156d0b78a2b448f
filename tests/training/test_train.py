"""Model shapes, a short real training run, reloading, and learning (issue 2), on
generated Imagenette-like images (conftest.imagenette_like)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from alexnet import augmentation, data, model, tfdata
from alexnet.config import TrainConfig
from alexnet.inputs import ArrayBatches
from alexnet.optimizer import PaperSGD
from alexnet.train import compile_model, train


@pytest.mark.parametrize("variant", model.VARIANTS)
@pytest.mark.parametrize("size", [67, 128, 160, 227])  # 67: maps smaller than 6x6
def test_output_shape_for_image_sizes(variant, size):
    net = model.build(variant, num_classes=7, image_size=size)
    assert net.output_shape == (None, 7)
    probabilities = net.predict(np.zeros((2, size, size, 3), "float32"), verbose=0)  # graph mode
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_too_small_image_size_is_refused():
    with pytest.raises(ValueError, match="too small"):
        TrainConfig(variant="paper", image_size=32)


def test_loss_falls_when_fitting_a_fixed_batch(imagenette_like):
    keras.utils.set_random_seed(0)
    train_split, _ = data.load(imagenette_like, limit=2)
    images, labels = next(iter(tfdata.batches(train_split, 96, 20, training=False)))
    net = compile_model(model.build("bn", 10, 96), TrainConfig(lr=0.01, image_size=96), 1)
    losses = [float(net.train_on_batch(images, labels)[0]) for _ in range(8)]
    assert losses[-1] < 0.7 * losses[0], losses


@pytest.fixture(scope="module")
def short_run(imagenette_like, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    config = TrainConfig(data=str(imagenette_like), epochs=2, limit=4, image_size=96,
                         batch_size=8, out=str(run_dir))
    return train(config), config


def test_short_run_writes_the_run_folder(short_run):
    run_dir, config = short_run
    for name in ("config.json", "best.keras", "history.csv", "metrics.json", "curves.png",
                 "errors.png", "confusion.png", "predictions.png", "augmented.png"):
        assert (run_dir / name).is_file(), name
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["image_size"] == 96 and len(saved["class_names"]) == 10
    with open(run_dir / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert all(row["learning_rate"] for row in rows)  # every schedule records its rate
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["examples"] == 40 and 0 <= metrics["top1"] <= metrics["top5"] <= 1
    assert np.array(metrics["confusion_matrix"]).sum() == 40
    assert metrics["ten_crop"]["examples"] == 40  # finish writes the 10-crop figures too
    assert metrics["ten_crop"]["loss"] != metrics["loss"]


def test_short_run_writes_tensorboard_logs(short_run):
    """Per epoch: losses, Top-1/Top-5 and the learning rate, for training and validation."""
    import tensorflow as tf

    run_dir, _ = short_run
    tags = {}
    for split in ("train", "validation"):
        events = list((run_dir / "logs" / split).glob("events.out.tfevents.*"))
        assert events, split
        tags[split] = {value.tag for record in tf.data.TFRecordDataset([str(e) for e in events])
                       for value in tf.compat.v1.Event.FromString(record.numpy()).summary.value}
    assert {"epoch_loss", "epoch_accuracy", "epoch_top5_accuracy",
            "epoch_learning_rate"} <= tags["train"]
    assert {"epoch_loss", "epoch_accuracy", "epoch_top5_accuracy"} <= tags["validation"]


def test_saved_model_reloads_and_predicts_the_same(short_run, imagenette_like):
    run_dir, _ = short_run
    _, val = data.load(imagenette_like, limit=1)
    images, _ = next(iter(tfdata.batches(val, 96, 10, training=False)))
    first, second = model.load(run_dir / "best.keras"), model.load(run_dir / "best.keras")
    np.testing.assert_allclose(first.predict(images, verbose=0),
                               second.predict(images, verbose=0), atol=1e-6)
    assert first.predict(images, verbose=0).shape == (10, 10)


def test_in_memory_training_augments_on_the_device(imagenette_like, tmp_path):
    config = TrainConfig(data=str(imagenette_like), epochs=1, limit=2, image_size=64, batch_size=10,
                         in_memory=True, augmentation="rrc", out=str(tmp_path))
    run_dir = train(config)
    trained = model.load(run_dir / "best.keras")
    assert isinstance(trained.get_layer("augment"), augmentation.Augment)
    assert model.unwrap(trained).input_shape == (None, 64, 64, 3)  # for evaluate/predict
    image = next((imagenette_like / "val").glob("*/*.JPEG"))
    result = subprocess.run([sys.executable, "-m", "alexnet", "predict", "--model",
                             str(run_dir / "best.keras"), str(image)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.count("%") == 5
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["examples"] == metrics["ten_crop"]["examples"] == 20


def test_augment_layer_crops_flips_and_is_deterministic_at_inference():
    images = np.random.default_rng(0).integers(0, 256, (4, 80, 80, 3)).astype("uint8")
    layer = augmentation.Augment(64, "paper", seed=3)
    a, b = np.asarray(layer(images, training=True)), np.asarray(layer(images, training=True))
    assert a.shape == (4, 64, 64, 3) and not np.allclose(a, b)
    c, d = np.asarray(layer(images, training=False)), np.asarray(layer(images, training=False))
    np.testing.assert_array_equal(c, d)
    # none (the ablation): training sees the evaluation crop
    none = augmentation.Augment(64, "none")
    np.testing.assert_array_equal(np.asarray(none(images, training=True)), c)
    crops = np.asarray(augmentation.ten_crops(images, 64))
    assert crops.shape == (4, 10, 64, 64, 3)
    np.testing.assert_allclose(crops[:, 5], crops[:, 0, :, ::-1], atol=1e-5)
    np.testing.assert_allclose(crops[:, 4], c, atol=1e-4)  # the fifth is the centre crop


def test_augment_layers_saved_before_the_names_load_with_their_meaning():
    """Models trained --in-memory before this version saved crop="random"|"resized" and
    lighting; they load as the named augmentation that does the same."""
    for old, name in (({"crop": "resized", "lighting": 0.0}, "rrc"),
                      ({"crop": "random", "lighting": 0.1}, "paper"),
                      ({"crop": "random", "lighting": 0.0}, "basic")):
        config = {"name": "augment", "image_size": 64, "scale": [0.25, 1.0], "seed": 0, **old}
        assert augmentation.Augment.from_config(config).augmentation == name
    with pytest.raises(ValueError, match="unknown augmentation 'fancy'"):
        augmentation.Augment(64, "fancy")


def test_weight_decay_follows_the_papers_update_rule():
    # Sec. 5: v <- 0.9 v - wd lr w - lr g; w <- w + v. Biases are not decayed.
    lr, wd, momentum = 0.1, 0.05, 0.9
    optimizer = PaperSGD(lr, momentum=momentum, weight_decay=wd)
    kernel = keras.Variable(np.array([1.0, -2.0], "float32"), name="kernel")
    bias = keras.Variable(np.array([1.0], "float32"), name="bias")
    gradients = [np.array([0.5, 0.5], "float32"), np.array([0.5], "float32")]
    w, v, b, vb = np.array([1.0, -2.0]), np.zeros(2), np.array([1.0]), np.zeros(1)
    for _ in range(3):
        optimizer.apply_gradients(zip(gradients, [kernel, bias], strict=True))
        v = momentum * v - wd * lr * w - lr * gradients[0]
        w = w + v
        vb = momentum * vb - lr * gradients[1]
        b = b + vb
        np.testing.assert_allclose(keras.ops.convert_to_numpy(kernel), w, rtol=1e-5)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(bias), b, rtol=1e-5)
    # Keras' decoupled decay, not carried by momentum, ends elsewhere.
    decoupled = keras.Variable(np.array([1.0, -2.0], "float32"), name="kernel")
    keras_sgd = keras.optimizers.SGD(lr, momentum=momentum, weight_decay=wd)
    for _ in range(3):
        keras_sgd.apply_gradients([(gradients[0], decoupled)])
    assert not np.allclose(keras.ops.convert_to_numpy(decoupled), w, rtol=1e-3)
    restored = PaperSGD.from_config(optimizer.get_config())
    assert restored.l2 == wd and restored.momentum == momentum


@pytest.mark.parametrize("mixup, cutmix", [(0.4, 0.0), (0.0, 1.0), (0.4, 1.0)])
def test_mixed_batches_mix_images_and_labels_alike(mixup, cutmix):
    # image i is all i * 20 and its own class: each pixel tells where it came from
    n = 10
    images = np.broadcast_to((np.arange(n) * 20).astype("uint8")[:, None, None, None],
                             (n, 16, 12, 3))
    batches = ArrayBatches(images, np.eye(n, dtype="float32"), 4, shuffle=True, mixup=mixup,
                           cutmix=cutmix, seed=0)
    assert len(batches) == 3
    kinds = set()
    for _ in range(4):  # epochs
        rows_with_class = np.zeros(n, int)
        for index in range(len(batches)):
            x, y = (np.asarray(t) for t in batches[index])
            assert x.dtype == np.uint8 and x.shape == (len(y), 16, 12, 3)
            np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-6)
            rows_with_class += (y > 0).sum(axis=0)
            for pixels, weights in zip(x, y, strict=True):
                classes, values = np.flatnonzero(weights), np.unique(pixels)
                # CutMix: each image's share of the pixels is its label weight
                cut = set(values) <= set(classes * 20) and all(
                    np.mean(pixels == k * 20) == pytest.approx(weights[k]) for k in classes)
                # MixUp: one blended value, the labels' weighted mean
                mix = len(values) == 1 and abs(values[0] - 20 * classes @ weights[classes]) <= .5
                assert (cut and cutmix) or (mix and mixup), (pixels[..., 0], weights)
                kinds |= {"cutmix"} if cut and not mix else {"mixup"} if mix and not cut else set()
        # every image is in one batch, as itself and as another's partner (a weight can be 0)
        assert rows_with_class.min() >= 1 and rows_with_class.max() <= 2
        batches.on_epoch_end()
    assert kinds == {kind for kind, alpha in (("mixup", mixup), ("cutmix", cutmix)) if alpha}


def test_mixing_trains_in_memory_and_needs_it(tiny_dataset, tmp_path):
    with pytest.raises(ValueError, match="--cutmix mixes in-memory batches: add --in-memory"):
        TrainConfig(data=str(tiny_dataset), cutmix=1.0)
    with pytest.raises(ValueError, match="--mixup must be at least 0"):
        TrainConfig(data=str(tiny_dataset), mixup=-0.2, in_memory=True)
    config = TrainConfig(data=str(tiny_dataset), epochs=2, image_size=64, batch_size=4,
                         in_memory=True, mixup=0.2, cutmix=1.0, out=str(tmp_path / "run"))
    run_dir = train(config)
    with open(run_dir / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and all(np.isfinite(float(row["loss"])) for row in rows)
    assert json.loads((run_dir / "config.json").read_text())["cutmix"] == 1.0


def test_prepare_takes_the_callers_optimizer_and_callbacks(imagenette_like, tmp_path):
    """The notebook builds the SGD optimizer and the Keras callbacks in its cells; prepare
    compiles with that optimizer and wraps those callbacks with the run's own, whose
    resume state keeps their counters."""
    import keras

    from alexnet import resume
    from alexnet.callbacks import BestCheckpoint
    from alexnet.config import from_recipe
    from alexnet.train import prepare

    config = from_recipe("paper", data=str(imagenette_like), epochs=1, limit=2,
                         image_size=67, batch_size=8, out=str(tmp_path / "run"))
    optimizer = PaperSGD(learning_rate=0.005, momentum=0.8, weight_decay=1e-4)
    stopping = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=3)
    chosen = [BestCheckpoint(tmp_path / "run" / "best.keras", monitor="val_accuracy",
                             mode="max"), stopping]
    run = prepare(config, optimizer=optimizer, callbacks=chosen)
    assert run.model.optimizer is optimizer
    assert all(any(c is given for c in run.callbacks) for given in chosen)
    assert not any(isinstance(c, keras.callbacks.ReduceLROnPlateau) for c in run.callbacks)
    state = run.callbacks[-1]
    assert isinstance(state, resume.ResumeState)
    assert any(peer is stopping for _, peer, _ in state.tracked)
