"""A dataset on disk, resolved once: where its images are, its layout, its splits.

A root holds ``train/<class>/*`` and held-out ``val/<class>/*`` (or ``validation/``,
``test/``, ``--val-dir``), or a flat ILSVRC-2012 ``val/`` with its label file (ilsvrc.py),
or TFRecord shards written by ``prepare`` (shards.py). ``Dataset.open(root)`` works out
which, once; its ``splits`` list the images, classes in sorted folder (wnid) order. With
``train/`` alone, ``validation_split`` holds out a seeded fraction of each class. No
TensorFlow here: pipeline.py turns a ``Split`` into batches.
"""

from __future__ import annotations

import json
import sys
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from alexnet.data import files
from alexnet.data.ilsvrc import DatasetNotFoundError, descriptions, flat_labels, image_root

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
SHARD_MANIFEST = "manifest.json"  # how a folder of TFRecord shards (shards.py) is known
VAL_FOLDERS = ("val", "validation", "test")  # looked for in this order


@dataclass
class Split:
    """The images of one split, with integer labels into ``class_names``.

    Raw folders: ``files`` are images, ``labels`` theirs; TFRecord shards: ``files`` are
    shards holding ``records`` images and labels (``labels`` empty). ``skipped``: ``(file,
    reason)`` left out; ``descriptions``: wnid -> words; ``source``: ``"val/"``, ...
    """

    files: list[str]
    labels: np.ndarray
    class_names: list[str]
    descriptions: dict[str, str] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    records: int | None = None
    source: str = ""

    def __len__(self) -> int:
        return len(self.files) if self.records is None else self.records

    def spread(self, count: int) -> Split:
        """``count`` images evenly spaced through the split (so across classes); for
        shards (written in shuffled order), the first ``count``."""
        if self.records is not None:
            return replace(self, records=min(count, self.records))
        index = np.linspace(0, len(self) - 1, min(count, len(self))).astype(int)
        return replace(self, files=[self.files[i] for i in index], labels=self.labels[index])

    def fraction(self, fraction: float, seed: int = 0) -> Split:
        """A seeded ``fraction`` of each class (``hold_out``'s draw): a small-data study."""
        if self.records is not None:
            raise ValueError("--train-fraction thins image folders, not TFRecord shards")
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


