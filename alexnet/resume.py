"""Crash-safe training state: continue a run killed at any moment from its last
completed epoch.

After every epoch, ``ResumeState`` commits to ``<run>/state/``: the weights with
the optimizer's state (momentum, iteration count, learning rate) and a
``state.json`` naming them, holding the epoch count, every epoch's logs and the
counters and best values of the callbacks that have them (EarlyStopping,
ReduceLROnPlateau, the best checkpoint), which Keras' BackupAndRestore does not keep.
``history.csv`` is written from those logs, so it holds each epoch exactly once.

Every file is written to a temporary name, flushed to disk, then renamed: a
reader (or a resumed run) sees the previous version or the new one, never a torn
one. ``state.json`` is renamed last: it is the commit.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import keras

STATE_DIR = "state"
STATE_FILE = "state.json"
TMP = ".tmp"  # suffix (before any .keras/.h5) of files being written
# Callback attributes that change as training goes on, by callback class.
COUNTERS = {
    keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch", "stopped_epoch"),
    keras.callbacks.ReduceLROnPlateau: ("wait", "best", "cooldown_counter"),
    keras.callbacks.ModelCheckpoint: ("best",),
}


def commit(tmp: Path, final: Path) -> None:
    """Flushes ``tmp`` to disk and renames it over ``final`` (atomic on POSIX)."""
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_text(path: Path, text: str) -> None:
    """Writes a small text file atomically."""
    tmp = path.with_name(path.name + TMP)
    tmp.write_text(text)
    commit(tmp, path)


def read_state(run_dir: Path) -> dict | None:
    """The last committed state of a run, or None if it has not finished an epoch."""
    path = Path(run_dir) / STATE_DIR / STATE_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise ValueError(f"{path}: unreadable resume state ({error})") from None


def history_csv(rows: list[dict]) -> str:
    """Epoch logs as Keras' CSVLogger writes them: ``epoch`` then the sorted keys."""
    keys = sorted({key for row in rows for key in row} - {"epoch"})
    out = io.StringIO()
    writer = csv.DictWriter(out, ["epoch", *keys], restval="NA", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _plain(value):
    """JSON-safe logs and counters: ints stay ints, numpy/tensor scalars become floats
    (json writes infinities as Infinity and reads them back)."""
    if value is None or isinstance(value, int):
        return value
    return float(keras.ops.convert_to_numpy(value))


class ResumeState(keras.callbacks.Callback):
    """Saves the training state after every epoch and restores it when ``fit`` starts.

    Put it last in the callback list, with the other callbacks as ``peers``: it
    records their counters after they have seen the epoch, and restores them
    after their ``on_train_begin`` has reset them. ``fit`` then starts at the
    first epoch not completed (or runs none if the run had stopped early).

    ``write_dir`` is where the state goes (default ``run_dir``); in multi-worker
    training the other workers write to a scratch folder and read the chief's.
    """

    def __init__(self, run_dir: Path, peers: list[keras.callbacks.Callback],
                 best_path: Path | None = None, write_dir: Path | None = None):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.write_dir = Path(write_dir or run_dir)
        self.best_path = best_path
        self.tracked = [(type(peer).__name__, peer, names) for peer in peers
                        for kind, names in COUNTERS.items() if isinstance(peer, kind)]
        self.rows: list[dict] = []

    def on_train_begin(self, logs=None):
        state_dir = self.write_dir / STATE_DIR
        state_dir.mkdir(parents=True, exist_ok=True)
        for stale in [*self.write_dir.glob(f"*{TMP}*"), *state_dir.glob(f"*{TMP}*")]:
            stale.unlink()  # a write cut short by a crash
        state = read_state(self.run_dir)
        if state is None:
            return
        weights = self.run_dir / STATE_DIR / state["weights"]
        if not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        try:
            self.model.load_weights(weights)
        except ValueError as error:
            raise ValueError(f"{weights}: does not fit this model ({error})") from None
        for name, peer, attributes in self.tracked:
            for attribute in attributes:
                if attribute in state["callbacks"].get(name, {}):
                    setattr(peer, attribute, state["callbacks"][name][attribute])
            if getattr(peer, "restore_best_weights", False) and self.best_path \
                    and self.best_path.is_file():
                best = keras.saving.load_model(self.best_path, compile=False, safe_mode=True)
                peer.best_weights = best.get_weights()
        self.rows = state["history"]
        write_text(self.write_dir / "history.csv", history_csv(self.rows))  # if cut short
        # Where fit starts, as keras.callbacks.BackupAndRestore sets it.
        self.model._initial_epoch = self.params["epochs"] if state["stopped"] else state["epoch"]
        print(f"Resuming {self.run_dir} after epoch {state['epoch']}"
              f"{' (it had stopped early)' if state['stopped'] else ''}, "
              f"learning rate {_plain(self.model.optimizer.learning_rate):g}")

    def on_epoch_end(self, epoch, logs=None):
        self.rows = [row for row in self.rows if row["epoch"] < epoch]
        self.rows.append({"epoch": epoch, **{k: _plain(v) for k, v in (logs or {}).items()}})
        self.save(epoch + 1)

    def on_train_end(self, logs=None):
        self.model._initial_epoch = None  # a later fit() starts where it is told

    def save(self, epochs_done: int) -> None:
        """Commits weights and optimizer, then state.json; then rewrites history.csv."""
        state_dir = self.write_dir / STATE_DIR
        name = f"epoch-{epochs_done:04d}.weights.h5"
        state = {"epoch": epochs_done, "weights": name,
                 "learning_rate": _plain(self.model.optimizer.learning_rate),
                 "stopped": bool(self.model.stop_training),
                 "callbacks": {name_: {a: _plain(getattr(peer, a, None)) for a in attributes}
                               for name_, peer, attributes in self.tracked},
                 "history": self.rows}
        tmp = state_dir / f"epoch-{epochs_done:04d}{TMP}.weights.h5"
        try:
            self.model.save_weights(tmp, overwrite=True)
            commit(tmp, state_dir / name)
            write_text(state_dir / STATE_FILE, json.dumps(state, indent=1) + "\n")
        except OSError as error:  # disk full, folder gone or read-only
            raise OSError(f"{state_dir}: cannot save epoch {epochs_done} ({error}); the state "
                          f"of the last saved epoch is kept") from None
        for old in state_dir.glob("epoch-*.weights.h5"):
            if old.name != name:
                old.unlink()
        write_text(self.write_dir / "history.csv", history_csv(self.rows))
