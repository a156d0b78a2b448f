"""A dataset on disk, resolved once: where it is, its layout, its splits.

``locate`` finds the root: ``--data`` (a folder or a name), ``$ALEXNET_DATA/<name>``,
``data/<name>``, else the official Imagenette archive, downloaded (a local copy always
wins: code that downloads at run time fails offline). A root holds ``train/<class>/*`` and
held-out ``val/<class>/*`` (or ``validation/``, ``test/``, ``--val-dir``), perhaps under
the Kaggle ILSVRC-2012 archive's deep folder or as a flat ``val/`` with ImageNet's label
file (ilsvrc.py). ``Dataset.open`` works out which, once; its ``splits`` list the images
(splits.py), classes in sorted folder (wnid) order. No Keras or TensorFlow here:
batches.py makes the batches. (TFRecord shards, ``prepare``'s, are the command line's:
harness/shards.py reads them through the same interface.)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alexnet.data import files
from alexnet.data.splits import Split, Splits, check_split_settings, hold_out

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
SHARD_MANIFEST = "manifest.json"  # how a folder of prepare's TFRecord shards is known
VAL_FOLDERS = ("val", "validation", "test")  # looked for in this order
KAGGLE_IMAGES = Path("ILSVRC", "Data", "CLS-LOC")  # the Kaggle ILSVRC-2012 archive's images
# Official Imagenette archives; the md5 sums are those torchvision's Imagenette records.
DOWNLOADS = {
    "imagenette": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz",
                   "e793b78cc4c9e9a4ccc0c1155377a412"),
    "imagenette-320": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-320.tgz",
                       "3df6f0d01a2c9592104656642f5e78a3"),
    "imagenette-full": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2.tgz",
                        "fe2fc210e6bb7c5664d602c3cd71e612"),
}
DATA_DIR = Path("data")  # relative to where the command runs: a checkout's data/


class DatasetNotFoundError(FileNotFoundError):
    """No dataset where we looked, and it could not be downloaded."""


def locate(data: str | os.PathLike | None = None, name: str = "imagenette",
           download: bool = True, data_dir: Path = DATA_DIR) -> Path:
    """A dataset root: ``data`` (a path, or a dataset name), then ``$ALEXNET_DATA/<name>``,
    then ``data_dir/<name>``, else downloaded into ``data_dir``."""
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
    places.append(Path(data_dir) / name)
    for place in places:
        if place.is_dir():
            return place
    if download and name in DOWNLOADS:
        url, md5 = DOWNLOADS[name]
        try:
            return fetch(url, md5, Path(data_dir) / name)
        except Exception as error:  # offline, refused, or a bad checksum
            reason = f"download failed ({error})"
    else:
        reason = f"{name!r} is not a dataset we can download" if download else "download disabled"
    raise DatasetNotFoundError(
        f"dataset {name!r} not found and {reason}. Provide it in one of three ways: "
        f"pass --data PATH (a folder with train/ and val/, validation/ or test/); set "
        f"ALEXNET_DATA to a folder holding {name}/; or put it at {Path(data_dir) / name}")


def fetch(url: str, md5: str | None, dest: Path) -> Path:
    """Downloads an archive whose top folder holds train/ and val/ beside ``dest``, checks
    its md5 and unpacks that folder as ``dest``; a failed download or a wrong checksum
    leaves nothing at ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    archive = dest.parent / url.rsplit("/", 1)[-1]
    if not (archive.is_file() and md5 in (None, _md5(archive))):  # else fetched before
        partial = archive.with_name(f".{archive.name}.partial")
        print(f"Downloading {url} into {dest.parent}")
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
            if md5 not in (None, found := _md5(partial)):
                raise ValueError(f"{url}: md5 {found}, expected {md5}")
            partial.replace(archive)
        finally:
            partial.unlink(missing_ok=True)
    unpacked = dest.parent / f".{dest.name}.partial"
    shutil.rmtree(unpacked, ignore_errors=True)
    shutil.unpack_archive(archive, unpacked)
    roots = [p.parent for p in unpacked.rglob("train") if (p.parent / "val").is_dir()]
    if not roots:
        raise DatasetNotFoundError(f"{archive}: archive has no train/ and val/ folders")
    roots[0].rename(dest)
    shutil.rmtree(unpacked, ignore_errors=True)
    return dest


