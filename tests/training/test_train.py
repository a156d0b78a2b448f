"""A short real training run through the steps (start, load_data, build_model,
compile_model, make_callbacks, fit, finish), its run folder, reloading, and learning
(issue 2), on generated Imagenette-like images (conftest.imagenette_like); and weight
decay as Keras' L2 regularizer, which with Keras' SGD is the paper's update rule."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from alexnet import training
from alexnet.data import batches
from alexnet.data.datasets import Dataset
from alexnet.harness import resume, runfolder, train
from alexnet.models.alexnet import build
from alexnet.recipes import TrainConfig, from_recipe


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
                 "errors.png", "confusion.png", "predictions.png"):
        assert (run_dir / name).is_file(), name
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["image_size"] == 96 and len(saved["class_names"]) == 10
    assert saved["optimizer"] == "SGD" and saved["keras_backend"] == "tensorflow"
    assert saved["precision_used"] == training.precision(config.precision)
    assert saved["machine_details"]["threads"] >= 1
    assert saved["jit_compile_used"] is run.model.jit_compile is False  # auto: off on a CPU
    assert set(saved["minutes"]) == {"training", "evaluation", "command"}
    assert 0 <= saved["minutes"]["training"] <= saved["minutes"]["command"]
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
    images, _ = next(iter(batches.evaluation(val, 10, 96)))  # raw pixels
    first = runfolder.load_model(run.run_dir / "best.keras")
    second = runfolder.load_model(run.run_dir / "best.keras")
    np.testing.assert_allclose(first.predict(images, verbose=0),
                               second.predict(images, verbose=0), atol=1e-6)
    assert first.predict(images, verbose=0).shape == (10, 10)
    assert first.get_layer("preprocess") is first.layers[1]  # saved as trained: pixels in


def test_in_memory_training_saves_the_network_itself(imagenette_like, tmp_path):
    """Decoded into memory or not, the images are augmented before the network, so the
    best.keras a run saves is the network (raw pixels in), for evaluate and predict."""
    config = TrainConfig(data=str(imagenette_like), epochs=1, limit=2, image_size=64, batch_size=10,
                         in_memory=True, augmentation="rrc", out=str(tmp_path))
    run = train.train(config)
    assert isinstance(run.train_data, batches.Squares)
    run_dir = run.run_dir
    trained = runfolder.load_model(run_dir / "best.keras")
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


def test_mixing_trains_streamed_or_in_memory(tiny_dataset, tmp_path):
    """MixUp and CutMix (Keras' layers) mix the batches of either kind of data."""
    with pytest.raises(ValueError, match="--mixup must be at least 0"):
        TrainConfig(data=str(tiny_dataset), mixup=-0.2)
    with pytest.raises(ValueError, match="--cutmix must be at most 1"):
        TrainConfig(data=str(tiny_dataset), cutmix=1.5)
    for in_memory in (False, True):
        config = TrainConfig(data=str(tiny_dataset), epochs=2, image_size=64, batch_size=4,
                             in_memory=in_memory, mixup=0.2, cutmix=1.0,
                             out=str(tmp_path / f"run-{in_memory}"))
        run_dir = train.train(config).run_dir
        with open(run_dir / "history.csv") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 2 and all(np.isfinite(float(row["loss"])) for row in rows)
        assert json.loads((run_dir / "config.json").read_text())["cutmix"] == 1.0


def test_the_steps_compile_as_the_notebook_and_wrap_its_callbacks(imagenette_like, tmp_path):
    """The steps do what the notebook's cells do (Keras' SGD with momentum on the
    recipe's schedule; the recipe's callbacks: the epoch timer, the best checkpoint, early
    stopping) and wrap those callbacks with the run's own, whose resume state keeps their
    counters."""
    config = from_recipe("paper", data=str(imagenette_like), epochs=1, limit=2,
                         image_size=67, batch_size=8, out=str(tmp_path / "run"))
    run = train.start(config)
    try:
        assert (run.run_dir, run.write_dir, run.chief) == (tmp_path / "run",) * 2 + (True,)
        assert run.lock.file is not None  # made and locked, and nothing written yet
        assert [p.name for p in run.run_dir.iterdir()] == [runfolder.LOCK]
        train.load_data(run)
        assert len(run.train_data) == 20 and run.class_names == run.train_data.class_names
        assert train.build_model(run) is run.model and run.model.name == "alexnet_paper"
        assert train.compile_model(run) is run.model
        optimizer = run.model.optimizer
        assert type(optimizer) is keras.optimizers.SGD and optimizer.momentum == 0.9
        assert optimizer.weight_decay is None  # the decay is the kernels' L2 regularizer
        assert float(optimizer.learning_rate) == pytest.approx(0.01)
        assert train.make_callbacks(run) is run.callbacks
    finally:
        run.lock.release()
    kinds = [type(c) for c in run.callbacks]
    for kind in (training.EpochTimer, keras.callbacks.ModelCheckpoint,
                 keras.callbacks.EarlyStopping, keras.callbacks.ReduceLROnPlateau,
                 keras.callbacks.TerminateOnNaN):
        assert kind in kinds, kind
    state = run.callbacks[-1]
    assert isinstance(state, resume.ResumeState)
    for kind in (keras.callbacks.EarlyStopping, keras.callbacks.ModelCheckpoint,
                 keras.callbacks.ReduceLROnPlateau):
        assert any(type(peer) is kind for _, peer, _ in state.tracked), kind
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["recipe"] == "paper" and saved["class_names"] == run.class_names
    assert saved["dataset_root"] == str(imagenette_like)


def test_learning_rate_schedules():
    """Warm-up then cosine decay (modern), or a constant rate the plateau callback lowers
    (paper); a warm-up never takes every epoch."""
    cosine = training.learning_rate(TrainConfig(lr=0.05, epochs=10, warmup_epochs=2), 10)
    rates = [float(cosine(step)) for step in (0, 10, 20, 60, 99)]
    assert rates[0] == 0 and rates[1] == pytest.approx(0.025) and rates[2] == pytest.approx(0.05)
    assert rates[2] > rates[3] > rates[4] > 0
    assert training.learning_rate(from_recipe("paper"), 10) == 0.01
    short = training.learning_rate(TrainConfig(lr=0.05, epochs=2, warmup_epochs=5), 10)
    assert float(short(10)) == pytest.approx(0.05)  # warm-up cut to epochs - 1


@pytest.mark.parametrize("variant, undecayed", [("owt", {"bias"}), ("bn", {"bias", "gamma",
                                                                             "beta"})])
def test_weight_decay_follows_the_papers_update_rule(variant, undecayed):
    """Sec. 5: v <- 0.9 v - wd lr w - lr g; w <- w + v; biases (and BatchNorm's gamma and
    beta) are not decayed. A model built with ``weight_decay=wd`` (Keras' L2 kernel
    regularizer at wd / 2) and trained with Keras' SGD takes exactly these steps: a
    reference coupled-decay SGD, here."""
    import tensorflow as tf

    keras.mixed_precision.set_global_policy("float32")
    lr, wd, momentum = 0.1, 0.05, 0.9
    keras.utils.set_random_seed(0)
    net = build(variant, 3, 63, weight_decay=wd, dropout=0.0)
    fc8 = net.get_layer("fc8")
    assert isinstance(fc8.kernel_regularizer, keras.regularizers.L2)
    assert fc8.kernel_regularizer.l2 == pytest.approx(wd / 2)
    assert fc8.bias_regularizer is None
    kinds = {v.path.rsplit("/", 1)[-1] for v in net.trainable_variables}
    assert kinds == {"kernel", *undecayed}
    net.compile(keras.optimizers.SGD(lr, momentum=momentum), "categorical_crossentropy")
    rng = np.random.default_rng(0)
    pixels = rng.uniform(0, 255, (4, 63, 63, 3)).astype("float32")
    labels = np.eye(3, dtype="float32")[[0, 1, 2, 0]]
    names = [v.path for v in net.trainable_variables]
    weights = {n: keras.ops.convert_to_numpy(v).astype("float64")
               for n, v in zip(names, net.trainable_variables, strict=True)}
    velocity = {n: np.zeros_like(w) for n, w in weights.items()}
    for _ in range(3):
        # the gradient of the data loss alone, at the weights before the step
        with tf.GradientTape() as tape:
            loss = keras.losses.categorical_crossentropy(labels, net(pixels, training=True))
            loss = keras.ops.mean(loss)
        gradients = tape.gradient(loss, net.trainable_variables)
        for name, gradient in zip(names, gradients, strict=True):
            decay = wd if name.endswith("kernel") else 0.0
            velocity[name] = momentum * velocity[name] - decay * lr * weights[name] \
                - lr * keras.ops.convert_to_numpy(gradient)
            weights[name] = weights[name] + velocity[name]
        net.train_on_batch(pixels, labels)
        for name, variable in zip(names, net.trainable_variables, strict=True):
            np.testing.assert_allclose(keras.ops.convert_to_numpy(variable), weights[name],
                                       rtol=2e-4, atol=2e-6, err_msg=name)
    # Keras' decoupled decay (the optimizer's weight_decay), not carried by momentum,
    # ends elsewhere.
    decoupled = keras.Variable(np.array([1.0, -2.0], "float32"), name="kernel")
    keras_sgd = keras.optimizers.SGD(lr, momentum=momentum, weight_decay=wd)
    w, v = np.array([1.0, -2.0]), np.zeros(2)
    for _ in range(3):
        keras_sgd.apply_gradients([(np.array([0.5, 0.5], "float32"), decoupled)])
        v = momentum * v - wd * lr * w - lr * 0.5
        w = w + v
    assert not np.allclose(keras.ops.convert_to_numpy(decoupled), w, rtol=1e-3)
