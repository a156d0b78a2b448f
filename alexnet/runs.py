"""A finished run's small files read back: ``config.json`` (its settings), ``metrics.json``
(evaluate.py's figures of its best model) and ``history.csv`` (one row per epoch, as
Keras' ``CSVLogger`` writes it). The notebook and the command line write them; a damaged
or missing one gives one line naming it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np


def read_json(path: Path, what: str, shape: type | tuple[type, ...] = dict):
    """A JSON file of the ``shape`` expected (an object unless told), or one line naming
    it: missing, damaged and where, or of another shape."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no {what}")
    try:
        record = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: damaged {what} ({error})") from None
    if not isinstance(record, shape):
        expected = {dict: "an object", list: "a list"}
        wanted = " or ".join(expected.get(kind, kind.__name__)
                             for kind in (shape if isinstance(shape, tuple) else (shape,)))
        raise ValueError(f"{path}: damaged {what} (a JSON {_kind(record)}, expected "
                         f"{wanted})")
    return record


def _kind(value) -> str:
    """A JSON value's kind in JSON's words."""
    return {dict: "object", list: "list", str: "string", bool: "boolean", int: "number",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def load_config(run_dir: Path) -> dict:
    return read_json(Path(run_dir) / "config.json", "config.json (is this a run folder?)")


def load_metrics(run_dir: Path) -> dict:
    return read_json(Path(run_dir) / "metrics.json", "metrics.json")


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