def _md5(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


@dataclass(frozen=True)
class Dataset:
    """A dataset root, its layout worked out once: ``images`` holds ``train/`` and the
    held-out folder (the root, or the Kaggle archive's deep folder); ``folders``: its
    splits."""

    root: Path
    images: Path
    folders: frozenset[str]

    @classmethod
    def open(cls, root: str | Path) -> Dataset:
        root = Path(root)
        if not root.is_dir():
            raise DatasetNotFoundError(f"{root}: no such dataset folder")
        if (root / SHARD_MANIFEST).is_file():
            raise ValueError(f"{root}: TFRecord shards (prepare's), which the command line "
                             f"reads: python -m alexnet train --data {root}")
        images = root / KAGGLE_IMAGES if (root / KAGGLE_IMAGES).is_dir() else root
        return cls(root, images, frozenset(p.name for p in images.iterdir() if p.is_dir()))

    @property
    def descriptions(self) -> dict[str, str]:
        """Class words by wnid, read when asked (training needs none): ImageNet's label
        files' (ilsvrc.py)."""
        from alexnet.data import ilsvrc  # ImageNet's label files: its layouts only

        return ilsvrc.descriptions(self.root, self.images)

    def val_folder(self, val_dir: str | None = None) -> str:
        """The folder holding the held-out images: ``val_dir`` if given, else the first
        of ``VAL_FOLDERS`` there is. None there: one line naming the options."""
        if val_dir is not None:
            name = str(val_dir).strip("/")
            if name == "train":
                raise ValueError("--val-dir train: the held-out images cannot be the training "
                                 "ones; hold out part of them with --validation-split 0.2")
            if name not in self.folders:
                raise DatasetNotFoundError(f"{self.images / name}: no such folder (--val-dir)")
            return name
        for name in VAL_FOLDERS:
            if name in self.folders:
                return name
        raise DatasetNotFoundError(f"{self.where} no held-out images (none of "
                                   f"{', '.join(f'{n}/' for n in VAL_FOLDERS)}): "
                                   f"{self.held_out_remedy}")

    @property
    def where(self) -> str:
        """The start of a line naming what is missing."""
        return f"{self.images}:"

    held_out_remedy = ("name another folder with --val-dir NAME, or hold out part of train/ "
                       "with --validation-split 0.2")

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
        """The images of the split folder ``name``, e.g. ``"test"``."""
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
        images = [f for f in _files(folder) if f.suffix.lower() in IMAGE_EXTENSIONS]
        from alexnet.data import ilsvrc  # ImageNet's label files: its layouts only

        labelled = ilsvrc.flat_classes(self.root, folder, images, class_names)
        if labelled is None:
            raise DatasetNotFoundError(f"{folder}: images without class folders need labels: "
                                       f"{ilsvrc.LABEL_FILES} in {self.root}")
        return folder, *labelled

    def _split(self, folder: Path, class_names: list[str], per_class: list[list[Path]],
               limit: int | None, check: str | None, source: str, role: str) -> Split:
        """A ``Split`` of the first ``limit`` images of each class; files of other kinds
        and unusable images are left out, counted and named."""
        paths, labels, skipped = [], [], []
        for label, class_files in enumerate(per_class):
            own = (folder, folder / class_names[label])  # flat, or one folder per class
            nested = [p for p in class_files if p.parent not in own]
            skipped += [(str(p), "in a subfolder of its class folder, which is not read: move "
                                 "it up to use it") for p in nested
                        if p.suffix.lower() in IMAGE_EXTENSIONS]
            class_files = [p for p in class_files if p.parent in own]
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
        return Split(paths, labels, class_names, skipped, source=source)


def _files(folder: Path) -> list[Path]:
    """The files of a folder, sorted, then those in its subfolders (which ``_split`` names
    as skipped, not read); hidden files and folders such as .DS_Store left out."""
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    nested = [path for sub in entries if sub.is_dir() for path in sorted(sub.rglob("*"))
              if not any(part.startswith(".") for part in path.relative_to(sub).parts)
              and not path.is_dir()]
    return [p for p in entries if not p.is_dir()] + nested
