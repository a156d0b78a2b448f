"""A short real training run through the steps (start, load_data, build_model,
compile_model, make_callbacks, fit, finish), its run folder, reloading, and learning
(issue 2), on generated Imagenette-like images (conftest.imagenette_like); and PaperSGD,
the paper's update rule."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from alexnet.harness import runfolder
from alexnet.data import pipeline
from alexnet.data.augment import Augment
from alexnet.data.datasets import Dataset
from alexnet.harness import resume, train
from alexnet.recipes import TrainConfig, from_recipe
from alexnet.harness.train import PaperSGD


@pytest.fixture(scope="module")
def short_run(imagenette_like, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    config = TrainConfig(data=str(imagenette_like), epochs=2, limit=4, image_size=96,
                         batch_size=8, out=str(run_dir))
    run = train.train(config)
    keras.mixed_precision.set_global_policy("float32")  # the run set it (precision auto)
    return run, config


def test_short_run_writes_the_run_folder(short_run):
    run, config = short_run
    run_dir = run.run_dir
    assert run_dir == Path(config.out) and run.lock.file is None  # unlocked
    for name in ("config.json", "best.keras", "history.csv", "metrics.json", "curves.png",
                 "errors.png", "confusion.png", "predictions.png", "augmented.png"):
        assert (run_dir / name).is_file(), name
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["image_size"] == 96 and len(saved["class_names"]) == 10
    assert saved["optimizer"] == "PaperSGD" and saved["keras_backend"] == "tensorflow"
    with open(run_dir / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert all(row["learning_rate"] for row in rows)  # every schedule records its rate
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["examples"] == 40 and 0 <= metrics["top1"] <= metrics["top5"] <= 1
    assert np.array(metrics["confusion_matrix"]).sum() == 40
    # finish writes the 10-crop figures too (their averaging: tests/test_ten_crop.py; this
    # two-epoch network can saturate, so that its centre and 10-crop losses may be equal)
    assert metrics["ten_crop"]["examples"] == 40
    assert run.history.history["loss"] and len(run.history.history["loss"]) == 2


def test_short_run_writes_tensorboard_logs(short_run):
    """Per epoch: losses, Top-1/Top-5 and the learning rate, for training and validation."""
    import tensorflow as tf

    run, _ = short_run
    tags = {}
    for split in ("train", "validation"):
        events = list((run.run_dir / "logs" / split).glob("events.out.tfevents.*"))
        assert events, split
        tags[split] = {value.tag for record in tf.data.TFRecordDataset([str(e) for e in events])
                       for value in tf.compat.v1.Event.FromString(record.numpy()).summary.value}
    assert {"epoch_loss", "epoch_accuracy", "epoch_top5_accuracy",
            "epoch_learning_rate"} <= tags["train"]
    assert {"epoch_loss", "epoch_accuracy", "epoch_top5_accuracy"} <= tags["validation"]


def test_saved_model_reloads_and_predicts_the_same(short_run, imagenette_like):
    run, _ = short_run
    _, val = Dataset.open(imagenette_like).splits(limit=1)
    images, _ = next(iter(pipeline.batches(val, 96, 10, training=False)))  # raw pixels
    first = runfolder.load_model(run.run_dir / "best.keras")
    second = runfolder.load_model(run.run_dir / "best.keras")
    np.testing.assert_allclose(first.predict(images, verbose=0),
                               second.predict(images, verbose=0), atol=1e-6)
    assert first.predict(images, verbose=0).shape == (10, 10)
    assert first.get_layer("preprocess") is first.layers[1]  # saved as trained: pixels in


def test_in_memory_training_augments_on_the_device(imagenette_like, tmp_path):
    config = TrainConfig(data=str(imagenette_like), epochs=1, limit=2, image_size=64, batch_size=10,
                         in_memory=True, augmentation="rrc", out=str(tmp_path))
    run_dir = train.train(config).run_dir
    saved = keras.saving.load_model(run_dir / "best.keras", compile=False)  # as trained
    assert isinstance(saved.get_layer("augment"), Augment)
    trained = runfolder.load_model(run_dir / "best.keras")  # the network, for evaluate/predict
    assert trained.input_shape == (None, 64, 64, 3) and trained.name == "alexnet_bn"
    assert trained.get_layer("preprocess") is trained.layers[1]
    image = next((imagenette_like / "val").glob("*/*.JPEG"))
    result = subprocess.run([sys.executable, "-m", "alexnet", "predict", "--model",
                             str(run_dir / "best.keras"), str(image)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.count("%") == 5
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["examples"] == metrics["ten_crop"]["examples"] == 20


def test_mixing_trains_in_memory_and_needs_it(tiny_dataset, tmp_path):
    with pytest.raises(ValueError, match="--cutmix mixes in-memory batches: add --in-memory"):
        TrainConfig(data=str(tiny_dataset), cutmix=1.0)
    with pytest.raises(ValueError, match="--mixup must be at least 0"):
        TrainConfig(data=str(tiny_dataset), mixup=-0.2, in_memory=True)
    config = TrainConfig(data=str(tiny_dataset), epochs=2, image_size=64, batch_size=4,
                         in_memory=True, mixup=0.2, cutmix=1.0, out=str(tmp_path / "run"))
    run_dir = train.train(config).run_dir
    with open(run_dir / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and all(np.isfinite(float(row["loss"])) for row in rows)
    assert json.loads((run_dir / "config.json").read_text())["cutmix"] == 1.0


def test_the_steps_take_the_callers_optimizer_and_callbacks(imagenette_like, tmp_path):
    """The notebook builds the SGD optimizer and the Keras callbacks in its cells; the
    steps compile with that optimizer and wrap those callbacks with the run's own, whose
    resume state keeps their counters."""
    config = from_recipe("paper", data=str(imagenette_like), epochs=1, limit=2,
                         image_size=67, batch_size=8, out=str(tmp_path / "run"))
    optimizer = PaperSGD(learning_rate=0.005, momentum=0.8, weight_decay=1e-4)
    stopping = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=3)
    checkpoint = keras.callbacks.ModelCheckpoint(tmp_path / "run" / "best.keras",
                                                 monitor="val_accuracy", mode="max",
                                                 save_best_only=True)
    chosen = [checkpoint, stopping]
    run = train.start(config)
    try:
        assert (run.run_dir, run.write_dir, run.chief) == (tmp_path / "run",) * 2 + (True,)
        inputs = train.load_data(run)
        assert run.inputs is inputs and len(inputs.train) == 20
        assert train.build_model(run) is run.model and run.model.name == "alexnet_paper"
        assert train.compile_model(run, optimizer) is run.model
        assert run.model.optimizer is optimizer
        assert train.make_callbacks(run, chosen) is run.callbacks
    finally:
        run.lock.release()
    assert all(any(c is given for c in run.callbacks) for given in chosen)
    assert not any(isinstance(c, keras.callbacks.ReduceLROnPlateau) for c in run.callbacks)
    assert any(isinstance(c, keras.callbacks.TerminateOnNaN) for c in run.callbacks)
    state = run.callbacks[-1]
    assert isinstance(state, resume.ResumeState)
    assert any(peer is stopping for _, peer, _ in state.tracked)
    assert any(peer is checkpoint for _, peer, _ in state.tracked)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["recipe"] == "paper" and saved["class_names"] == inputs.class_names
    assert saved["dataset_root"] == str(imagenette_like)


def test_learning_rate_schedules():
    """Warm-up then cosine decay (modern), or a constant rate the plateau callback lowers
    (paper); a warm-up never takes every epoch."""
    cosine = train.learning_rate(TrainConfig(lr=0.05, epochs=10, warmup_epochs=2), 10)
    rates = [float(cosine(step)) for step in (0, 10, 20, 60, 99)]
    assert rates[0] == 0 and rates[1] == pytest.approx(0.025) and rates[2] == pytest.approx(0.05)
    assert rates[2] > rates[3] > rates[4] > 0
    assert train.learning_rate(from_recipe("paper"), 10) == 0.01
    short = train.learning_rate(TrainConfig(lr=0.05, epochs=2, warmup_epochs=5), 10)
    assert float(short(10)) == pytest.approx(0.05)  # warm-up cut to epochs - 1


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
    assert keras.saving.get_registered_name(PaperSGD) == "alexnet>PaperSGD"