@dataclass(frozen=True)
class Dataset:
    """A dataset root, its layout worked out once: ``images`` holds ``train/`` and the
    held-out folder (the root, or the Kaggle archive's deep folder); ``manifest``: the
    shards' (None for image folders); ``folders``: its splits; ``descriptions``: words."""

    root: Path
    images: Path
    manifest: dict | None
    folders: frozenset[str]
    descriptions: dict[str, str]

    @classmethod
    def open(cls, root: str | Path) -> Dataset:
        root = Path(root)
        if not root.is_dir():
            raise DatasetNotFoundError(f"{root}: no such dataset folder")
        if (root / SHARD_MANIFEST).is_file():
            path = root / SHARD_MANIFEST
            try:
                manifest = json.loads(path.read_text())
                folders = frozenset(manifest["splits"])
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{path}: not a shard manifest ({error})") from None
            return cls(root, root, manifest, folders, manifest.get("descriptions", {}))
        images = image_root(root)
        folders = frozenset(p.name for p in images.iterdir() if p.is_dir())
        return cls(root, images, None, folders, descriptions(root))

    def val_folder(self, val_dir: str | None = None) -> str:
        """The folder holding the held-out images: ``val_dir`` if given, else the first
        of ``VAL_FOLDERS`` there is. None there: one line naming the options."""
        where = f"{self.root}: the shards have" if self.manifest else f"{self.images}:"
        if val_dir is not None:
            name = str(val_dir).strip("/")
            if name == "train":
                raise ValueError("--val-dir train: the held-out images cannot be the training "
                                 "ones; hold out part of them with --validation-split 0.2")
            if name not in self.folders:
                raise DatasetNotFoundError(f"{where} no {name!r} split (--val-dir)"
                                           if self.manifest else
                                           f"{self.images / name}: no such folder (--val-dir)")
            return name
        for name in VAL_FOLDERS:
            if name in self.folders:
                return name
        remedy = ("prepare the shards from a dataset with one, or with --validation-split 0.2"
                  if self.manifest else "name another folder with --val-dir NAME, or hold "
                  "out part of train/ with --validation-split 0.2")
        raise DatasetNotFoundError(f"{where} no held-out images (none of "
                                   f"{', '.join(f'{n}/' for n in VAL_FOLDERS)}): {remedy}")

    def splits(self, limit: int | None = None, val_dir: str | None = None,
               validation_split: float | None = None, seed: int = 0) -> Splits:
        """The training and validation images, sharing the training class order."""
        if validation_split is None:
            self.val_folder(val_dir)  # before the (slower) listing of train/
        settings = dict(limit=limit, val_dir=val_dir, validation_split=validation_split,
                        seed=seed)
        train = self.split("train", **settings)
        if len(train.class_names) < 2:
            raise ValueError(f"{self.images / 'train'}: {len(train.class_names)} class "
                             "folder(s); a classifier needs at least 2")
        return Splits(train, self.split("val", train.class_names, **settings))

    def split(self, role: str, class_names: list[str] | None = None, limit: int | None = None,
              val_dir: str | None = None, validation_split: float | None = None,
              seed: int = 0, check: str | None = "header") -> Split:
        """The training (``role="train"``) or validation (``"val"``) images: ``train/``
        and the held-out folder, or with ``validation_split`` a seeded fraction of each
        class of ``train/`` (``hold_out``; ``limit`` then applies to each part).
        ``check``: "header" leaves out files whose header or end is broken (cheap),
        "full" also decodes them, None trusts them."""
        if role not in ("train", "val"):
            raise ValueError(f"unknown role {role!r}: choose 'train' or 'val'")
        check_split_settings(val_dir, validation_split)
        if limit is not None and limit < 1:
            raise ValueError(f"--limit {limit}: must be at least 1 (images per class)")
        if validation_split is None:
            name = "train" if role == "train" else self.val_folder(val_dir)
            return self.folder(name, class_names, limit, check, role)
        if self.manifest:
            raise ValueError(f"{self.root}: shards cannot be split when training; hold out "
                             "the validation images when making them: prepare SRC DEST "
                             f"--validation-split {validation_split}")
        folder, class_names, per_class = self._listing("train", class_names)
        kept, held = hold_out(per_class, class_names, validation_split, seed)
        held_out = f"{100 * validation_split:g}% of train/ (seed {seed})"
        if role == "train":
            return self._split(folder, class_names, kept, limit, check,
                               f"train/ without the held-out {held_out}", role)
        return self._split(folder, class_names, held, limit, check, held_out, role)

    def folder(self, name: str, class_names: list[str] | None = None,
               limit: int | None = None, check: str | None = "header",
               role: str = "val") -> Split:
        """The images of the split folder (or shards) ``name``, e.g. ``"test"``."""
        if self.manifest:
            return self._shards(name, class_names, limit)
        folder, class_names, per_class = self._listing(name, class_names)
        return self._split(folder, class_names, per_class, limit, check, f"{name}/", role)

    def _listing(self, split: str, class_names: list[str] | None
                 ) -> tuple[Path, list[str], list[list[Path]]]:
        """(folder, class names, each class's files in sorted order) of a split folder;
        files of other kinds are listed under the class as they are (``_split`` names them)."""
        folder = self.images / split
        if not folder.is_dir():
            raise DatasetNotFoundError(f"{folder}: no such folder (expected {split}/<class>/ "
                                       "images)")
        found = sorted(p.name for p in folder.iterdir() if p.is_dir())
        if found:  # one folder per class
            if class_names is not None and found != class_names:
                missing, extra = set(class_names) - set(found), set(found) - set(class_names)
                raise ValueError(f"{folder}: class folders differ from the training classes "
                                 f"(missing {sorted(missing)}, extra {sorted(extra)})")
            class_names = class_names or found
            return folder, class_names, [_files(folder / name) for name in class_names]
        # flat: ILSVRC2012_val_00000001.JPEG ... labelled by a label file
        by_stem = flat_labels(self.root, split)
        images = [f for f in _files(folder) if f.suffix.lower() in IMAGE_EXTENSIONS]
        unlabelled = [f.name for f in images if f.stem not in by_stem]
        if unlabelled:
            raise ValueError(f"{folder}: {len(unlabelled)} image(s) have no label in the "
                             f"label file, e.g. {unlabelled[0]}")
        wnids = [by_stem[f.stem] for f in images]
        class_names = class_names or sorted(set(wnids))
        unknown = sorted(set(wnids) - set(class_names))
        if unknown:
            raise ValueError(f"{folder}: labels {unknown[:5]} are not among the "
                             f"{len(class_names)} training classes")
        return folder, class_names, [[f for f, w in zip(images, wnids, strict=True) if w == name]
                                     for name in class_names]

    def _split(self, folder: Path, class_names: list[str], per_class: list[list[Path]],
               limit: int | None, check: str | None, source: str, role: str) -> Split:
        """A ``Split`` of the first ``limit`` images of each class; files of other kinds
        and unusable images are left out, counted and named."""
        paths, labels, skipped = [], [], []
        for label, class_files in enumerate(per_class):
            images = [p for p in class_files if p.suffix.lower() in IMAGE_EXTENSIONS]
            skipped += [(str(p), f"not a {'/'.join(IMAGE_EXTENSIONS)} file") for p in class_files
                        if p.suffix.lower() not in IMAGE_EXTENSIONS]
            paths += [str(p) for p in images[:limit]]
            labels += [label] * len(images[:limit])
        if not paths:
            raise DatasetNotFoundError(f"{folder}: no images ({', '.join(IMAGE_EXTENSIONS)}) "
                                       "found")
        labels = np.array(labels, "int32")
        if check:
            if check not in ("header", "full"):
                raise ValueError(f"unknown check {check!r}: choose 'header', 'full' or None")
            keep, broken = files.checked(paths, full=check == "full")
            paths, labels, skipped = ([p for p, k in zip(paths, keep, strict=True) if k],
                                      labels[keep], skipped + broken)
        if skipped:
            print(files.report(skipped, str(folder)), file=sys.stderr)
        counts = np.bincount(labels, minlength=len(class_names))
        empty = [class_names[i] for i in np.flatnonzero(counts == 0)]
        if empty and role == "train":
            raise ValueError(f"{folder}: no usable images for class(es) "
                             f"{', '.join(empty[:10])}: remove the folder(s) or add images")
        if empty:
            print(f"warning: {folder}: no images of class(es) {', '.join(empty[:10])}; "
                  "their accuracy cannot be measured", file=sys.stderr)
        return Split(paths, labels, class_names, self.descriptions, skipped, source=source)

    def _shards(self, split: str, class_names: list[str] | None, limit: int | None) -> Split:
        """One split of the shards as a ``Split``; ``limit`` (images per class) keeps
        ``limit x classes`` images."""
        if class_names is not None and class_names != self.manifest["class_names"]:
            raise ValueError(f"{self.root / SHARD_MANIFEST}: classes differ from the "
                             "training classes")
        info = self.manifest["splits"][split]
        records = info["images"]
        if limit is not None:
            records = min(records, limit * len(self.manifest["class_names"]))
        return Split([str(self.root / s["file"]) for s in info["shards"]], np.zeros(0, "int32"),
                     self.manifest["class_names"], self.descriptions,
                     [tuple(s) for s in info["skipped"]], records,
                     f"{split}/ shards" + (f" ({info['source']})" if "source" in info else ""))


def _files(folder: Path) -> list[Path]:
    """The regular files of a folder, sorted (hidden files such as .DS_Store left out)."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and not p.is_dir())
