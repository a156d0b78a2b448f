"""The callbacks of a training run, and the list ``fit`` gets.

Keras' own where they do the job (EarlyStopping, ReduceLROnPlateau, TensorBoard); ours
where Keras lacks it: a best checkpoint that a crash cannot tear, an epoch timer with a
time limit, a stop at the first non-finite loss before any checkpoint of it is written,
and the resume state (resume.py).
"""

from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path

import keras

from alexnet import resume
from alexnet.config import TrainConfig


class EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` and ``learning_rate`` to each epoch's logs (so history.csv
    records speed and schedule) and stops training after the epoch that passes
    ``time_limit`` minutes, if given."""

    def __init__(self, time_limit: float | None = None):
        super().__init__()
        self.time_limit, self.elapsed = time_limit, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        self.elapsed += seconds
        if logs is not None:
            logs["epoch_seconds"] = seconds
            logs.setdefault("learning_rate", float(keras.ops.convert_to_numpy(
                self.model.optimizer.learning_rate)))
        if self.time_limit and self.elapsed > 60 * self.time_limit:
            print(f"\nStopping: time limit of {self.time_limit} minutes reached")
            self.model.stop_training = True


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops at the first NaN or infinite loss with an error, before the epoch ends,
    so no checkpoint or state of the diverged model is written (Keras'
    TerminateOnNaN lets the epoch end, and its checkpoints, go ahead)."""

    def __init__(self, run_dir: Path):
        super().__init__()
        self.run_dir = run_dir
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"loss is {loss} at epoch {self.epoch + 1}, batch {batch + 1}: training "
                f"stopped; {self.run_dir} keeps the last good epoch (try a lower --lr)")


def recipe_callbacks(config: TrainConfig, best_path: Path) -> list[keras.callbacks.Callback]:
    """The callbacks a Keras user writes (the notebook builds the same in plain sight):
    the best checkpoint by validation accuracy, early stopping that restores the best
    weights, and, with the plateau schedule, learning-rate drops when val_loss stalls."""
    chosen = [
        BestCheckpoint(best_path, monitor="val_accuracy", mode="max"),
        keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                      patience=config.patience, restore_best_weights=True),
    ]
    if config.schedule == "plateau":
        chosen.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1,
                                                        patience=config.lr_patience))
    return chosen


def make_callbacks(run_dir: Path, config: TrainConfig, write_dir: Path | None = None,
                   chosen: list[keras.callbacks.Callback] | None = None,
                   ) -> list[keras.callbacks.Callback]:
    """A run's callbacks: timing, a stop on a NaN loss, the ``chosen`` ones (default
    ``recipe_callbacks``), TensorBoard logs in ``<run>/logs`` (where TensorFlow is
    installed: Keras writes them with it), and last the resume state, which also writes
    ``history.csv`` and keeps the chosen callbacks' counters.

    ``fit`` with these continues the run in ``run_dir`` from its last completed epoch
    if it has one. ``write_dir``: where this process writes (default ``run_dir``; a
    scratch folder on multi-worker workers other than the chief).
    """
    write_dir = Path(write_dir or run_dir)
    if chosen is None:
        chosen = recipe_callbacks(config, write_dir / "best.keras")
    peers = [EpochTimer(config.time_limit), StopOnNonFiniteLoss(run_dir), *chosen]
    if importlib.util.find_spec("tensorboard") and importlib.util.find_spec("tensorflow"):
        peers.append(keras.callbacks.TensorBoard(write_dir / "logs", write_graph=False))
    return [*peers, resume.ResumeState(run_dir, peers, best_path=Path(run_dir) / "best.keras",
                                       write_dir=write_dir)]


class BestCheckpoint(keras.callbacks.ModelCheckpoint):
    """``ModelCheckpoint(save_best_only=True)`` that is never torn: it saves to a
    temporary file and renames it over the best model."""

    def __init__(self, path: Path, **kwargs):
        self.path = Path(path)
        tmp = self.path.with_name(f"{self.path.stem}{resume.TMP}{self.path.suffix}")
        super().__init__(tmp, save_best_only=True, **kwargs)

    def on_epoch_end(self, epoch, logs=None):
        tmp = Path(self.filepath)
        try:
            super().on_epoch_end(epoch, logs)
            if tmp.is_file():
                resume.commit(tmp, self.path)
        except OSError as error:
            raise OSError(f"{self.path}: cannot save the best model ({error}); the previous "
                          f"one is kept") from None
