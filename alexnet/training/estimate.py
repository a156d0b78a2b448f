"""How long a run will take: a few timed steps before ``fit``, on the run's own model and
inputs, then everything put back as it was.

The steps run through the run's input pipeline, so the figure includes decoding and
augmentation, which on a CPU share the cores with the network. The first step of each
kind is not timed: it traces the step function (which ``fit`` then reuses). The estimate
is kept in the run's config.json (``estimate``), so that every run can be held against
its own epochs' times (benchmarks/time_to_accuracy.py prints both).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

from alexnet import runfolder


@dataclass
class Estimate:
    """Measured seconds per training and validation step, and the run's step counts."""

    step_seconds: float
    val_step_seconds: float
    steps_per_epoch: int
    val_steps: int
    epochs: int                     # still to run

    @property
    def epoch_seconds(self) -> float:
        return self.steps_per_epoch * self.step_seconds + self.val_steps * self.val_step_seconds

    @property
    def total_seconds(self) -> float:
        return self.epochs * self.epoch_seconds

    def __str__(self) -> str:
        text = (f"Timed steps: {self.step_seconds:.2f} s a training step, "
                f"{self.val_step_seconds:.2f} s a validation step; an epoch "
                f"({self.steps_per_epoch} + {self.val_steps} steps) takes about "
                f"{duration(self.epoch_seconds)}, {self.epochs} epoch(s) about "
                f"{duration(self.total_seconds)}.")
        return text


def duration(seconds: float) -> str:
    """'40 s', '12 min' or '3.5 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _seconds_per_step(step, batches, steps: int, warmup: int = 2) -> float:
    """Runs ``step(x, y)`` on ``warmup`` untimed batches (the first traces the step, the
    next few set up the kernels), then on ``steps`` timed ones; a dataset of fewer
    batches gives its last one again."""
    batches, batch = iter(batches), None
    for _ in range(warmup):
        batch = next(batches, batch)
        step(*batch[:2])
    start = time.perf_counter()
    for _ in range(steps):
        batch = next(batches, batch)
        step(*batch[:2])
    return (time.perf_counter() - start) / max(steps, 1)


def time_steps(run, steps: int = 4) -> Estimate:
    """The expected time of ``run`` (train.Run) from ``steps`` timed training and
    validation steps at its own sizes, through its own input pipeline; the model's
    weights and optimizer state are restored afterwards."""
    net, inputs = run.model, run.inputs
    if not net.optimizer.built:
        net.optimizer.build(net.trainable_variables)
    saved = [(variable, variable.numpy()) for variable in
             [*net.variables, *net.optimizer.variables]]
    try:
        train_steps = min(steps, max(1, len(inputs.train) // run.config.batch_size - 2))
        step_seconds = _seconds_per_step(
            net.train_on_batch, inputs.train_batches(seed=run.config.seed), train_steps)
        val_seconds = _seconds_per_step(net.test_on_batch, inputs.val_batches(), 2, warmup=1)
    finally:
        for variable, value in saved:
            variable.assign(value)
        net.reset_metrics()
    timed = Estimate(step_seconds, val_seconds,
                     steps_per_epoch=math.ceil(len(inputs.train) / run.config.batch_size),
                     val_steps=math.ceil(len(inputs.val) / inputs.val_batch_size),
                     epochs=max(0, run.config.epochs - run.first_epoch))
    saved = runfolder.load_config(run.write_dir)
    runfolder.save_config(run.write_dir, {**saved, "estimate": {
        **asdict(timed), "epoch_seconds": round(timed.epoch_seconds, 2)}})
    return timed
