"""The run folder (runfolder.py): one writer at a time, files written whole or not at all,
one-line errors for damaged files, and models loaded as raw-pixel networks whatever
version of the package saved them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from alexnet.harness import runfolder
from alexnet.models.alexnet import MEAN, STD, build
from alexnet.harness.train import PaperSGD
from conftest import PROJECT, outputs_without_alexnet


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
    from alexnet.recipes import TrainConfig

    config = TrainConfig(data=str(imagenette_like), out=str(tmp_path / "run"))
    first = train.start(config)
    try:
        with pytest.raises(OSError, match="a run is training into this folder"):
            train.start(config)
    finally:
        first.lock.release()
    train.start(config).lock.release()  # the folder holds no run yet: it may start again
    saved = runs.load_config(tmp_path / "run")
    assert saved["out"] == str(tmp_path / "run") and saved["optimizer"] == "PaperSGD"


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


def test_other_models_load_as_they_are(tmp_path):
    """Only this package's networks (``alexnet_<variant>``) are converted to take raw
    pixels; another model (a test's, a user's) loads as it was saved."""
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="small")
    net.save(tmp_path / "small.keras")
    loaded = runfolder.load_model(tmp_path / "small.keras")
    assert loaded.input_shape == (None, 4) and loaded.name == "small"
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in net.layers]


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


# What the package's layers were called in .keras files before this layout.
OLD_NAMES = {"Conv2D": "alexnet>Conv2D", "BatchNormalization": "alexnet>FusedBatchNormalization",
             "AdaptiveAveragePooling2D": "alexnet>AdaptiveAveragePooling2D"}


def as_saved_before(path: Path) -> None:
    """Rewrites a .keras file's config as the package wrote it before this layout: its
    convolutions, convolutional BatchNorm and pooling under the package's own names."""
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])

    def rename(node):
        if isinstance(node, dict):
            name = node.get("class_name")
            if name in OLD_NAMES and node.get("module") == "keras.layers" and not (
                    name == "BatchNormalization" and node["config"]["name"].startswith("fc")):
                node.update(module="alexnet.layers", registered_name=OLD_NAMES[name])
                if name == "BatchNormalization":
                    node["class_name"] = "FusedBatchNormalization"
                if name == "AdaptiveAveragePooling2D":
                    node["config"] = {key: node["config"][key] for key in
                                      ("name", "trainable", "dtype")} | {"output_size": 6}
            for value in node.values():
                rename(value)
        elif isinstance(node, list):
            for value in node:
                rename(value)

    rename(config)
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, (3, 63, 63, 3)).astype("float32")


@pytest.mark.parametrize("variant", ["bn", "owt"])
def test_an_old_model_loads_as_a_raw_pixel_network(tmp_path, pixels, variant):
    """A best.keras saved before the network normalised its own inputs (it took normalised
    images, and named its layers as the package then did) loads as a network that takes
    raw pixels and gives the old model's probabilities."""
    keras.utils.set_random_seed(0)
    old = old_network(build(variant, 3, 63))
    assert not any(isinstance(layer, keras.layers.Normalization) for layer in old.layers)
    old.save(tmp_path / "best.keras")
    as_saved_before(tmp_path / "best.keras")
    assert b"alexnet>Conv2D" in zipfile.ZipFile(tmp_path / "best.keras").read("config.json")
    loaded = runfolder.load_model(tmp_path / "best.keras")
    assert loaded.input_shape == (None, 63, 63, 3) and loaded.name == old.name
    assert isinstance(loaded.layers[1], keras.layers.Normalization)
    np.testing.assert_allclose(loaded.predict_on_batch(pixels),
                               old.predict_on_batch(normalised(pixels)), atol=1e-5)


def test_an_old_in_memory_model_loads_as_its_network(tmp_path, pixels):
    """A model trained --in-memory before this layout (its network behind an augmentation
    layer with the settings of then, taking normalised crops) loads as that network,
    raw pixels in."""
    from alexnet.data import augment

    keras.utils.set_random_seed(0)
    old = old_network(build("bn", 3, 63))
    augment.with_augmentation(old, "paper", seed=0).save(tmp_path / "best.keras")
    as_saved_before(tmp_path / "best.keras")
    with zipfile.ZipFile(tmp_path / "best.keras") as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    augment = next(layer for layer in config["config"]["layers"]
                   if layer["class_name"] == "Augment")
    del augment["config"]["augmentation"]  # then: crop and lighting
    augment["config"] |= {"crop": "random", "lighting": 0.1, "scale": [0.25, 1.0]}
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "best.keras", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    loaded = runfolder.load_model(tmp_path / "best.keras")
    assert loaded.input_shape == (None, 63, 63, 3) and loaded.name == "alexnet_bn"
    np.testing.assert_allclose(loaded.predict_on_batch(pixels),
                               old.predict_on_batch(normalised(pixels)), atol=1e-5)


def test_an_old_resume_state_loads_into_the_new_model(tmp_path, pixels):
    """The weights and optimizer state that ``--resume`` continues from, saved from a
    model of the old layout (no preprocessing layer), load into the model ``build``
    makes now: weights files name layers by class and position, and the normalisation
    holds no weights."""
    keras.utils.set_random_seed(0)
    old = old_network(build("bn", 3, 63))
    old.compile(PaperSGD(0.01, momentum=0.9, weight_decay=5e-4), "categorical_crossentropy")
    labels = np.eye(3, dtype="float32")[[0, 1, 2]]
    old.train_on_batch(normalised(pixels), labels)  # momentum and moving statistics move
    old.save_weights(tmp_path / "epoch-0001.weights.h5")

    new = build("bn", 3, 63)
    new.compile(PaperSGD(0.01, momentum=0.9, weight_decay=5e-4), "categorical_crossentropy")
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
    """A bn model's .keras file needs no import of this package to load (its swap-in
    layers are saved as Keras' own), in a process that never imports alexnet."""
    keras.utils.set_random_seed(0)
    net = build("bn", 3, 63)
    net.save(tmp_path / "best.keras")
    loaded = outputs_without_alexnet(tmp_path / "best.keras", pixels, tmp_path)
    np.testing.assert_allclose(loaded, net.predict_on_batch(pixels), atol=1e-6)


@pytest.mark.slow
def test_an_in_memory_model_loads_with_the_run_folder_module_alone(tmp_path, pixels):
    """``runfolder.load_model`` is all a reader of a run folder imports (the report, a
    notebook): a model trained --in-memory loads there too, its augmentation layer
    known without importing the data modules first."""
    from alexnet.data import augment

    net = build("bn", 3, 63)
    augment.with_augmentation(net, "basic", seed=0).save(tmp_path / "best.keras")
    code = ("from alexnet.harness import runfolder\n"
            f"net = runfolder.load_model({str(tmp_path / 'best.keras')!r})\n"
            "print(net.name, net.input_shape)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "alexnet_bn (None, 63, 63, 3)"
