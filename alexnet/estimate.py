"""How long a run will take: a few timed steps before ``fit``, on the run's own model and
inputs, then everything put back as it was.

The steps run through the run's input pipeline, so the figure includes decoding and
augmentation, which on a CPU share the cores with the network. The first step of each
kind is not timed: it traces the step function (which ``fit`` then reuses).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from alexnet import precision

SMALL_IMAGE_SIZE, SMALL_EPOCHS = 128, 20  # what our CPU runs use (results/*-cpu-128*)
LONG_ON_CPU = 30 * 60  # seconds beyond which a CPU run is offered the smaller setting


@dataclass
class Estimate:
    """Measured seconds per training and validation step, and the run's step counts."""

    step_seconds: float
    val_step_seconds: float
    steps_per_epoch: int
    val_steps: int
    epochs: int                     # still to run
    image_size: int
    on_cpu: bool

    @property
    def epoch_seconds(self) -> float:
        return self.steps_per_epoch * self.step_seconds + self.val_steps * self.val_step_seconds

    @property
    def total_seconds(self) -> float:
        return self.epochs * self.epoch_seconds

    def smaller(self) -> tuple[int, int, float] | None:
        """A smaller setting for a long CPU run: (image size, epochs, its seconds), scaled
        from this measurement by pixels and epochs; None where none is needed."""
        if not self.on_cpu or self.total_seconds <= LONG_ON_CPU:
            return None
        size, epochs = min(self.image_size, SMALL_IMAGE_SIZE), min(self.epochs, SMALL_EPOCHS)
        if (size, epochs) == (self.image_size, self.epochs):
            return None
        return size, epochs, (self.epoch_seconds * (size / self.image_size) ** 2 * epochs)

    def __str__(self) -> str:
        text = (f"Timed steps: {self.step_seconds:.2f} s a training step, "
                f"{self.val_step_seconds:.2f} s a validation step; an epoch "
                f"({self.steps_per_epoch} + {self.val_steps} steps) takes about "
                f"{duration(self.epoch_seconds)}, {self.epochs} epoch(s) about "
                f"{duration(self.total_seconds)}.")
        smaller = self.smaller()
        if smaller:
            size, epochs, seconds = smaller
            text += (f"\nThis is a CPU: image size {size} and {epochs} epochs would take about "
                     f"{duration(seconds)} (scaled by pixels from these steps; --image-size "
                     f"{size} --epochs {epochs}; the modern recipe reached 75 % top-1 on "
                     f"Imagenette so on our 2-core CPU).")
        return text


def duration(seconds: float) -> str:
    """'40 s', '12 min' or '3.5 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _seconds_per_step(step, batches, steps: int) -> float:
    """Runs ``step(x, y)`` on one untimed batch, then on ``steps`` timed ones."""
    batches = iter(batches)
    x, y = next(batches)[:2]
    step(x, y)
    start, done = time.perf_counter(), 0
    for _ in range(steps):
        try:
            x, y = next(batches)[:2]
        except StopIteration:
            break
        step(x, y)
        done += 1
    return (time.perf_counter() - start) / max(done, 1)


def time_steps(run, steps: int = 3) -> Estimate:
    """The expected time of ``run`` (train.Run) from ``steps`` timed training and
    validation steps; the model's weights and optimizer state are restored afterwards."""
    net, inputs = run.model, run.inputs
    if not net.optimizer.built:
        net.optimizer.build(net.trainable_variables)
    saved = [(variable, variable.numpy()) for variable in
             [*net.variables, *net.optimizer.variables]]
    try:
        train_steps = min(steps, max(1, len(inputs.train) // run.config.batch_size - 1))
        step_seconds = _seconds_per_step(
            net.train_on_batch, inputs.train_batches(seed=run.config.seed), train_steps)
        val_seconds = _seconds_per_step(net.test_on_batch, inputs.val_batches(), 2)
    finally:
        for variable, value in saved:
            variable.assign(value)
        net.reset_metrics()
    return Estimate(step_seconds, val_seconds,
                    steps_per_epoch=math.ceil(len(inputs.train) / run.config.batch_size),
                    val_steps=math.ceil(len(inputs.val) / inputs.val_batch_size),
                    epochs=max(0, run.config.epochs - run.first_epoch),
                    image_size=run.config.image_size,
                    on_cpu=precision.gpu_capability() is None)
