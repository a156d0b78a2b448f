"""Datasets on disk: find them (or download Imagenette), list and label the images.

No TensorFlow here, so every Keras backend can use it; inputs.py turns a ``Split``
into batches.

A dataset root holds ``train/<class>/*`` and held-out images in ``val/<class>/*``
(or ``validation/`` or ``test/``, or a folder named by ``--val-dir``), or a flat
ILSVRC-2012 ``val/`` with its label file (Kaggle or devkit), or TFRecord shards
written by ``prepare``; class order is the sorted wnids (folder names) and is
saved with every run. With ``train/`` alone, ``--validation-split F`` holds out a
seeded, stratified fraction of each class (``load``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np

from alexnet import images
from alexnet.ilsvrc import DatasetNotFoundError, descriptions, flat_labels, image_root

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_DIR / "data"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
SHARD_MANIFEST = "manifest.json"  # how a folder of TFRecord shards (prepare.py) is known
# Where the held-out images are looked for, in this order (``--val-dir`` names another).
VAL_FOLDERS = ("val", "validation", "test")

# Official Imagenette archives; the md5 sums are those torchvision's Imagenette records.
DOWNLOADS = {
    "imagenette": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz",
                   "e793b78cc4c9e9a4ccc0c1155377a412"),
    "imagenette-320": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-320.tgz",
                       "3df6f0d01a2c9592104656642f5e78a3"),
    "imagenette-full": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2.tgz",
                        "fe2fc210e6bb7c5664d602c3cd71e612"),
}

# Human-readable names for ImageNet wnids we ship data for.
IMAGENETTE_NAMES = {
    "n01440764": "tench", "n02102040": "English springer", "n02979186": "cassette player",
    "n03000684": "chain saw", "n03028079": "church", "n03394916": "French horn",
    "n03417042": "garbage truck", "n03425413": "gas pump", "n03445777": "golf ball",
    "n03888257": "parachute",
}


def locate(data: str | os.PathLike | None = None, name: str = "imagenette",
           download: bool = True, data_dir: Path = DATA_DIR) -> Path:
    """Finds a dataset root: ``data`` (a path, or a dataset name), then
    ``$ALEXNET_DATA/<name>``, then ``data/<name>``, else downloads it into ``data/``."""
    if data is not None:
        path = Path(data).expanduser()
        if path.is_dir():
            return path
        if os.sep in str(data) or str(data).startswith("."):
            raise DatasetNotFoundError(f"--data {data}: no such folder")
        name = str(data)
    places = []
    if os.environ.get("ALEXNET_DATA"):
        places.append(Path(os.environ["ALEXNET_DATA"]).expanduser() / name)
    places.append(data_dir / name)
    for place in places:
        if place.is_dir():
            return place
    if download and name in DOWNLOADS:
        url, md5 = DOWNLOADS[name]
        try:
            return fetch(url, md5, data_dir / name)
        except Exception as error:  # offline, refused, or a bad checksum
            reason = f"download failed ({error})"
    else:
        reason = f"{name!r} is not a dataset we can download" if download else "download disabled"
    raise DatasetNotFoundError(
        f"dataset {name!r} not found and {reason}. Provide it in one of three ways: "
        f"pass --data PATH (a folder with train/ and val/, validation/ or test/); set "
        f"ALEXNET_DATA to a folder "
        f"holding {name}/; or put it at {data_dir / name}")


def fetch(url: str, md5: str | None, dest: Path) -> Path:
    """Downloads and unpacks an archive whose top folder holds train/ and val/ into ``dest``.

    Uses ``keras.utils.get_file`` (which verifies the md5 and caches the archive
    in ``dest.parent``); a wrong checksum raises and leaves nothing at ``dest``.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    archive = keras.utils.get_file(fname=url.rsplit("/", 1)[-1], origin=url, md5_hash=md5,
                                   cache_dir=str(dest.parent), cache_subdir=".")
    unpacked = dest.parent / f".{dest.name}.partial"
    shutil.rmtree(unpacked, ignore_errors=True)
    shutil.unpack_archive(archive, unpacked)
    roots = [p.parent for p in unpacked.rglob("train") if (p.parent / "val").is_dir()]
    if not roots:
        raise DatasetNotFoundError(f"{archive}: archive has no train/ and val/ folders")
    roots[0].rename(dest)
    shutil.rmtree(unpacked, ignore_errors=True)
    return dest


