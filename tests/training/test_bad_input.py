"""Bad input to training: each gets a one-line error naming the file or setting, and
nothing already written is lost. (Broken image files: tests/data/test_batches.py.)"""

from __future__ import annotations

import dataclasses
import errno
import json
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from alexnet.__main__ import main
from alexnet.harness import resume, runfolder, train
from alexnet.harness.callbacks import run_callbacks
from alexnet.models import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE
from alexnet.models.alexnet import build
from alexnet.recipes import TrainConfig
from conftest import compiled


def error_line(capsys, argv: list[str]) -> str:
    """Runs the CLI, checks it failed with status 2 and one line, returns the line."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def save_config(run_dir, config: TrainConfig, class_names: list[str], root) -> None:
    """config.json as ``train`` writes it for a run of ``config`` on ``root``."""
    runfolder.save_config(run_dir, {**dataclasses.asdict(config), "class_names": class_names,
                                    "dataset_root": str(root)})


def test_missing_or_empty_dataset(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default run folders go to checkpoints/ here
    assert f"{tmp_path / 'nowhere'}: no such folder" in error_line(
        capsys, ["train", "--data", str(tmp_path / "nowhere")])
    empty = tmp_path / "empty"
    empty.mkdir()
    line = error_line(capsys, ["train", "--data", str(empty)])
    assert f"{empty}: no held-out images" in line
    (empty / "val").mkdir()
    line = error_line(capsys, ["train", "--data", str(empty)])
    assert f"{empty / 'train'}: no such folder" in line
    for split in ("train", "val"):
        (tmp_path / "no-images" / split / "cat").mkdir(parents=True)
    assert "no-images/train: no images" in error_line(
        capsys, ["train", "--data", str(tmp_path / "no-images")])


def test_class_folders_differ(capsys, tiny_dataset, tmp_path):
    (tiny_dataset / "val" / "eel").rename(tiny_dataset / "val" / "emu")
    line = error_line(capsys, ["train", "--data", str(tiny_dataset), "--out",
                               str(tmp_path / "run")])
    assert f"{tiny_dataset / 'val'}: class folders differ" in line
    assert "missing ['eel']" in line and "extra ['emu']" in line


@pytest.mark.parametrize("variant", ["paper", "bn"])  # owt has bn's geometry
def test_image_size_limit(capsys, variant):
    smallest = MIN_IMAGE_SIZE[variant]
    net = build(variant, 3, smallest)  # the smallest size allowed really runs
    assert net.predict_on_batch(np.zeros((1, smallest, smallest, 3), "float32")).shape == (1, 3)
    for size in (smallest - 1, MAX_IMAGE_SIZE + 1):
        line = error_line(capsys, ["train", "--variant", variant, "--image-size", str(size)])
        assert f"--image-size {size}: variant {variant!r} takes {smallest} to 512 pixels" in line


def save_state(run_dir, epoch: int = 1) -> None:
    """state/state.json as the resume state commits it after ``epoch`` epochs."""
    runfolder.make_dirs(run_dir / resume.STATE_DIR)
    (run_dir / resume.STATE_DIR / resume.STATE_FILE).write_text(json.dumps({
        "epoch": epoch, "weights": f"epoch-{epoch:04d}.weights.h5", "stopped": False,
        "callbacks": {}, "history": [{"epoch": e, "loss": 1.0} for e in range(epoch)]}))


def test_existing_run_is_not_overwritten_and_resume_keeps_settings(capsys, tiny_dataset, tmp_path):
    run = tmp_path / "run"
    save_state(run)
    line = error_line(capsys, ["train", "--data", str(tiny_dataset), "--out", str(run)])
    assert f"{run} already holds a run" in line and f"--resume {run}" in line
    (run / "history.csv").write_text("epoch,loss\n0,1.0\n")  # any of a run's files
    (run / resume.STATE_DIR / resume.STATE_FILE).unlink()
    line = error_line(capsys, ["train", "--data", str(tiny_dataset), "--out", str(run)])
    assert f"{run} already holds a run" in line
    save_state(run)
    save_config(run, TrainConfig(data=str(tiny_dataset), out=str(run)), ["a"], tiny_dataset)
    line = error_line(capsys, ["train", "--resume", str(run), "--lr", "0.1"])
    assert "only --epochs, --strategy and --time-limit may change" in line
    assert "--lr: saved 0.05, given 0.1" in line  # the modern recipe's


def test_checkpoint_class_count_differs_from_data(capsys, tiny_dataset, tmp_path):
    run = tmp_path / "run"
    config = TrainConfig(data=str(tiny_dataset), out=str(run))
    save_config(run, config, ["cat", "dog"], tiny_dataset)  # a run trained on 2 classes
    save_state(run)
    line = error_line(capsys, ["train", "--resume", str(run)])
    assert f"{run}: its checkpoints have 2 classes but {tiny_dataset} has 3" in line


def test_unwritable_output_folder(capsys, tiny_dataset, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    line = error_line(capsys, ["train", "--data", str(tiny_dataset), "--image-size", "95",
                               "--out", str(blocker / "run")])
    assert str(blocker / "run") in line and f"{blocker} is a file, not a folder" in line


# In-process training of a small model with the project's callbacks: fast, and it
# exercises what a run does (fit with callbacks.run_callbacks: the notebook's callbacks and
# the run's own).

CLASSES = 6


def small_model(config: TrainConfig) -> keras.Model:
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(CLASSES, activation="softmax")])
    return compiled(net, config, steps_per_epoch=4)


def data(scale: float = 1.0, batches: int = 4) -> tf.data.Dataset:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8 * batches, 4)).astype("float32") * scale
    y = np.eye(CLASSES, dtype="float32")[rng.integers(0, CLASSES, 8 * batches)]
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(8)


def fit(net: keras.Model, dataset, epochs: int, callbacks: list,
        initial_epoch: int = 0) -> keras.callbacks.History:
    return net.fit(dataset, steps_per_epoch=4, epochs=epochs, validation_data=data(),
                   shuffle=False, callbacks=callbacks, verbose=0, initial_epoch=initial_epoch)


class Diverge(keras.callbacks.Callback):
    """Turns the weights to NaN as epoch ``epoch`` (1 is the first) begins: a run that
    diverges part way, its loss NaN from that epoch's first batch on."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            for weight in self.model.trainable_weights:
                weight.assign(np.full(weight.shape, np.nan, "float32"))


