"""The run folder (harness/runfolder.py, read back by the core's runs.py): one writer at a
time, files written whole or not at all, one-line errors for damaged files, and a saved
model that loads with Keras alone, compiled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

from alexnet import runs
from alexnet.harness import runfolder
from alexnet.models.alexnet import MEAN, STD, build
from alexnet.recipes import TrainConfig
from conftest import compiled, outputs_without_alexnet


def test_one_writer_at_a_time(tmp_path):
    """A second trainer into a folder is refused at once, naming the folder and the
    process that holds it; the lock goes when its holder lets go (or dies)."""
    with runfolder.Lock(tmp_path / "run") as held:
        assert f"process {os.getpid()}" in (tmp_path / "run" / runfolder.LOCK).read_text()
        with pytest.raises(OSError, match=rf"{tmp_path / 'run'}: a run is training into this "
                                          rf"folder \(process {os.getpid()} on .*\)"):
            runfolder.Lock(tmp_path / "run").acquire()
        assert held.file is not None
    runfolder.Lock(tmp_path / "run").acquire().release()  # free again


def test_a_second_trainer_is_refused(imagenette_like, tmp_path):
    from alexnet.harness import train

    config = TrainConfig(data=str(imagenette_like), out=str(tmp_path / "run"))
    first = train.start(config)
    try:
        with pytest.raises(OSError, match="a run is training into this folder"):
            train.start(config)
        assert (tmp_path / "run").is_dir()  # the refused start leaves the folder alone
    finally:
        first.lock.release()
    assert not runfolder.holds_run(tmp_path / "run")  # start writes nothing
    second = train.start(config)  # the folder holds no run yet: it may start again
    try:
        train.load_data(second)  # config.json: the settings and what trains them
    finally:
        second.lock.release()
    saved = runs.load_config(tmp_path / "run")
    assert saved["out"] == str(tmp_path / "run") and saved["optimizer"] == "SGD"
    assert {"precision_used", "machine_details"} <= saved.keys()
    with pytest.raises(FileExistsError, match="already holds a run's files: continue it with "
                                              "--resume"):
        train.start(config)


def test_files_are_written_whole_or_not_at_all(tmp_path):
    runfolder.write_text(tmp_path / "a.json", "{}")
    assert (tmp_path / "a.json").read_text() == "{}"

    def torn(tmp):
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match=rf"{tmp_path / 'a.json'}: cannot write it \(No space"):
        runfolder.write_atomic(tmp_path / "a.json", torn)
    assert (tmp_path / "a.json").read_text() == "{}"  # the old version, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]  # no temporary file
    with pytest.raises(OSError, match="MB needed"):
        runfolder.write_atomic(tmp_path / "b.h5", lambda tmp: tmp.write_bytes(b""), needed=2**62)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_damaged_or_missing_json_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json: no config.json .is this a run"):
        runs.load_config(tmp_path)
    (tmp_path / "metrics.json").write_text('{"top1": 0.')
    with pytest.raises(ValueError, match=r"metrics.json: damaged metrics.json \("):
        runs.load_metrics(tmp_path)
    runfolder.save_metrics(tmp_path, {"top1": 0.5})
    assert runs.load_metrics(tmp_path) == {"top1": 0.5}
    runfolder.save_config(tmp_path / "new", {"variant": "bn"})
    assert runs.load_config(tmp_path / "new") == {"variant": "bn"}


def test_history_round_trip(tmp_path):
    rows = [{"epoch": 0, "loss": 2.0, "val_loss": 1.5},
            {"epoch": 1, "loss": 1.0, "val_loss": float("nan"), "learning_rate": 0.1}]
    runfolder.write_history(tmp_path, rows)
    assert (tmp_path / "history.csv").read_text().splitlines()[0] == (
        "epoch,learning_rate,loss,val_loss")  # as Keras' CSVLogger writes it
    history = runs.read_history(tmp_path)
    np.testing.assert_array_equal(history["epoch"], [0, 1])
    np.testing.assert_array_equal(history["loss"], [2.0, 1.0])
    assert np.isnan(history["val_loss"][1])
    assert np.isnan(history["learning_rate"][0])  # written "NA": epoch 0 did not log it
    (tmp_path / "history.csv").write_text("epoch,loss\n0,x\n")
    with pytest.raises(ValueError, match="damaged history"):
        runs.read_history(tmp_path)
    (tmp_path / "history.csv").write_text("epoch,loss\n")
    with pytest.raises(ValueError, match="no epochs recorded"):
        runs.read_history(tmp_path / "history.csv")


@pytest.mark.parametrize("content, message", [
    (None, "no such model file"),
    (b"", "not a Keras model file"),
    (b"<html>404</html>", "not a Keras model file"),
    ("zip", r"damaged model file \(no config.json inside\)"),
])
def test_unloadable_model_files_are_one_line(tmp_path, content, message):
    path = tmp_path / "best.keras"
    if content == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("metadata.json", "{}")
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises((ValueError, FileNotFoundError), match=f"{path}: {message}"):
        runfolder.load_model(path)


def test_models_load_as_they_were_saved(tmp_path):
    """``load_model`` is Keras' own load (safe mode, uncompiled): any model loads as it
    was saved."""
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="small")
    net.save(tmp_path / "small.keras")
    loaded = runfolder.load_model(tmp_path / "small.keras")
    assert loaded.input_shape == (None, 4) and loaded.name == "small"
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in net.layers]
    assert not loaded.compiled


def normalised(pixels: np.ndarray) -> np.ndarray:
    return ((pixels - np.array(MEAN)) / np.array(STD)).astype("float32")


def old_network(net: keras.Model) -> keras.Model:
    """``net`` as the package built it before the network normalised its own inputs: the
    same layers (and weights), without ``preprocess``, taking normalised images."""
    inputs = keras.Input(net.input_shape[1:], name="image")
    x = inputs
    for layer in net.layers[2:]:  # every variant is one chain of layers
        x = layer(x)
    return keras.Model(inputs, x, name=net.name)


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, (3, 63, 63, 3)).astype("float32")


def test_an_old_resume_state_loads_into_the_new_model(tmp_path, pixels):
    """The weights and optimizer state that ``--resume`` continues from, saved from a
    model of the old layout (no preprocessing layer), load into the model ``build``
    makes now: weights files name layers by class and position, and the normalisation
    holds no weights."""
    keras.utils.set_random_seed(0)
    old = old_network(build("bn", 3, 63))
    old.compile(keras.optimizers.SGD(0.01, momentum=0.9), "categorical_crossentropy")
    labels = np.eye(3, dtype="float32")[[0, 1, 2]]
    old.train_on_batch(normalised(pixels), labels)  # momentum and moving statistics move
    old.save_weights(tmp_path / "epoch-0001.weights.h5")

    new = build("bn", 3, 63)
    new.compile(keras.optimizers.SGD(0.01, momentum=0.9), "categorical_crossentropy")
    new.optimizer.build(new.trainable_variables)
    new.load_weights(tmp_path / "epoch-0001.weights.h5")
    for mine, theirs in zip(new.get_weights(), old.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    for mine, theirs in zip(new.optimizer.variables, old.optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    assert int(new.optimizer.iterations.numpy()) == 1
    np.testing.assert_allclose(new.predict_on_batch(pixels),
                               old.predict_on_batch(normalised(pixels)), atol=1e-5)


@pytest.mark.slow
def test_a_bn_model_file_loads_with_keras_alone(tmp_path, pixels):
    """A bn model's .keras file needs no import of this package to load: every layer is
    Keras' own (in a process that never imports alexnet)."""
    keras.utils.set_random_seed(0)
    net = build("bn", 3, 63)
    net.save(tmp_path / "best.keras")
    loaded = outputs_without_alexnet(tmp_path / "best.keras", pixels, tmp_path, compile=False)
    np.testing.assert_allclose(loaded, net.predict_on_batch(pixels), atol=1e-6)