@dataclass
class Split:
    """The images of one split, with integer labels into ``class_names``.

    Raw folders: ``files`` are image files and ``labels`` theirs. TFRecord shards
    (made by ``prepare``): ``files`` are the shards, which hold ``records`` images and
    their labels, and ``labels`` is empty. ``skipped`` lists ``(file, reason)`` for
    unusable images left out; ``descriptions`` maps class names (wnids) to words;
    ``source`` says where the images came from (``"val/"``, ``"20% of train/ (seed 0)"``).
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


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)


def _listing(root: Path, split: str,
             class_names: list[str] | None = None) -> tuple[Path, list[str], list[list[Path]]]:
    """(folder, class names, each class's image files in sorted order) of one split folder."""
    folder = image_root(root) / split
    if not folder.is_dir():
        raise DatasetNotFoundError(f"{folder}: no such folder (expected {split}/<class>/ images)")
    found = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if found:  # one folder per class
        if class_names is None:
            class_names = found
        elif found != class_names:
            missing, extra = set(class_names) - set(found), set(found) - set(class_names)
            raise ValueError(f"{folder}: class folders differ from the training classes "
                             f"(missing {sorted(missing)}, extra {sorted(extra)})")
        return folder, class_names, [_images(folder / name) for name in class_names]
    # flat: ILSVRC2012_val_00000001.JPEG ... with a label file
    by_stem = flat_labels(root, split)
    files = _images(folder)
    unlabelled = [f.name for f in files if f.stem not in by_stem]
    if unlabelled:
        raise ValueError(f"{folder}: {len(unlabelled)} image(s) have no label in the "
                         f"label file, e.g. {unlabelled[0]}")
    wnids = [by_stem[f.stem] for f in files]
    class_names = class_names or sorted(set(wnids))
    unknown = sorted(set(wnids) - set(class_names))
    if unknown:
        raise ValueError(f"{folder}: labels {unknown[:5]} are not among the "
                         f"{len(class_names)} training classes")
    return folder, class_names, [[f for f, w in zip(files, wnids, strict=True) if w == name]
                                 for name in class_names]


def _split(root: Path, folder: Path, class_names: list[str], per_class: list[list[Path]],
           limit: int | None, check: str | None, source: str) -> Split:
    """A ``Split`` of the first ``limit`` files of each class, unusable ones left out."""
    files, labels = [], []
    for label, class_files in enumerate(per_class):
        files += [str(p) for p in class_files[:limit]]
        labels += [label] * len(class_files[:limit])
    if not files:
        raise DatasetNotFoundError(f"{folder}: no images ({', '.join(IMAGE_EXTENSIONS)}) found")
    labels, skipped = np.array(labels, "int32"), []
    if check:
        if check not in ("header", "full"):
            raise ValueError(f"unknown check {check!r}: choose 'header', 'full' or None")
        keep, skipped = images.checked(files, full=check == "full")
        if skipped:
            print(images.report(skipped, str(folder)), file=sys.stderr)
        files, labels = [f for f, k in zip(files, keep, strict=True) if k], labels[keep]
        if not files:
            raise DatasetNotFoundError(f"{folder}: no usable images")
    return Split(files, labels, class_names, descriptions(root), skipped, source=source)


def list_split(root: Path, split: str, class_names: list[str] | None = None,
               limit: int | None = None, check: str | None = "header") -> Split:
    """Lists one split of a dataset root in any layout (README, Data); ``limit`` keeps
    the first N images per class. ``check`` leaves out unusable files and reports
    them: ``"header"`` reads headers and file ends (cheap), ``"full"`` decodes every
    image too (slow), None trusts the files. Shards were checked when written."""
    root = Path(root)
    if is_shards(root):
        return list_shards(root, split, class_names, limit)
    folder, class_names, per_class = _listing(root, split, class_names)
    return _split(root, folder, class_names, per_class, limit, check, f"{split}/")


def list_shards(root: Path, split: str, class_names: list[str] | None = None,
                limit: int | None = None) -> Split:
    """One split of a shard folder as a ``Split`` (shards, ``records`` images).
    ``limit`` (images per class) keeps ``limit x classes`` images."""
    manifest = json.loads((Path(root) / SHARD_MANIFEST).read_text())
    if split not in manifest["splits"]:
        raise DatasetNotFoundError(f"{root}: the shards have no {split!r} split "
                                   f"(only {', '.join(manifest['splits'])})")
    if class_names is not None and class_names != manifest["class_names"]:
        raise ValueError(f"{root / SHARD_MANIFEST}: classes differ from the training classes")
    info = manifest["splits"][split]
    records = info["images"]
    if limit is not None:
        records = min(records, limit * len(manifest["class_names"]))
    return Split([str(Path(root) / s["file"]) for s in info["shards"]], np.zeros(0, "int32"),
                 manifest["class_names"], manifest.get("descriptions", {}),
                 [tuple(s) for s in info["skipped"]], records,
                 f"{split}/ shards" + (f" ({info['source']})" if "source" in info else ""))


def is_shards(root: Path) -> bool:
    """Whether ``root`` holds TFRecord shards written by ``prepare``."""
    return (Path(root) / SHARD_MANIFEST).is_file()


def check_split_settings(val_dir: str | None = None,
                         validation_split: float | None = None) -> None:
    """``validation_split`` is a fraction, and not given with ``val_dir``."""
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(f"--validation-split {validation_split}: must be a fraction between "
                         "0 and 1, e.g. 0.2")
    if val_dir is not None and validation_split is not None:
        raise ValueError(f"--val-dir {val_dir} and --validation-split {validation_split} both "
                         "name the validation images: give one")


def val_folder(root: Path, val_dir: str | None = None) -> str:
    """The split (folder) holding the held-out images: ``val_dir`` if given, else the
    first of ``VAL_FOLDERS`` there is. None there: one line naming the options."""
    root = Path(root)
    if is_shards(root):
        available = set(json.loads((root / SHARD_MANIFEST).read_text())["splits"])
        where = f"{root}: the shards have"
    else:
        folder = image_root(root)
        available = {p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()
        where = f"{folder}:"
    if val_dir is not None:
        name = str(val_dir).strip("/")
        if name == "train":
            raise ValueError("--val-dir train: the held-out images cannot be the training ones; "
                             "hold out part of them with --validation-split 0.2")
        if name not in available:
            raise DatasetNotFoundError(
                f"{where} no {name!r} split (--val-dir)" if is_shards(root)
                else f"{image_root(root) / name}: no such folder (--val-dir)")
        return name
    for name in VAL_FOLDERS:
        if name in available:
            return name
    remedy = ("prepare the shards from a dataset with one, or with --validation-split 0.2"
              if is_shards(root) else
              "name another folder with --val-dir NAME, or hold out part of train/ with "
              "--validation-split 0.2")
    raise DatasetNotFoundError(f"{where} no held-out images (none of "
                               f"{', '.join(f'{n}/' for n in VAL_FOLDERS)}): {remedy}")


def hold_out(per_class: list[list[Path]], class_names: list[str], fraction: float,
             seed: int = 0) -> tuple[list[list[Path]], list[list[Path]]]:
    """Each class's files split into (kept, held out): a seeded random ``fraction`` of
    them (rounded; at least one, and never all, of a class with two or more), drawn
    from the sorted files, so the same whatever order the file system lists them in."""
    check_split_settings(None, fraction)
    kept, held = [], []
    for name, files in zip(class_names, per_class, strict=True):
        files = sorted(files)
        count = int(np.floor(fraction * len(files) + 0.5))
        if len(files) >= 2:
            count = min(max(count, 1), len(files) - 1)
        rng = np.random.default_rng([seed % 2**63, zlib.crc32(name.encode())])
        chosen = np.zeros(len(files), bool)
        chosen[rng.permutation(len(files))[:count]] = True
        held.append([f for f, c in zip(files, chosen, strict=True) if c])
        kept.append([f for f, c in zip(files, chosen, strict=True) if not c])
    return kept, held


def held_out_source(fraction: float, seed: int) -> str:
    return f"{100 * fraction:g}% of train/ (seed {seed})"


def load_split(root: Path, role: str, class_names: list[str] | None = None,
               limit: int | None = None, val_dir: str | None = None,
               validation_split: float | None = None, seed: int = 0,
               check: str | None = "header") -> Split:
    """The training (``role="train"``) or validation (``"val"``) images of a dataset
    root: ``train/`` and the held-out folder (``val_folder``), or, with
    ``validation_split``, ``train/`` less a held-out fraction and that fraction
    (``hold_out``; ``limit`` then applies to each part)."""
    if role not in ("train", "val"):
        raise ValueError(f"unknown role {role!r}: choose 'train' or 'val'")
    check_split_settings(val_dir, validation_split)
    root = Path(root)
    if validation_split is None:
        name = "train" if role == "train" else val_folder(root, val_dir)
        return list_split(root, name, class_names, limit, check)
    if is_shards(root):
        raise ValueError(f"{root}: shards cannot be split when training; hold out the "
                         "validation images when making them: prepare SRC DEST "
                         f"--validation-split {validation_split}")
    folder, class_names, per_class = _listing(root, "train", class_names)
    kept, held = hold_out(per_class, class_names, validation_split, seed)
    source = held_out_source(validation_split, seed)
    if role == "train":
        return _split(root, folder, class_names, kept, limit, check,
                      f"train/ without the held-out {100 * validation_split:g}% (seed {seed})")
    return _split(root, folder, class_names, held, limit, check, source)


class Splits(NamedTuple):
    """``load``'s training and validation images; unpacks as ``train, val``."""

    train: Split
    val: Split

    @property
    def val_source(self) -> str:
        """Where the validation images came from, e.g. ``"test/"``."""
        return self.val.source


def load(root: Path, limit: int | None = None, val_dir: str | None = None,
         validation_split: float | None = None, seed: int = 0) -> Splits:
    """The train and validation splits of a dataset root (see ``load_split``), sharing
    the training class order; says where the validation images came from."""
    if validation_split is None and (is_shards(root) or (image_root(root) / "train").is_dir()):
        val_folder(root, val_dir)  # before the (slower) listing of train/
    settings = dict(limit=limit, val_dir=val_dir, validation_split=validation_split, seed=seed)
    train = load_split(root, "train", **settings)
    val = load_split(root, "val", train.class_names, **settings)
    print(f"Validation: {len(val)} images from {val.source}")
    return Splits(train, val)


def split_settings(config: dict) -> dict:
    """The ``load_split`` settings a run's saved ``config.json`` (a dict) trained with,
    so that evaluation and the report see the run's own validation images."""
    return {"val_dir": config.get("val_dir"), "validation_split": config.get("validation_split"),
            "seed": config.get("seed", 0)}


def display_names(class_names: list[str],
                  descriptions: dict[str, str] | None = None) -> list[str]:
    """Readable names: the dataset's ``descriptions`` (``Split.descriptions``: first of
    the comma-separated words), then wnids we know; other names stay as they are."""
    words = {**IMAGENETTE_NAMES, **{k: v.split(",")[0] for k, v in (descriptions or {}).items()}}
    return [words.get(name, name) for name in class_names]
