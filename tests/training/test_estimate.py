"""The time estimate before training: real timed steps that leave the run untouched."""

from __future__ import annotations

import numpy as np

from alexnet import estimate, train
from alexnet.config import from_recipe


def test_timed_steps_leave_weights_and_optimizer_as_they_were(imagenette_like, tmp_path):
    config = from_recipe("modern", data=str(imagenette_like), epochs=3, limit=4,
                         image_size=64, batch_size=8, out=str(tmp_path / "run"))
    run = train.prepare(config)
    before = [variable.numpy().copy() for variable in run.model.variables]
    timed = estimate.time_steps(run)
    after = [variable.numpy() for variable in run.model.variables]
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert int(run.model.optimizer.iterations.numpy()) == 0
    assert timed.step_seconds > 0 and timed.val_step_seconds > 0
    assert (timed.steps_per_epoch, timed.val_steps, timed.epochs) == (5, 5, 3)
    assert timed.total_seconds == 3 * timed.epoch_seconds
    train.fit(run, verbose=0)  # training goes on from the untouched state
    assert (run.run_dir / "best.keras").is_file()


def timed(seconds_per_step: float, on_cpu: bool, image_size: int = 224, epochs: int = 80):
    return estimate.Estimate(seconds_per_step, seconds_per_step / 3, steps_per_epoch=37,
                             val_steps=16, epochs=epochs, image_size=image_size,
                             on_cpu=on_cpu)


def test_a_long_cpu_run_is_offered_a_smaller_setting():
    long = timed(8.0, on_cpu=True)
    size, epochs, seconds = long.smaller()
    assert (size, epochs) == (128, 20)
    assert np.isclose(seconds, long.epoch_seconds * (128 / 224) ** 2 * 20)
    text = str(long)
    assert "--image-size 128 --epochs 20" in text and "h." in text.splitlines()[0]


def test_no_smaller_setting_on_a_gpu_or_for_a_short_run():
    assert timed(8.0, on_cpu=False).smaller() is None
    assert timed(0.01, on_cpu=True).smaller() is None
    assert timed(8.0, on_cpu=True, image_size=128, epochs=20).smaller() is None
    assert "CPU" not in str(timed(8.0, on_cpu=False))


def test_durations_read_naturally():
    assert [estimate.duration(s) for s in (42, 600, 5400, 12600)] == [
        "42 s", "10 min", "1.5 h", "3.5 h"]
