"""A split: the images of one part of a dataset (training or validation) with their labels,
and the seeded ways of taking part of one: a held-out fraction of each class
(``--validation-split``), a training fraction (``--train-fraction``), an even spread.

Every step after ``datasets`` passes ``Split`` objects along (batches.py, and the
harness's shards and packs), so it stands alone here: plain data, no file system, no
TensorFlow.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np


@dataclass
class Split:
    """The images of one split: ``files``, and their integer ``labels`` into
    ``class_names``. ``skipped``: ``(file, reason)`` left out; ``source``: where the images
    came from, ``"val/"``, ... (The harness's ``ShardSplit`` holds TFRecord shards.)
    """

    files: list[str]
    labels: np.ndarray
    class_names: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    source: str = ""

    def __len__(self) -> int:
        return len(self.files)

    def spread(self, count: int) -> Split:
        """``count`` images evenly spaced through the split (so across classes)."""
        index = np.linspace(0, len(self) - 1, min(count, len(self))).astype(int)
        return replace(self, files=[self.files[i] for i in index], labels=self.labels[index])

    def fraction(self, fraction: float, seed: int = 0) -> Split:
        """A seeded ``fraction`` of each class (``hold_out``'s draw): a small-data study."""
        per_class = [[Path(f) for f, y in zip(self.files, self.labels, strict=True) if y == i]
                     for i in range(len(self.class_names))]
        chosen = hold_out(per_class, self.class_names, fraction, seed)[1]
        labels = np.repeat(np.arange(len(chosen), dtype="int32"), [len(c) for c in chosen])
        return replace(self, files=[str(f) for c in chosen for f in c], labels=labels,
                       source=f"{100 * fraction:g}% of {self.source} (seed {seed})")


class Splits(NamedTuple):
    """A dataset's training and validation images; unpacks as ``train, val``."""

    train: Split
    val: Split


def check_split_settings(val_dir: str | None = None,
                         validation_split: float | None = None) -> None:
    """``validation_split`` is a fraction, and not given with ``val_dir``."""
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(f"--validation-split {validation_split}: must be a fraction between "
                         "0 and 1, e.g. 0.2")
    if val_dir is not None and validation_split is not None:
        raise ValueError(f"--val-dir {val_dir} and --validation-split {validation_split} both "
                         "name the validation images: give one")


def split_settings(config: dict) -> dict:
    """The ``Dataset.split`` settings a run's saved ``config.json`` trained with, so that
    evaluation and the report see the run's own validation images."""
    return {"val_dir": config.get("val_dir"), "validation_split": config.get("validation_split"),
            "seed": config.get("seed", 0)}


def hold_out(per_class: list[list[Path]], class_names: list[str], fraction: float,
             seed: int = 0) -> tuple[list[list[Path]], list[list[Path]]]:
    """Each class's files split into (kept, held out): a seeded random ``fraction`` of
    them (rounded; at least one, and never all, of a class with two or more), drawn
    from the sorted files, so the same whatever order the file system lists them in."""
    check_split_settings(None, fraction)
    kept, held = [], []
    for name, class_files in zip(class_names, per_class, strict=True):
        class_files = sorted(class_files)
        count = int(np.floor(fraction * len(class_files) + 0.5))
        if len(class_files) >= 2:
            count = min(max(count, 1), len(class_files) - 1)
        rng = np.random.default_rng([seed % 2**63, zlib.crc32(name.encode())])
        chosen = np.zeros(len(class_files), bool)
        chosen[rng.permutation(len(class_files))[:count]] = True
        held.append([f for f, c in zip(class_files, chosen, strict=True) if c])
        kept.append([f for f, c in zip(class_files, chosen, strict=True) if not c])
    return kept, held
