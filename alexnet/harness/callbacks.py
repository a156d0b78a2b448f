"""The callbacks of a command-line run, and the list ``fit`` gets.

The notebook's (``recipe_callbacks``: Keras' ModelCheckpoint, EarlyStopping and, for the
plateau schedule, ReduceLROnPlateau; the core's epoch timer), and around them Keras'
TerminateOnNaN and TensorBoard and ours where Keras lacks it: the run's time, estimated
a few steps in; a stop when the validation loss is not finite; a disk-space check; and
the resume state (resume.py).
"""

from __future__ import annotations

import errno
import importlib.util
import math
import time
from pathlib import Path

import keras

from alexnet import runs
from alexnet.harness import resume, runfolder
from alexnet.recipes import TrainConfig
from alexnet.training import EpochTimer


class TimeEstimate(keras.callbacks.Callback):
    """Says how long the run will take, a few steps into it, and keeps the figure in
    config.json (``estimate``) to be held against the epochs' real times
    (benchmarks/time_to_accuracy.py). Keras' progress bar tells an epoch's time left only
    at ``verbose=1``; this tells the whole run's, at one line an epoch.

    Timed: before the first epoch, two validation steps after one that traces
    (``test_on_batch``, which leaves the weights alone); then fit's own training steps
    after the first ``warmup`` (which trace the step and set up the kernels), so that the
    figure holds the input pipeline and the callbacks as the epochs will."""

    def __init__(self, val_batches, train_images: int, batch_size: int, val_images: int,
                 val_batch_size: int, run_dir: Path, steps: int = 4, warmup: int = 2):
        super().__init__()
        self.val_batches, self.run_dir = val_batches, Path(run_dir)
        self.steps_per_epoch = math.ceil(train_images / batch_size)
        self.val_steps = math.ceil(val_images / val_batch_size)
        self.first = min(warmup, self.steps_per_epoch - 1)  # the steps timed, in epoch 1
        self.last = min(self.first + steps, self.steps_per_epoch) - 1
        self.start = self.first_epoch = self.val_step_seconds = None
        self.estimate: dict | None = None

    def on_train_begin(self, logs=None):
        batches = iter(self.val_batches)
        batch = next(batches)
        self.model.test_on_batch(*batch[:2])
        start = time.perf_counter()
        for _ in range(2):
            batch = next(batches, batch)  # a single batch is timed again
            self.model.test_on_batch(*batch[:2])
        self.val_step_seconds = (time.perf_counter() - start) / 2

    def on_epoch_begin(self, epoch, logs=None):
        self.first_epoch = epoch if self.first_epoch is None else self.first_epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.estimate is None and batch == self.first == 0:
            self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.estimate is not None:
            return
        if batch == self.first - 1:
            self.start = time.perf_counter()
        if batch == self.last:
            self.report((time.perf_counter() - self.start) / (self.last - self.first + 1))

    def report(self, step_seconds: float) -> None:
        epochs = self.params["epochs"] - self.first_epoch
        epoch = self.steps_per_epoch * step_seconds + self.val_steps * self.val_step_seconds
        self.estimate = dict(step_seconds=step_seconds, val_step_seconds=self.val_step_seconds,
                             steps_per_epoch=self.steps_per_epoch, val_steps=self.val_steps,
                             epochs=epochs, epoch_seconds=round(epoch, 2))
        print(f"Timed steps: {step_seconds:.2f} s a training step, {self.val_step_seconds:.2f}"
              f" s a validation step; an epoch ({self.steps_per_epoch} + {self.val_steps} "
              f"steps) takes about {duration(epoch)}, {epochs} epoch(s) about "
              f"{duration(epochs * epoch)}.", flush=True)
        runfolder.save_config(self.run_dir, {**runs.load_config(self.run_dir),
                                             "estimate": self.estimate})


def duration(seconds: float) -> str:
    """'40 s', '12 min' or '3.5 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class StopOnNonFiniteValidation(keras.callbacks.Callback):
    """Stops with an error when an epoch's validation loss is not finite (a diverged
    network whose training loss still reads as a number); Keras' ``TerminateOnNaN``
    watches only the training loss."""

    def on_epoch_end(self, epoch, logs=None):
        loss = float((logs or {}).get("val_loss", 0.0))
        if not math.isfinite(loss):
            raise FloatingPointError(f"validation loss is {loss} after epoch {epoch + 1}: the "
                                     "network diverged (try a lower --lr)")


class DiskSpace(keras.callbacks.Callback):
    """Before anything is saved at an epoch's end, checks that the run folder's disk holds
    the epoch's files (the best model, the weights and optimizer state: about 4 numbers
    per parameter); if not, stops with one line, so no writer meets a full disk half-way
    and the last saved epoch stays whole."""

    def __init__(self, run_dir: Path):
        super().__init__()
        self.run_dir = Path(run_dir)

    def on_epoch_end(self, epoch, logs=None):
        need = 4 * 4 * self.model.count_params() + (16 << 20)
        free = runfolder.free_bytes(self.run_dir)
        if free < need:
            kept = f"epoch {epoch} is kept" if epoch else "no epoch was saved yet"
            raise OSError(errno.ENOSPC, f"{self.run_dir}: {free / 1e6:.0f} MB free, epoch "
                                        f"{epoch + 1} needs {need / 1e6:.0f} MB; {kept}: free "
                                        "space, then --resume")


def recipe_callbacks(config: TrainConfig, best_path: Path) -> list[keras.callbacks.Callback]:
    """The callbacks the notebook's cell makes: the epoch timer (the core's), the best
    checkpoint by validation accuracy, early stopping that restores the best weights,
    and, with the plateau schedule, learning-rate drops when val_loss stalls."""
    chosen = [
        EpochTimer(config.time_limit),
        keras.callbacks.ModelCheckpoint(best_path, monitor="val_accuracy", mode="max",
                                        save_best_only=True),
        keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                      patience=config.patience, restore_best_weights=True),
    ]
    if config.schedule == "plateau":
        chosen.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1,
                                                        patience=config.lr_patience))
    return chosen


def run_callbacks(run_dir: Path, config: TrainConfig, write_dir: Path | None = None,
                  ) -> list[keras.callbacks.Callback]:
    """A run's callbacks: stops on a non-finite loss, the notebook's (``recipe_callbacks``,
    its checkpoint written to a temporary name that the resume state renames over
    ``best.keras`` once whole: Keras writes in place, so a crash mid-save would tear it),
    TensorBoard logs in ``<run>/logs``, and last the resume state, which also writes
    ``history.csv`` and keeps the other callbacks' counters. ``write_dir``: where this
    process writes (default ``run_dir``; a scratch folder on multi-worker workers other
    than the chief)."""
    write_dir = Path(write_dir or run_dir)
    best = write_dir / "best.keras"
    temporary = best.with_name(f"best{runfolder.TMP}.keras")
    peers = [keras.callbacks.TerminateOnNaN(raise_error=True), StopOnNonFiniteValidation(),
             DiskSpace(write_dir), *recipe_callbacks(config, temporary)]
    if importlib.util.find_spec("tensorboard"):
        peers.append(keras.callbacks.TensorBoard(write_dir / "logs", write_graph=False))
    return [*peers, resume.ResumeState(run_dir, peers, best_path=Path(run_dir) / "best.keras",
                                       write_dir=write_dir, commits=[(temporary, best)])]
