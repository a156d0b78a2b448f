"""Datasets on disk: find them (or download Imagenette), list and label the images.

No TensorFlow here, so every Keras backend can use it; ``pipeline.py`` turns a
``Split`` into tf.data batches.

A dataset root holds ``train/<class>/*`` and ``val/<class>/*``; class order is
the sorted folder names and is saved with every run.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_DIR / "data"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")

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


class DatasetNotFoundError(FileNotFoundError):
    """No dataset where we looked, and it could not be downloaded."""


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
        f"pass --data PATH (a folder with train/ and val/); set ALEXNET_DATA to a folder "
        f"holding {name}/; or put it at {data_dir / name}")


def fetch(url: str, md5: str | None, dest: Path) -> Path:
    """Downloads and unpacks an archive whose top folder holds train/ and val/ into ``dest``.

    Uses ``keras.utils.get_file`` (which verifies the md5 and caches the archive
    in ``dest.parent``); a wrong checksum raises and leaves nothing at ``dest``.
    """
    import keras

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
    """The image files of one split, with integer labels into ``class_names``."""

    files: list[str]
    labels: np.ndarray
    class_names: list[str]

    def __len__(self) -> int:
        return len(self.files)

    def spread(self, count: int) -> Split:
        """``count`` images evenly spaced through the split (so across classes)."""
        index = np.linspace(0, len(self) - 1, min(count, len(self))).astype(int)
        return Split([self.files[i] for i in index], self.labels[index], self.class_names)


def list_split(root: Path, split: str, class_names: list[str] | None = None,
               limit: int | None = None) -> Split:
    """Lists ``root/split/<class>/*`` images; ``limit`` keeps the first N per class."""
    folder = Path(root) / split
    if not folder.is_dir():
        raise DatasetNotFoundError(f"{folder}: no such folder (expected {split}/<class>/ images)")
    found = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if class_names is None:
        class_names = found
    elif found != class_names:
        missing, extra = set(class_names) - set(found), set(found) - set(class_names)
        raise ValueError(f"{folder}: class folders differ from the training classes "
                         f"(missing {sorted(missing)}, extra {sorted(extra)})")
    files, labels = [], []
    for label, name in enumerate(class_names):
        images = sorted(p for p in (folder / name).iterdir()
                        if p.suffix.lower() in IMAGE_EXTENSIONS)[:limit]
        files += [str(p) for p in images]
        labels += [label] * len(images)
    if not files:
        raise DatasetNotFoundError(f"{folder}: no images ({', '.join(IMAGE_EXTENSIONS)}) found")
    return Split(files, np.array(labels, "int32"), class_names)


def load(root: Path, limit: int | None = None) -> tuple[Split, Split]:
    """The train and val splits of a dataset root, sharing the training class order."""
    train = list_split(root, "train", limit=limit)
    return train, list_split(root, "val", train.class_names, limit=limit)


def display_names(class_names: list[str]) -> list[str]:
    """Readable names for wnids we know; other folder names stay as they are."""
    return [IMAGENETTE_NAMES.get(name, name) for name in class_names]


# ImageNet RGB statistics on the 0-255 scale (the ones torchvision uses).
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


def denormalize(images) -> np.ndarray:
    """Inverse of the pipelines' normalisation, for display: uint8 RGB."""
    return np.clip(np.asarray(images) * STD + MEAN, 0, 255).astype("uint8")
