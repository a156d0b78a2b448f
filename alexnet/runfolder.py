"""A run folder, the unit everything after training works on; read and written here only.

    config.json   the settings, the classes, the dataset root, the machine, the command
    history.csv   one row per epoch (Keras' CSVLogger format), from the resume state
    best.keras    the model with the best validation accuracy (raw RGB pixels in)
    metrics.json  the best model on the validation images (evaluate.py)
    state/        what ``--resume`` continues from (training/resume.py)
    .lock         held by the one process that trains into the folder

Every file is written to a temporary name, flushed and renamed, so a reader sees the old
version or the new one, never a torn one; a failed write leaves no temporary file. A file
that cannot be read gives one line naming it and what is wrong.
"""

from __future__ import annotations

import csv
import errno
import fcntl
import io
import json
import os
import time
import zipfile
from pathlib import Path

import keras
import numpy as np

from alexnet.data import augment  # noqa: F401  registers Augment: --in-memory models load
from alexnet.models.alexnet import preprocessing

TMP = ".tmp"  # marks a file being written (before any .keras/.h5 suffix)
LOCK = ".lock"
CHECKPOINT_DIR = Path("checkpoints")  # relative to where the command runs


def default_dir(variant: str, image_size: int) -> Path:
    return CHECKPOINT_DIR / f"{variant}-{image_size}px-{time.strftime('%Y%m%d-%H%M%S')}"


def outermost_new(folder: Path) -> Path | None:
    """The outermost of ``folder`` and its parents that does not exist yet (None: all do)."""
    missing = [path for path in (folder, *folder.parents) if not path.exists()]
    return missing[-1] if missing else None


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


def write_atomic(path: Path, write, needed: int = 0) -> None:
    """``write(tmp)`` then ``commit``; on any failure the temporary file is removed and an
    OSError names ``path``. ``needed``: bytes to find free first (a full disk is then
    refused before a writer such as h5py meets it half-way)."""
    path = Path(path)
    tmp = path.with_name(f"{path.name.split('.')[0]}{TMP}{''.join(path.suffixes)}")
    try:
        free = _free_bytes(path.parent)
        if needed and free < needed:
            raise OSError(errno.ENOSPC, f"{free / 1e6:.0f} MB free, {needed / 1e6:.0f} MB "
                                        "needed")
        write(tmp)
        commit(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise OSError(error.errno, f"{path}: cannot write it ({error.strerror or error})") \
            from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _free_bytes(folder: Path) -> int:
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def write_text(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text), needed=len(text.encode()))


def read_json(path: Path, what: str) -> dict:
    """A JSON file, or one line naming it: missing, or damaged and where."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no {what}")
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: damaged {what} ({error})") from None


def save_config(run_dir: Path, record: dict) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text(run_dir / "config.json", json.dumps(record, indent=2) + "\n")


def load_config(run_dir: Path) -> dict:
    return read_json(Path(run_dir) / "config.json", "config.json (is this a run folder?)")


def save_metrics(run_dir: Path, metrics: dict) -> Path:
    write_text(Path(run_dir) / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return Path(run_dir) / "metrics.json"


def load_metrics(run_dir: Path) -> dict:
    return read_json(Path(run_dir) / "metrics.json", "metrics.json")


def history_csv(rows: list[dict]) -> str:
    """Epoch logs as Keras' CSVLogger writes them: ``epoch`` then the sorted keys."""
    keys = sorted({key for row in rows for key in row} - {"epoch"})
    out = io.StringIO()
    writer = csv.DictWriter(out, ["epoch", *keys], restval="NA", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_history(run_dir: Path, rows: list[dict]) -> None:
    write_text(Path(run_dir) / "history.csv", history_csv(rows))


def read_history(path: Path) -> dict[str, np.ndarray]:
    """``history.csv`` (a run folder's, or the file) as columns of floats."""
    path = Path(path)
    path = path / "history.csv" if path.is_dir() else path
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path}: no epochs recorded")
    try:  # "NA": a value an epoch did not log (history_csv writes it, as CSVLogger does)
        return {key: np.array([np.nan if row[key] in ("NA", "") else float(row[key])
                               for row in rows]) for key in rows[0]}
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: damaged history ({error})") from None


def load_model(path: str | Path) -> keras.Model:
    """A saved ``.keras`` model as a network that takes raw RGB pixels in [0, 255]
    (``safe_mode``: no code runs from the file). Models saved before the network
    normalised its own inputs, and models trained ``--in-memory`` (behind their
    augmentation layer), are converted here; a damaged file gives one line naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    if path.stat().st_size == 0 or not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a Keras model file (empty, truncated, or not the zip "
                         "archive a .keras file is)")
    try:
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                raise ValueError(f"{path}: damaged model file (no config.json inside)")
            net = keras.saving.load_model(path, compile=False, safe_mode=True)
    except (zipfile.BadZipFile, OSError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: damaged model file ({error})") from None
    inner = [layer for layer in net.layers
             if isinstance(layer, keras.Model) and layer.name.startswith("alexnet_")]
    net = inner[0] if inner else net  # a model trained --in-memory: its network
    if not net.name.startswith("alexnet_") or any(  # not one of ours, or it normalises
            isinstance(layer, keras.layers.Normalization) for layer in net.layers[:2]):
        return net
    inputs = keras.Input(net.input_shape[1:], name="image")  # it took normalised images
    return keras.Model(inputs, net(preprocessing()(inputs)), name=net.name)


class Lock:
    """The one writer of a run folder: an exclusive lock on ``<run>/.lock`` that the
    operating system releases however the process ends (``kill -9`` included). A second
    trainer is refused at once, with one line naming the folder and the process."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK
        self.file = None

    def __enter__(self) -> Lock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> Lock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "a+")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.seek(0)
            holder = self.file.read().strip() or "another process"
            self.file.close()
            raise OSError(errno.EBUSY, f"{self.path.parent}: a run is training into this "
                                       f"folder ({holder}); wait for it, or choose another "
                                       "--out") from None
        self.file.seek(0)
        self.file.truncate()
        self.file.write(f"process {os.getpid()} on {os.uname().nodename}\n")
        self.file.flush()
        return self

    def release(self) -> None:
        if self.file is not None:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()
            self.file = None