@pytest.mark.slow
def test_a_trained_bn_model_loads_compiled_with_keras_alone(tmp_path, pixels):
    """``keras.saving.load_model(path)``, as a user writes it (compiled, the default), in a
    fresh process that imports keras and not alexnet: a bn model compiled as a run compiles
    it (Keras' SGD, weight decay as Keras' L2 regularizer) loads with its optimizer, loss
    and metrics, trains on, and gives the saved model's outputs."""
    keras.utils.set_random_seed(0)
    net = compiled(build("bn", 3, 63, weight_decay=5e-4), TrainConfig(batch_size=3))
    labels = np.eye(3, dtype="float32")
    net.train_on_batch(pixels, labels)
    net.save(tmp_path / "best.keras")
    np.save(tmp_path / "pixels.npy", pixels)
    code = (
        "import json, sys, numpy as np, keras\n"
        "net = keras.saving.load_model(sys.argv[1])\n"
        "pixels = np.load(sys.argv[2])\n"
        "outputs = net.predict_on_batch(pixels)\n"
        "logs = net.train_on_batch(pixels, np.eye(3, dtype='float32'), return_dict=True)\n"
        "print(json.dumps({'optimizer': type(net.optimizer).__name__,\n"
        "                  'iterations': int(net.optimizer.iterations.numpy()),\n"
        "                  'loss': type(net.loss).__name__, 'logs': sorted(logs),\n"
        "                  'outputs': outputs.tolist(),\n"
        "                  'alexnet': [m for m in sys.modules if m.startswith('alexnet')]}))\n")
    env = {**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "best.keras"),
                           str(tmp_path / "pixels.npy")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert loaded["alexnet"] == []
    assert loaded["optimizer"] == "SGD" and loaded["iterations"] == 2  # one step, then ours
    assert loaded["loss"] == "CategoricalCrossentropy"
    assert {"loss", "accuracy", "top5_accuracy"} <= set(loaded["logs"])
    np.testing.assert_allclose(loaded["outputs"], net.predict_on_batch(pixels), atol=1e-5)
