"""Crash-safe training state: continue a run killed at any moment from its last completed
epoch (``train --resume RUN_DIR``).

After every epoch, ``ResumeState`` commits to ``<run>/state/``: the weights with the
optimizer's state (momentum, iteration count, learning rate) and a ``state.json`` naming
them, holding the epoch count, every epoch's logs and the counters and best values of the
callbacks that have them (EarlyStopping, ReduceLROnPlateau, the best checkpoint), which
Keras' BackupAndRestore does not keep. ``history.csv`` is written from those logs, so it
holds each epoch exactly once. ``state.json`` is written last: it is the commit.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import keras

from alexnet import runs
from alexnet.harness import runfolder
from alexnet.recipes import TrainConfig

STATE_DIR = "state"
STATE_FILE = "state.json"
# Callback attributes that change as training goes on, by callback class.
COUNTERS = {
    keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch", "stopped_epoch"),
    keras.callbacks.ReduceLROnPlateau: ("wait", "best", "cooldown_counter"),
    keras.callbacks.ModelCheckpoint: ("best",),
}


# What state.json holds, and of which JSON kind.
STATE_KEYS = {"epoch": int, "weights": str, "stopped": bool, "callbacks": dict,
              "history": list}


def read_state(run_dir: Path) -> dict | None:
    """The last committed state of a run, or None if it has not finished an epoch; a
    state.json without its keys (or of other kinds) gives one line naming it."""
    path = Path(run_dir) / STATE_DIR / STATE_FILE
    if not path.is_file():
        return None
    state = runs.read_json(path, "resume state")
    wrong = [f"{key} ({'missing' if key not in state else type(state[key]).__name__})"
             for key, kind in STATE_KEYS.items()
             if not (isinstance(state.get(key), kind)
                     and (kind is not int or not isinstance(state[key], bool)))]
    if wrong or state["epoch"] < 0 \
            or not all(isinstance(row, dict) and isinstance(row.get("epoch"), int)
                       for row in state["history"]) \
            or not all(isinstance(values, dict) for values in state["callbacks"].values()):
        raise ValueError(f"{path}: damaged resume state ({', '.join(wrong) or 'bad values'}"
                         "); the run cannot continue from it: start a new --out")
    return state


def initial_epoch(run_dir: Path, epochs: int) -> int:
    """Where ``fit`` starts (its ``initial_epoch``): after the last committed epoch, or at
    the end if the run had stopped early."""
    state = read_state(run_dir)
    if state is None:
        return 0
    return epochs if state["stopped"] else min(state["epoch"], epochs)


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
                 best_path: Path | None = None, write_dir: Path | None = None,
                 commits: list[tuple[Path, Path]] = ()):
        super().__init__()
        self.commits = list(commits)  # (temporary, final) files of the epoch's checkpoints
        self.run_dir = Path(run_dir)
        self.write_dir = Path(write_dir or run_dir)
        self.best_path = best_path
        self.tracked = [(type(peer).__name__, peer, names) for peer in peers
                        for kind, names in COUNTERS.items() if isinstance(peer, kind)]
        self.rows: list[dict] = []

    def on_train_begin(self, logs=None):
        state_dir = self.write_dir / STATE_DIR
        state_dir.mkdir(parents=True, exist_ok=True)
        for stale in [*self.write_dir.glob(f"*{runfolder.TMP}*"),
                      *state_dir.glob(f"*{runfolder.TMP}*")]:
            stale.unlink()  # a write cut short by a crash
        state = read_state(self.run_dir)
        if state is None:
            return
        weights = self.run_dir / STATE_DIR / state["weights"]
        if not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        if not weights.is_file():
            raise FileNotFoundError(f"{weights}: missing; {STATE_DIR}/{STATE_FILE} names it")
        try:
            self.model.load_weights(weights)
        except (ValueError, OSError, KeyError) as error:
            raise ValueError(f"{weights}: damaged, or not this model's weights "
                             f"({str(error).splitlines()[0]})") from None
        for name, peer, attributes in self.tracked:
            for attribute in attributes:
                if attribute in state["callbacks"].get(name, {}):
                    setattr(peer, attribute, state["callbacks"][name][attribute])
            if getattr(peer, "restore_best_weights", False) and self.best_path \
                    and self.best_path.is_file():
                peer.best_weights = runfolder.load_model(self.best_path).get_weights()
        self.rows = state["history"]
        runfolder.write_history(self.write_dir, self.rows)  # if cut short
        print(f"Resuming {self.run_dir} after epoch {state['epoch']}"
              f"{' (it had stopped early)' if state['stopped'] else ''}, "
              f"learning rate {_plain(self.model.optimizer.learning_rate):g}")

    def on_epoch_end(self, epoch, logs=None):
        for tmp, final in self.commits:
            if tmp.is_file():
                runfolder.commit(tmp, final)
        self.rows = [row for row in self.rows if row["epoch"] < epoch]
        self.rows.append({"epoch": epoch, **{k: _plain(v) for k, v in (logs or {}).items()}})
        self.save(epoch + 1)

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
        # weights and optimizer state: about 3 float32 numbers per parameter, and room
        needed = 3 * 4 * self.model.count_params() + (1 << 20)
        try:
            runfolder.write_atomic(state_dir / name, lambda tmp: self.model.save_weights(tmp),
                                   needed=needed)
            runfolder.write_text(state_dir / STATE_FILE, json.dumps(state, indent=1) + "\n")
        except OSError as error:  # disk full, folder gone or read-only
            kept = (f"epoch {epochs_done - 1} is kept there" if epochs_done > 1
                    else "no earlier epoch was saved")
            raise OSError(error.errno, f"cannot save epoch {epochs_done} ({error.strerror}); "
                                       f"{kept}: free space, then --resume") from None
        for old in state_dir.glob("epoch-*.weights.h5"):
            if old.name != name:
                old.unlink()
        runfolder.write_history(self.write_dir, self.rows)


# What --resume may change (the time limit counts this sitting's epochs only); any other
# flag given with it must equal the saved setting.
RESUME_CHANGES = ("epochs", "strategy", "time_limit")


def _same_setting(name: str, saved, given, run_dir: Path, saved_config: dict) -> bool:
    """Whether a flag given with --resume equals the run's saved setting (folders are
    the same folder however they are spelt)."""
    if name == "out":
        return Path(given).expanduser().resolve() == run_dir.expanduser().resolve()
    if saved == given:
        return True
    if name == "data":
        places = {str(p) for p in (saved, saved_config.get("dataset_root")) if p is not None}
        folder = Path(str(given)).expanduser()
        return folder.is_dir() and any(Path(p).expanduser().is_dir() and
                                       Path(p).expanduser().resolve() == folder.resolve()
                                       for p in places)
    return False


def resume_changes(run_dir: Path, options: dict, recipe: str | None = None) -> dict:
    """The settings given with ``--resume RUN_DIR`` that change the run (``--epochs``,
    ``--strategy``, ``--time-limit``); every other flag given (``--recipe`` too) must equal
    the saved value, else one error names each differing flag with its saved and given values."""
    saved = runs.load_config(run_dir)
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    differing = []
    for name, value in {**options, **({"recipe": recipe} if recipe else {})}.items():
        if name in RESUME_CHANGES:
            continue
        before = str(run_dir) if name == "out" else saved.get(name, defaults.get(name))
        if not _same_setting(name, before, value, run_dir, saved):
            differing.append(f"--{name.replace('_', '-')}: saved {before}, given {value}")
    if differing:
        raise ValueError(f"--resume {run_dir} continues the run with its saved settings (only "
                         f"--epochs, --strategy and --time-limit may change): "
                         f"{'; '.join(differing)}")
    return {name: value for name, value in options.items() if name in RESUME_CHANGES}


def resume_config(run_dir: Path, **changes) -> TrainConfig:
    """The config of the run in ``run_dir``, to continue it; ``changes`` (e.g. more
    ``epochs``, another ``strategy``) override the saved values."""
    saved = runs.load_config(run_dir)
    fields = {field.name: field for field in dataclasses.fields(TrainConfig)}
    settings = {k: v for k, v in saved.items() if k in fields}
    for name, value in settings.items():
        if name not in changes and not _of_type(value, fields[name].type):
            raise ValueError(f"{Path(run_dir) / 'config.json'}: damaged config.json "
                             f"({name} is {json.dumps(value)}, not {fields[name].type})")
    return TrainConfig(**{**settings, **changes, "out": str(run_dir)})


def _of_type(value, annotation) -> bool:
    """Whether a saved JSON value fits a TrainConfig field's annotation ("int", "float |
    None", "str", "bool", ...): an int is a float too, a bool is not a number."""
    kinds = {"int": int, "float": (int, float), "str": str, "bool": bool}
    for name in str(annotation).replace(" ", "").split("|"):
        if name == "None" and value is None:
            return True
        kind = kinds.get(name)
        if kind is None:  # a type this check does not know: trust it
            return True
        if isinstance(value, kind) and (name == "bool" or not isinstance(value, bool)):
            return True
    return False