def test_nan_loss_stops_keeps_last_good_epoch_then_resumes(tmp_path, monkeypatch):
    # what ``train.fit`` feeds the model: ``data()``'s four batches an epoch
    monkeypatch.setattr(train, "train_batches", lambda run, *args, **kwargs: data())
    monkeypatch.setattr(train, "val_batches", lambda run, *args, **kwargs: data())
    run_dir, config = tmp_path / "run", TrainConfig(schedule="plateau", lr_patience=1, epochs=3)
    net = small_model(config)
    run = train.Run(config, run_dir, run_dir, lock=None, model=net, train_data=range(32),
                    val_data=range(32),
                    callbacks=[Diverge(epoch=2), *run_callbacks(run_dir, config)])
    with pytest.raises(FloatingPointError, match=rf"NaN or Inf loss encountered at batch 0.*"
                                                 rf"training stopped; {re.escape(str(run_dir))}"):
        train.fit(run, verbose=0)
    state = resume.read_state(run_dir)
    assert state["epoch"] == 1 and len(state["history"]) == 1
    best = runfolder.load_model(run_dir / "best.keras")
    assert all(np.isfinite(w).all() for w in best.get_weights())
    assert (run_dir / "history.csv").read_text().count("\n") == 2  # header and epoch 1
    assert not list(run_dir.rglob("*.tmp*"))

    # Resuming fits again with the same callbacks from the last committed epoch (fit's
    # ``initial_epoch``, as train.fit gives it): the resume state restores the weights,
    # the optimizer and the callbacks' counters, then the remaining epochs run.
    seen = {}

    class Probe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            peers = {type(c).__name__: c for c in self.model.probe_peers}
            seen.update(iterations=int(self.model.optimizer.iterations.numpy()),
                        rlr_best=peers["ReduceLROnPlateau"].best,
                        es_best=peers["EarlyStopping"].best,
                        es_weights=peers["EarlyStopping"].best_weights is not None,
                        ckpt_best=peers["ModelCheckpoint"].best)

    net = small_model(config)
    callbacks = run_callbacks(run_dir, config)
    net.probe_peers = callbacks
    assert resume.initial_epoch(run_dir, 3) == 1
    fitted = fit(net, data().repeat(), 3, [*callbacks, Probe()],
                 initial_epoch=resume.initial_epoch(run_dir, 3))
    first = state["history"][0]
    assert seen == {"iterations": 4, "rlr_best": pytest.approx(first["val_loss"]),
                    "es_best": pytest.approx(first["val_accuracy"]), "es_weights": True,
                    "ckpt_best": pytest.approx(first["val_accuracy"])}
    assert len(fitted.history["loss"]) == 2  # epochs 2 and 3 only
    state = resume.read_state(run_dir)
    assert [row["epoch"] for row in state["history"]] == [0, 1, 2] and state["epoch"] == 3
    assert int(net.optimizer.iterations.numpy()) == 12


def test_nan_validation_loss_stops_too(tmp_path):
    """A diverged network whose training loss still reads as a number: the validation
    loss tells (Keras' TerminateOnNaN watches only the training loss)."""
    run_dir, config = tmp_path / "run", TrainConfig()
    net = small_model(config)
    with pytest.raises(FloatingPointError, match="validation loss is nan after epoch 1"):
        net.fit(data(), epochs=2, validation_data=data(scale=np.nan), verbose=0,
                callbacks=run_callbacks(run_dir, config))
    assert resume.read_state(run_dir) is None  # the diverged epoch was not committed


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
    with pytest.raises(OSError, match=rf"cannot save epoch 2 \({re.escape(str(run / 'state'))}"
                                      r".*No space left"):
        fit(net, data().repeat(), 3, run_callbacks(run, config))
    monkeypatch.undo()
    state = resume.read_state(run)
    assert state["epoch"] == 1
    restored = small_model(config)
    restored.optimizer.build(restored.trainable_variables)
    restored.load_weights(run / "state" / state["weights"])  # intact: epoch 1
    assert int(restored.optimizer.iterations.numpy()) == 4
    # The next start clears the torn temporary file and resumes from epoch 1.
    fitted = fit(restored, data().repeat(), 2, run_callbacks(run, config),
                 initial_epoch=resume.initial_epoch(run, 2))
    assert len(fitted.history["loss"]) == 1 and not list(run.rglob("*.tmp*"))
    assert json.loads((run / "state" / "state.json").read_text())["epoch"] == 2
