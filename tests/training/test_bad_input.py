"""Bad input to training: each gets a one-line error naming the file or setting, and
nothing already written is lost. (Broken image files: see the input-pipeline tests.)"""

from __future__ import annotations

import errno
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from alexnet import model, resume, train
from alexnet.__main__ import main
from alexnet.callbacks import make_callbacks
from alexnet.config import TrainConfig, save_config


def error_line(capsys, argv: list[str]) -> str:
    """Runs the CLI, checks it failed with status 2 and one line, returns the line."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_missing_or_empty_dataset(capsys, tmp_path):
    assert f"{tmp_path / 'nowhere'}: no such folder" in error_line(
        capsys, ["train", "--data", str(tmp_path / "nowhere")])
    empty = tmp_path / "empty"
    empty.mkdir()
    line = error_line(capsys, ["train", "--data", str(empty)])
    assert f"{empty / 'train'}: no such folder" in line
    for split in ("train", "val"):
        (tmp_path / "no-images" / split / "cat").mkdir(parents=True)
    assert "no-images/train: no images" in error_line(
        capsys, ["train", "--data", str(tmp_path / "no-images")])


def test_class_folders_differ(capsys, tiny_dataset):
    (tiny_dataset / "val" / "eel").rename(tiny_dataset / "val" / "emu")
    line = error_line(capsys, ["train", "--data", str(tiny_dataset)])
    assert f"{tiny_dataset / 'val'}: class folders differ" in line
    assert "missing ['eel']" in line and "extra ['emu']" in line


@pytest.mark.parametrize("variant", ["paper", "bn"])  # owt has bn's geometry
def test_image_size_limit(capsys, variant):
    smallest = model.MIN_IMAGE_SIZE[variant]
    net = model.build(variant, 3, smallest)  # the smallest size allowed really runs
    assert net.predict_on_batch(np.zeros((1, smallest, smallest, 3), "float32")).shape == (1, 3)
    line = error_line(capsys, ["train", "--variant", variant, "--image-size", str(smallest - 1)])
    assert f"--image-size {smallest - 1} is too small" in line and f"minimum {smallest}" in line


def test_existing_run_is_not_overwritten_and_resume_keeps_settings(capsys, tiny_dataset, tmp_path):
    run = tmp_path / "run"
    (run / "state").mkdir(parents=True)
    (run / "state" / "state.json").write_text('{"epoch": 1}')
    line = error_line(capsys, ["train", "--data", str(tiny_dataset), "--out", str(run)])
    assert f"{run} already holds a run" in line and f"--resume {run}" in line
    save_config(run, TrainConfig(data=str(tiny_dataset), out=str(run)), ["a"], tiny_dataset)
    line = error_line(capsys, ["train", "--resume", str(run), "--lr", "0.1"])
    assert "only --epochs, --strategy and --time-limit may change" in line
    assert "--lr: saved 0.01, given 0.1" in line


def test_checkpoint_class_count_differs_from_data(capsys, tiny_dataset, tmp_path):
    run = tmp_path / "run"
    config = TrainConfig(data=str(tiny_dataset), out=str(run))
    save_config(run, config, ["cat", "dog"], tiny_dataset)  # a run trained on 2 classes
    line = error_line(capsys, ["train", "--resume", str(run)])
    assert f"{run}: its checkpoints have 2 classes but {tiny_dataset} has 3" in line
    assert "'eel'" in line


def test_unwritable_output_folder(capsys, tiny_dataset, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    line = error_line(capsys, ["train", "--data", str(tiny_dataset), "--image-size", "95",
                               "--out", str(blocker / "run")])
    assert f"run folder {blocker / 'run'}: cannot write there" in line


# In-process training of a small model with the project's callbacks: fast, and it
# exercises what the notebook does (fit with callbacks.make_callbacks).

CLASSES = 6


def small_model(config: TrainConfig) -> keras.Model:
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(CLASSES, activation="softmax")])
    return train.compile_model(net, config, steps_per_epoch=4)


def data(scale: float = 1.0, batches: int = 4) -> tf.data.Dataset:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8 * batches, 4)).astype("float32") * scale
    y = np.eye(CLASSES, dtype="float32")[rng.integers(0, CLASSES, 8 * batches)]
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(8)


def fit(net: keras.Model, dataset, epochs: int, callbacks: list) -> keras.callbacks.History:
    return net.fit(dataset, steps_per_epoch=4, epochs=epochs, validation_data=data(),
                   shuffle=False, callbacks=callbacks, verbose=0)


def test_nan_loss_stops_keeps_last_good_epoch_then_resumes(tmp_path):
    run, config = tmp_path / "run", TrainConfig(lr_patience=1)
    net = small_model(config)
    good, nan = data(), data(scale=np.nan)
    with pytest.raises(FloatingPointError, match=rf"loss is nan at epoch 2, batch 1: .*{run}"):
        fit(net, good.concatenate(nan), 3, make_callbacks(run, config))
    state = resume.read_state(run)
    assert state["epoch"] == 1 and len(state["history"]) == 1
    best = model.load(run / "best.keras")
    assert all(np.isfinite(w).all() for w in best.get_weights())
    assert (run / "history.csv").read_text().count("\n") == 2  # header and epoch 1
    assert not list(run.rglob("*.tmp*"))

    # The notebook resumes by fitting again with the same callbacks: it restores the
    # weights, the optimizer and the callbacks' counters, then runs the remaining epochs.
    seen = {}

    class Probe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            peers = {type(c).__name__: c for c in self.model.probe_peers}
            seen.update(iterations=int(self.model.optimizer.iterations.numpy()),
                        rlr_best=peers["ReduceLROnPlateau"].best,
                        es_best=peers["EarlyStopping"].best,
                        es_weights=peers["EarlyStopping"].best_weights is not None,
                        ckpt_best=peers["BestCheckpoint"].best)

    net = small_model(config)
    callbacks = make_callbacks(run, config)
    net.probe_peers = callbacks
    fitted = fit(net, good.repeat(), 3, [*callbacks, Probe()])
    first = state["history"][0]
    assert seen == {"iterations": 4, "rlr_best": pytest.approx(first["val_loss"]),
                    "es_best": pytest.approx(first["val_accuracy"]), "es_weights": True,
                    "ckpt_best": pytest.approx(first["val_accuracy"])}
    assert len(fitted.history["loss"]) == 2  # epochs 2 and 3 only
    state = resume.read_state(run)
    assert [row["epoch"] for row in state["history"]] == [0, 1, 2] and state["epoch"] == 3
    assert int(net.optimizer.iterations.numpy()) == 12


def test_full_disk_keeps_last_saved_epoch(tmp_path, monkeypatch):
    run, config = tmp_path / "run", TrainConfig()
    net = small_model(config)
    saves = []
    real_save = keras.Model.save_weights

    def save_until_full(self, path, *args, **kwargs):
        saves.append(path)
        if len(saves) == 2:  # the disk fills while epoch 2 is written
            with open(path, "wb") as f:
                f.write(b"\0" * 100)
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_save(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", save_until_full)
    with pytest.raises(OSError, match=rf"{run / 'state'}: cannot save epoch 2 .*No space left"):
        fit(net, data().repeat(), 3, make_callbacks(run, config))
    monkeypatch.undo()
    state = resume.read_state(run)
    assert state["epoch"] == 1
    restored = small_model(config)
    restored.optimizer.build(restored.trainable_variables)
    restored.load_weights(run / "state" / state["weights"])  # intact: epoch 1
    assert int(restored.optimizer.iterations.numpy()) == 4
    # The next start clears the torn temporary file and resumes from epoch 1.
    fitted = fit(restored, data().repeat(), 2, make_callbacks(run, config))
    assert len(fitted.history["loss"]) == 1 and not list(run.rglob("*.tmp*"))
    assert json.loads((run / "state" / "state.json").read_text())["epoch"] == 2
