"""The time estimate before training: real timed steps that leave the run untouched."""

from __future__ import annotations

import json

import numpy as np

from alexnet.training import estimate, train
from alexnet.training.config import from_recipe


def test_timed_steps_leave_weights_and_optimizer_as_they_were(imagenette_like, tmp_path):
    config = from_recipe("modern", data=str(imagenette_like), epochs=3, limit=4,
                         image_size=64, batch_size=8, out=str(tmp_path / "run"))
    run = train.start(config)
    try:
        train.load_data(run)
        train.build_model(run)
        train.compile_model(run)
        train.make_callbacks(run)
        before = [variable.numpy().copy() for variable in run.model.variables]
        timed = estimate.time_steps(run)
        after = [variable.numpy() for variable in run.model.variables]
        assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
        assert int(run.model.optimizer.iterations.numpy()) == 0
        assert timed.step_seconds > 0 and timed.val_step_seconds > 0
        assert (timed.steps_per_epoch, timed.val_steps, timed.epochs) == (5, 5, 3)
        assert timed.total_seconds == 3 * timed.epoch_seconds
        # kept in config.json beside the settings, to be held against the epochs' times
        saved = json.loads((run.run_dir / "config.json").read_text())
        assert saved["estimate"]["step_seconds"] == timed.step_seconds
        assert saved["estimate"]["epoch_seconds"] == round(timed.epoch_seconds, 2)
        assert saved["class_names"] and saved["lr"] == config.lr  # the rest kept
        train.fit(run, verbose=0)  # training goes on from the untouched state
    finally:
        run.lock.release()
    assert (run.run_dir / "best.keras").is_file()


def test_the_estimate_reads_naturally():
    timed = estimate.Estimate(8.0, 3.0, steps_per_epoch=37, val_steps=16, epochs=80)
    assert timed.epoch_seconds == 37 * 8.0 + 16 * 3.0
    assert timed.total_seconds == 80 * timed.epoch_seconds
    text = str(timed)
    assert "8.00 s a training step, 3.00 s a validation step" in text
    assert "(37 + 16 steps) takes about 6 min, 80 epoch(s) about 7.6 h." in text


def test_durations_read_naturally():
    assert [estimate.duration(s) for s in (42, 600, 5400, 12600)] == [
        "42 s", "10 min", "1.5 h", "3.5 h"]


def test_a_dataset_of_fewer_batches_is_timed_on_its_last_again():
    """`train --limit 1 --batch-size 10` on ten classes: one batch an epoch, fewer than
    the warm-up and timed steps together; the estimate times it again, never stops."""
    steps = []
    seconds = estimate._seconds_per_step(lambda x, y: steps.append((x, y)), [("x", "y")], 3)
    assert steps == [("x", "y")] * 5 and seconds >= 0  # 2 warm-up steps, 3 timed
