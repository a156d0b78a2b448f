"""The time estimate: fit's own steps timed a few steps in, the figure said and kept,
and training exactly as it would have been without it."""

from __future__ import annotations

import json

import keras
import numpy as np

from alexnet.harness import callbacks, runfolder, train
from alexnet.recipes import from_recipe


def trained_weights(data, out, estimate: bool) -> list[np.ndarray]:
    config = from_recipe("quick", data=str(data), epochs=2, limit=4, image_size=64,
                         batch_size=8, out=str(out))
    run = train.start(config)
    try:
        train.load_data(run)
        train.build_model(run)
        train.compile_model(run)
        train.make_callbacks(run, estimate=estimate)
        train.fit(run, verbose=0)
    finally:
        run.lock.release()
    return [variable.numpy() for variable in run.model.variables]


def test_the_estimate_times_fits_steps_and_changes_nothing(imagenette_like, tmp_path, capsys):
    timed = trained_weights(imagenette_like, tmp_path / "timed", estimate=True)
    out = capsys.readouterr().out
    assert "Timed steps: " in out and "an epoch (5 + 3 steps) takes about" in out
    assert "2 epoch(s) about" in out
    saved = json.loads((tmp_path / "timed" / "config.json").read_text())
    estimate = saved["estimate"]  # beside the settings, to be held against the epochs
    assert (estimate["steps_per_epoch"], estimate["val_steps"], estimate["epochs"]) == (5, 3, 2)
    assert estimate["step_seconds"] > 0 and estimate["val_step_seconds"] > 0
    assert estimate["epoch_seconds"] == round(5 * estimate["step_seconds"]
                                              + 3 * estimate["val_step_seconds"], 2)
    assert saved["class_names"] and saved["lr"] == 0.02  # the rest kept
    keras.backend.clear_session()
    untimed = trained_weights(imagenette_like, tmp_path / "untimed", estimate=False)
    assert "estimate" not in json.loads((tmp_path / "untimed" / "config.json").read_text())
    # the validation steps timed before the first epoch leave the training untouched
    assert all(np.array_equal(a, b) for a, b in zip(timed, untimed, strict=True))


def test_an_epoch_of_one_step_is_still_timed(tmp_path, capsys):
    """`train --limit 1 --batch-size 10` on ten classes: one step an epoch, fewer than the
    warm-up; that step is timed (its trace included), and one validation batch again."""
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    net.compile("sgd", "categorical_crossentropy")
    batch = (np.zeros((2, 4), "float32"), np.eye(2, dtype="float32"))
    runfolder.save_config(tmp_path, {"lr": 0.1})
    timer = callbacks.TimeEstimate([batch], train_images=10, batch_size=10, val_images=2,
                                   val_batch_size=2, run_dir=tmp_path)
    timer.set_model(net)
    timer.set_params({"epochs": 3})
    timer.on_train_begin()
    timer.on_epoch_begin(0)
    timer.on_train_batch_begin(0)
    net.train_on_batch(*batch)
    timer.on_train_batch_end(0)
    assert timer.estimate["steps_per_epoch"] == 1 and timer.estimate["epochs"] == 3
    assert "an epoch (1 + 1 steps)" in capsys.readouterr().out
    assert json.loads((tmp_path / "config.json").read_text())["lr"] == 0.1


def test_the_estimate_reads_naturally(tmp_path, capsys):
    """What the old estimate's text test held: the figures, the epoch's steps, the run in
    hours; an epoch's seconds are its steps' times, the run's its epochs'."""
    runfolder.save_config(tmp_path, {})
    timer = callbacks.TimeEstimate([], train_images=37, batch_size=1, val_images=16,
                                   val_batch_size=1, run_dir=tmp_path)
    timer.set_params({"epochs": 80})
    timer.val_step_seconds, timer.first_epoch = 3.0, 0
    timer.report(8.0)
    text = capsys.readouterr().out
    assert "8.00 s a training step, 3.00 s a validation step" in text
    assert "(37 + 16 steps) takes about 6 min, 80 epoch(s) about 7.6 h." in text
    assert timer.estimate["epoch_seconds"] == 37 * 8.0 + 16 * 3.0


def test_durations_read_naturally():
    assert [callbacks.duration(s) for s in (42, 600, 5400, 12600)] == [
        "42 s", "10 min", "1.5 h", "3.5 h"]
