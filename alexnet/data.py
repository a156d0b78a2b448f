"""Datasets on disk: find them (or download Imagenette), list and label the images.

No TensorFlow here, so every Keras backend can use it; inputs.py turns a ``Split``
into batches.

A dataset root holds ``train/<class>/*`` and ``val/<class>/*``, or a flat
ILSVRC-2012 ``val/`` with its label file (Kaggle or devkit), or TFRecord shards
written by ``prepare``; class order is the sorted wnids (folder names) and is
saved with every run.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import keras
import numpy as np
from scipy.io import loadmat

from alexnet import images

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_DIR / "data"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
SHARD_MANIFEST = "manifest.json"  # how a folder of TFRecord shards (prepare.py) is known

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
    unusable images left out; ``descriptions`` maps class names (wnids) to words.
    """

    files: list[str]
    labels: np.ndarray
    class_names: list[str]
    descriptions: dict[str, str] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    records: int | None = None

    def __len__(self) -> int:
        return len(self.files) if self.records is None else self.records

    def spread(self, count: int) -> Split:
        """``count`` images evenly spaced through the split (so across classes); for
        shards (written in shuffled order), the first ``count``."""
        if self.records is not None:
            return replace(self, records=min(count, self.records))
        index = np.linspace(0, len(self) - 1, min(count, len(self))).astype(int)
        return replace(self, files=[self.files[i] for i in index], labels=self.labels[index])


# ILSVRC-2012 label files, searched for in the dataset root, the split folder and the
# devkit's data/ folder. Kaggle: LOC_synset_mapping.txt ("<wnid> <words>" per line, in
# class order) and LOC_val_solution.csv ("ImageId,PredictionString" with the wnid first).
# Devkit: ILSVRC2012_validation_ground_truth.txt (one ILSVRC id per line, in file order)
# with meta.mat, which maps ILSVRC ids to wnids.
SYNSET_MAPPING = "LOC_synset_mapping.txt"
VAL_SOLUTION = "LOC_val_solution.csv"
DEVKIT_GROUND_TRUTH = "ILSVRC2012_validation_ground_truth.txt"
DEVKIT_META = "meta.mat"
KAGGLE_IMAGES = Path("ILSVRC", "Data", "CLS-LOC")


def image_root(root: Path) -> Path:
    """Where ``train/`` and ``val/`` are: ``root``, or the Kaggle archive's deep folder."""
    root = Path(root)
    return root / KAGGLE_IMAGES if (root / KAGGLE_IMAGES).is_dir() else root


def find_label_file(root: Path, name: str, split: str = "val") -> Path | None:
    root = Path(root)
    for folder in (root, image_root(root) / split, root / "ILSVRC2012_devkit_t12" / "data",
                   root / "devkit" / "data"):
        if (folder / name).is_file():
            return folder / name
    return None


def read_synset_mapping(path: Path) -> dict[str, str]:
    """``LOC_synset_mapping.txt`` as {wnid: words}, in file (= class) order."""
    mapping = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if line.strip():
            wnid, _, words = line.strip().partition(" ")
            if not wnid.startswith("n"):
                raise ValueError(f"{path}, line {number}: expected '<wnid> <words>', got {line!r}")
            mapping[wnid] = words.strip()
    return mapping


def read_devkit_meta(path: Path) -> dict[int, tuple[str, str]]:
    """The devkit's ``meta.mat`` as {ILSVRC id: (wnid, words)} for the 1000 leaf classes."""
    synsets = loadmat(str(path), squeeze_me=True)["synsets"]
    return {int(s["ILSVRC2012_ID"]): (str(s["WNID"]), str(s["words"]))
            for s in synsets if int(s["num_children"]) == 0}


def descriptions(root: Path) -> dict[str, str]:
    """Class words by wnid from the Kaggle mapping or the devkit, when either is there."""
    mapping = find_label_file(root, SYNSET_MAPPING)
    if mapping:
        return read_synset_mapping(mapping)
    meta = find_label_file(root, DEVKIT_META)
    return dict(read_devkit_meta(meta).values()) if meta else {}


def flat_labels(root: Path, split: str) -> dict[str, str]:
    """{image file stem: wnid} for a flat split folder, from the Kaggle solution CSV or
    the devkit ground truth; raises naming what is missing when neither is there."""
    solution = find_label_file(root, VAL_SOLUTION, split)
    if solution:
        labels = {}
        lines = solution.read_text().splitlines()
        for number, line in enumerate(lines[1:], 2):
            image_id, _, prediction = line.partition(",")
            if not prediction.strip():
                raise ValueError(f"{solution}, line {number}: no label for {image_id!r}")
            labels[image_id.strip()] = prediction.split()[0]
        return labels
    truth = find_label_file(root, DEVKIT_GROUND_TRUTH, split)
    meta = find_label_file(root, DEVKIT_META, split)
    if truth and meta:
        wnids = {ilsvrc_id: wnid for ilsvrc_id, (wnid, _) in read_devkit_meta(meta).items()}
        labels = {}
        for number, line in enumerate(truth.read_text().split(), 1):
            if int(line) not in wnids:
                raise ValueError(f"{truth}, line {number}: ILSVRC id {line} not in {meta}")
            labels[f"ILSVRC2012_{split}_{number:08d}"] = wnids[int(line)]
        return labels
    raise DatasetNotFoundError(
        f"{image_root(root) / split}: images without class folders need labels: "
        f"{VAL_SOLUTION} (Kaggle) or {DEVKIT_GROUND_TRUTH} with {DEVKIT_META} (devkit) "
        f"in {root}")


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)


def list_split(root: Path, split: str, class_names: list[str] | None = None,
               limit: int | None = None, check: str | None = "header") -> Split:
    """Lists one split of a dataset root in any layout (see README); ``limit`` keeps
    the first N images per class. ``check`` leaves out unusable files and reports
    them: ``"header"`` reads headers and file ends (cheap), ``"full"`` decodes every
    image too (slow), None trusts the files. Shards were checked when written."""
    root = Path(root)
    if (root / SHARD_MANIFEST).is_file():
        return list_shards(root, split, class_names, limit)
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
        per_class = [_images(folder / name) for name in class_names]
    else:  # flat: ILSVRC2012_val_00000001.JPEG ... with a label file
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
        per_class = [[f for f, w in zip(files, wnids, strict=True) if w == name]
                     for name in class_names]
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
    return Split(files, labels, class_names, descriptions(root), skipped)


def list_shards(root: Path, split: str, class_names: list[str] | None = None,
               limit: int | None = None) -> Split:
    """One split of a shard folder as a ``data.Split`` (shards, ``records`` images).
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
                      [tuple(s) for s in info["skipped"]], records)


def load(root: Path, limit: int | None = None) -> tuple[Split, Split]:
    """The train and val splits of a dataset root, sharing the training class order."""
    train = list_split(root, "train", limit=limit)
    return train, list_split(root, "val", train.class_names, limit=limit)


def display_names(class_names: list[str],
                  descriptions: dict[str, str] | None = None) -> list[str]:
    """Readable names: the dataset's ``descriptions`` (``Split.descriptions``: first of
    the comma-separated words), then wnids we know; other names stay as they are."""
    words = {**IMAGENETTE_NAMES, **{k: v.split(",")[0] for k, v in (descriptions or {}).items()}}
    return [words.get(name, name) for name in class_names]
