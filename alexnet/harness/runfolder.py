"""A run folder, the unit everything after training works on; read and written here only.

    config.json   the settings, the classes, the dataset root, the machine, the command
    history.csv   one row per epoch (Keras' CSVLogger format), from the resume state
    best.keras    the model with the best validation accuracy (raw RGB pixels in)
    metrics.json  the best model on the validation images (core: evaluate.py)
    state/        what ``--resume`` continues from (resume.py)
    .lock         held by the one process that trains into the folder

Every file is written to a temporary name, flushed and renamed, so a reader sees the old
version or the new one, never a torn one; a failed write leaves no temporary file. A file
that cannot be read gives one line naming it and what is wrong (the core's ``runs``
reads the small files back).
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

from alexnet.models import layers  # noqa: F401  registers the paper variant's layers

TMP = ".tmp"  # marks a file being written (before any .keras/.h5 suffix)
LOCK = ".lock"
CHECKPOINT_DIR = Path("checkpoints")  # relative to where the command runs


def default_dir(variant: str, image_size: int) -> Path:
    return CHECKPOINT_DIR / f"{variant}-{image_size}px-{time.strftime('%Y%m%d-%H%M%S')}"


RUN_FILES = ("config.json", "history.csv", "metrics.json", "best.keras", "state")


def make_dirs(folder: Path) -> list[Path]:
    """Makes ``folder`` and its missing parents; returns the ones this call made,
    innermost first (what a failed start may take away again, if still empty). A path
    that exists but is not a folder gives one line naming it."""
    folder = Path(folder)
    for path in (folder, *folder.parents):
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(f"--out {folder}: {path} is a file, not a folder")
    made = [path for path in (folder, *folder.parents) if not path.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    return made


def holds_run(folder: Path) -> bool:
    """Whether ``folder`` holds any of a run's files (a new run must not overwrite them)."""
    return any((Path(folder) / name).exists() for name in RUN_FILES)


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
        free = free_bytes(path.parent)
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


def free_bytes(folder: Path) -> int:
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def write_text(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text), needed=len(text.encode()))


def save_config(run_dir: Path, record: dict) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text(run_dir / "config.json", json.dumps(record, indent=2) + "\n")


def save_metrics(run_dir: Path, metrics: dict) -> Path:
    write_text(Path(run_dir) / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return Path(run_dir) / "metrics.json"


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


def load_model(path: str | Path) -> keras.Model:
    """A saved ``.keras`` model (``safe_mode``: no code runs from the file), uncompiled;
    a damaged file gives one line naming it."""
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
    return net


class Lock:
    """The one writer of a run folder: an exclusive lock on ``<run>/.lock`` that the
    operating system releases however the process ends (``kill -9`` included). A second
    trainer is refused at once, with one line naming the folder and the process."""

    def __init__(self, run_dir: Path, busy: str = "a run is training into this folder",
                 remedy: str = "wait for it, or choose another --out"):
        self.path = Path(run_dir) / LOCK
        self.file, self.created = None, False
        self.busy, self.remedy = busy, remedy  # the refusal's words (prepare has its own)

    def __enter__(self) -> Lock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> Lock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.created = not self.path.exists()  # a failed start takes away only its own
        self.file = open(self.path, "a+")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.seek(0)
            holder = self.file.read().strip() or "another process"
            self.file.close()
            self.file = None
            raise OSError(errno.EBUSY, f"{self.path.parent}: {self.busy} ({holder}); "
                                       f"{self.remedy}") from None
        self.file.seek(0)
        self.file.truncate()
        self.file.write(f"process {os.getpid()} on {os.uname().nodename}\n")
        self.file.flush()
        return self

    def release(self, remove: bool = False) -> None:
        """Unlocks; with ``remove`` (a failed start whose lock file is its own), the lock
        file goes too, while still held, so no other process holds it then."""
        if self.file is not None:
            if remove:
                self.path.unlink(missing_ok=True)
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()
            self.file = None
