"""TFRecord shards: ``python -m alexnet prepare SRC DEST`` writes them from a raw
dataset, and ``open_dataset`` reads a folder of them as the core reads image folders
(``ShardDataset``, whose ``ShardSplit`` streams its records through batches.py).

Each image is decoded in full (which verifies it), resized to a shorter side of
256 (never enlarged) and stored as an RGB JPEG with its label, in shards of about
1,000 images; training shards are in shuffled order. Unusable files are skipped
and listed. A shard is written to a temporary name and renamed when complete,
with a small record beside it (its counts, and the name, size, modification time and
label of each of its files), so a rerun redoes only the shards that are unfinished or
whose files changed. ``manifest.json`` (counts per class, skipped files, shard
sizes) is written last; its presence is how ``open_dataset`` knows a shard
folder. Reading the manifest needs no TensorFlow.

Only files ``prepare`` wrote are replaced: a ``manifest.json`` or a shard it did not
write, or a destination inside the source's split folders, is refused with one line
naming it; a second ``prepare`` into a folder one is writing to is refused at once
(a lock, as a run folder's).
"""

from __future__ import annotations

import dataclasses
import errno
import io
import json
import os
import re
import stat
import warnings
from multiprocessing.pool import ThreadPool
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from alexnet.data import batches, files
from alexnet.data.datasets import SHARD_MANIFEST, VAL_FOLDERS, Dataset, DatasetNotFoundError
from alexnet.data.splits import Split, check_split_settings
from alexnet.harness import runfolder

MANIFEST = SHARD_MANIFEST
FORMAT = "alexnet-tfrecord-1"
SHUFFLE_BUFFER = 4096  # records shuffled in memory (JPEGs of some 30 kB at 256 px)


def open_dataset(root: str | Path) -> Dataset:
    """A dataset root as the command line reads it: a folder of shards (``ShardDataset``),
    else an image folder (the core's ``Dataset``)."""
    return (ShardDataset if (Path(root) / MANIFEST).is_file() else Dataset).open(root)


@dataclasses.dataclass
class ShardSplit(Split):
    """A split of the shards: ``files`` are shards holding ``records`` images, their
    labels inside (``labels`` empty)."""

    records: int = 0

    def __len__(self) -> int:
        return self.records

    def spread(self, count: int) -> ShardSplit:
        """The first ``count`` images (shards are written in shuffled order)."""
        return dataclasses.replace(self, records=min(count, self.records))

    def fraction(self, fraction: float, seed: int = 0) -> Split:
        raise ValueError("--train-fraction thins image folders, not TFRecord shards")

    def sources(self, shuffle: bool, seed: int | None) -> tf.data.Dataset:
        """``(JPEG bytes, label, file name)`` of each record, for batches.py to decode:
        the shards in a seeded order, their records shuffled in a buffer."""
        ds = tf.data.Dataset.from_tensor_slices(self.files)
        if shuffle:
            ds = ds.shuffle(len(self.files), seed=seed, reshuffle_each_iteration=True)
        ds = ds.interleave(tf.data.TFRecordDataset, num_parallel_calls=tf.data.AUTOTUNE,
                           deterministic=True).take(self.records).map(parse_record)
        if shuffle:
            ds = ds.shuffle(min(SHUFFLE_BUFFER, self.records), seed=seed,
                            reshuffle_each_iteration=True)
        return ds


def parse_record(record):
    """A shard's record as ``(JPEG bytes, label, file name)``."""
    features = tf.io.parse_single_example(record, {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64),
        "file": tf.io.FixedLenFeature([], tf.string)})
    return features["image"], tf.cast(features["label"], tf.int32), features["file"]


@dataclasses.dataclass(frozen=True)
class ShardDataset(Dataset):
    """A folder of shards with the core ``Dataset``'s interface; ``manifest``: what
    ``prepare`` wrote of them."""

    manifest: dict = dataclasses.field(default_factory=dict)
    held_out_remedy = ("prepare the shards from a dataset with one, or with "
                       "--validation-split 0.2")

    @classmethod
    def open(cls, root: str | Path) -> ShardDataset:
        path = Path(root) / MANIFEST
        try:
            manifest = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: not a shard manifest ({error})") from None
        problem = _manifest_problem(manifest)
        if problem:
            raise ValueError(f"{path}: not a shard manifest ({problem}); run prepare "
                             "SRC DEST again to rewrite it")
        return cls(Path(root), Path(root), frozenset(manifest["splits"]), manifest)

    @property
    def where(self) -> str:
        return f"{self.root}: the shards have"

    @property
    def descriptions(self) -> dict[str, str]:
        return self.manifest.get("descriptions", {})

    def val_folder(self, val_dir: str | None = None) -> str:
        name = None if val_dir is None else str(val_dir).strip("/")
        if name not in (None, "train", *self.folders):
            raise DatasetNotFoundError(f"{self.where} no {name!r} split (--val-dir)")
        return super().val_folder(val_dir)

    def split(self, role: str, class_names: list[str] | None = None, limit: int | None = None,
              val_dir: str | None = None, validation_split: float | None = None,
              seed: int = 0, check: str | None = "header") -> Split:
        if validation_split is not None:
            raise ValueError(f"{self.root}: shards cannot be split when training; hold out "
                             "the validation images when making them: prepare SRC DEST "
                             f"--validation-split {validation_split}")
        return super().split(role, class_names, limit, val_dir, None, seed, check)

    def folder(self, name: str, class_names: list[str] | None = None,
               limit: int | None = None, check: str | None = "header",
               role: str = "val") -> ShardSplit:
        """One split of the shards; ``limit`` (images per class) keeps ``limit x classes``
        images."""
        if limit is not None and limit < 1:
            raise ValueError(f"--limit {limit}: must be at least 1 (images per class)")
        if class_names is not None and class_names != self.manifest["class_names"]:
            raise ValueError(f"{self.root / MANIFEST}: classes differ from the training "
                             "classes")
        if name not in self.folders:
            raise DatasetNotFoundError(f"{self.where} no {name}/")
        info = self.manifest["splits"][name]
        records = info["images"]
        if limit is not None:
            records = min(records, limit * len(self.manifest["class_names"]))
        return ShardSplit([str(self.root / s["file"]) for s in info["shards"]],
                          np.zeros(0, "int32"), self.manifest["class_names"],
                          [tuple(s) for s in info.get("skipped", [])],
                          f"{name}/ shards" + (f" ({info['source']})" if "source" in info
                                               else ""), records)


def _manifest_problem(manifest) -> str | None:
    """What a shard folder's manifest.json lacks of what ``ShardDataset`` reads, or None."""
    if not isinstance(manifest, dict):
        return "not a JSON object"
    if not (isinstance(manifest.get("class_names"), list)
            and all(isinstance(name, str) for name in manifest["class_names"])):
        return "no list of class_names"
    if not isinstance(manifest.get("splits"), dict):
        return "no splits"
    for name, info in manifest["splits"].items():
        if not (isinstance(info, dict) and isinstance(info.get("images"), int)
                and isinstance(info.get("shards"), list)
                and all(isinstance(s, dict) and isinstance(s.get("file"), str)
                        for s in info["shards"])
                and isinstance(info.get("skipped", []), list)):
            return f"split {name!r} lacks its images, shards or skipped files"
    return None


def load_rgb(path: str | Path, max_pixels: int = files.MAX_PIXELS) -> Image.Image:
    """Decodes a whole image as RGB, or raises ValueError naming the file and why."""
    reason = None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a named pipe or a device: never read
            raise ValueError(f"{path}: not a regular file")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            if image.width * image.height > max_pixels:
                reason = f"too large ({image.width}x{image.height} is over {max_pixels:,} pixels)"
            else:
                image.load()  # raises on truncated data (ImageFile.LOAD_TRUNCATED_IMAGES is off)
                return batches.rgb(image)  # as training and evaluation convert it
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        reason = f"too large (over {max_pixels:,} pixels)"
    except (OSError, SyntaxError, ValueError) as error:
        path = Path(path)
        if str(error).endswith(": not a regular file"):
            raise
        if isinstance(error, OSError) and error.errno is not None:  # from the file system
            reason = files.unreadable(path, error)
        else:
            reason = "empty file" if path.stat().st_size == 0 else f"not decodable ({error})"
    raise ValueError(f"{path}: {reason}")


def resized_jpeg(path: str | Path, shorter_side: int, quality: int = 90,
                 max_pixels: int = files.MAX_PIXELS) -> bytes:
    """The image re-encoded as RGB JPEG with its shorter side at most ``shorter_side``
    (smaller images keep their size: the pipeline resizes them anyway). Raises
    ValueError for unusable files."""
    image = load_rgb(path, max_pixels)
    scale = shorter_side / min(image.size)
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _encode(job: tuple[str, int, int, int]) -> tuple[str, int, bytes | None, str | None]:
    """One file -> (file, label, JPEG bytes or None, reason or None), in a thread."""
    path, label, shorter_side, quality = job
    try:
        jpeg = resized_jpeg(path, shorter_side, quality)
    except ValueError as error:
        return path, label, None, str(error).split(": ", 1)[-1]
    return path, label, jpeg, None


def _example(jpeg: bytes, label: int, name: str):
    feature = tf.train.Feature
    return tf.train.Example(features=tf.train.Features(feature={
        "image": feature(bytes_list=tf.train.BytesList(value=[jpeg])),
        "label": feature(int64_list=tf.train.Int64List(value=[label])),
        "file": feature(bytes_list=tf.train.BytesList(value=[name.encode()])),
    })).SerializeToString()


def prepare(src: str | Path, dest: str | Path, shorter_side: int = 256,
            shard_size: int = 1024, quality: int = 90, workers: int | None = None,
            seed: int = 0, val_dir: str | None = None,
            validation_split: float | None = None) -> Path:
    """Converts every split of ``src`` (any layout ``Dataset`` reads) into shards in
    ``dest``; returns the manifest's path. Safe to rerun after interruption.

    The splits: ``train/`` and each held-out folder there is (``VAL_FOLDERS``, and
    ``val_dir`` if given); with ``validation_split``, ``train/`` less a seeded, stratified
    fraction of each class, and that fraction as ``val`` (``datasets.hold_out``)."""
    src, dest = Path(src), Path(dest)
    for flag, value, low, high in (("--shorter-side", shorter_side, 1, 4096),
                                   ("--shard-size", shard_size, 1, None),
                                   ("--quality", quality, 1, 100), ("--workers", workers, 1, None)):
        if value is not None and (value < low or (high is not None and value > high)):
            raise ValueError(f"{flag} {value}: must be at least {low}"
                             + (f" and at most {high}" if high else ""))
    if dest.exists() and not dest.is_dir():
        raise ValueError(f"{dest}: a file is there; give a folder for the shards")
    if (src / MANIFEST).is_file():
        raise ValueError(f"{src}: already a shard folder")
    check_split_settings(val_dir, validation_split)
    dataset = Dataset.open(src)
    settings = {"format": FORMAT, "source": str(src.resolve()), "shorter_side": shorter_side,
                "quality": quality, "shard_size": shard_size, "seed": seed,
                **({"validation_split": validation_split} if validation_split else {})}
    held_out = [name for name in VAL_FOLDERS if name in dataset.folders]
    if val_dir is not None and dataset.val_folder(val_dir) not in held_out:
        held_out.append(dataset.val_folder(val_dir))
    if validation_split:
        if "val" in held_out:
            raise ValueError(f"{dataset.images / 'val'}: held-out images are there "
                             "already: drop --validation-split (or rename val/)")
        holdout = dict(validation_split=validation_split, seed=seed, check=None)
        train = dataset.split("train", **holdout)
        splits = {"train": train, "val": dataset.split("val", train.class_names, **holdout)}
    else:
        train = dataset.split("train", check=None)
        splits = {"train": train}
        if not held_out:
            print(f"note: {dataset.images} has no held-out folder (none of "
                  f"{', '.join(f'{n}/' for n in VAL_FOLDERS)}): only train/ is converted; "
                  "add --validation-split 0.2 to hold out part of it")
    for name in held_out:
        splits[name] = dataset.folder(name, train.class_names, check=None)
    _check_destination(src, dataset.images, dest, list(splits))
    dest.mkdir(parents=True, exist_ok=True)
    with runfolder.Lock(dest, busy="a prepare is writing shards into this folder",
                        remedy="wait for it, or choose another DEST"):
        _check_own(dest, splits, shard_size)
        return _convert(src, dest, dataset, splits, settings, shard_size, shorter_side,
                        quality, workers, seed, train)


def _check_destination(src: Path, images: Path, dest: Path, splits: list[str]) -> None:
    """Refuses a DEST that is SRC, or inside a split folder it reads (the shards would
    become images of a class, or a class of their own)."""
    target = dest.resolve()
    for folder in (src, images, *(images / name for name in splits)):
        folder = folder.resolve()
        if target == folder or (folder != src.resolve() and folder != images.resolve()
                                and folder in target.parents):
            where = "the source dataset's folder" if target == folder else \
                f"inside the source dataset's {folder}"
            raise ValueError(f"{dest}: {where} (its images would change); give a DEST "
                             "outside SRC's split folders")


def _written_by_prepare(path: Path) -> bool:
    """Whether ``path`` (a manifest.json) is one ``prepare`` wrote."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(record, dict) and record.get("format") == FORMAT


def _check_own(dest: Path, splits: dict[str, Split], shard_size: int) -> None:
    """Refuses, naming it, a manifest.json or shard in ``dest`` that ``prepare`` did not
    write (a shard it wrote has its record in ``.parts/``)."""
    manifest = dest / MANIFEST
    if manifest.exists() and not _written_by_prepare(manifest):
        raise FileExistsError(f"{manifest}: not written by prepare; it would be replaced: "
                              "move it away, or choose another DEST")
    for name, split in splits.items():
        count = max(1, -(-len(split) // shard_size))
        for index in range(count):
            shard = f"{name}-{index:05d}-of-{count:05d}.tfrecord"
            if (dest / shard).exists() and not (dest / ".parts" / f"{shard}.json").is_file():
                raise FileExistsError(f"{dest / shard}: not written by prepare (no record in "
                                      f"{dest / '.parts'}); it would be replaced: move it "
                                      "away, or choose another DEST")


def _content(split: Split, rows, src: Path) -> list:
    """What a shard holds, to tell whether a rerun may keep it: each file's name
    (relative to SRC), size, modification time (ns) and label."""
    content = []
    for i in rows:
        file = split.files[i]
        try:
            status = os.stat(file)
            size, mtime = status.st_size, status.st_mtime_ns
        except OSError:  # a broken link: skipped, and so recorded
            size = mtime = None
        content.append([os.path.relpath(file, src), size, mtime, int(split.labels[i])])
    return content


def _convert(src: Path, dest: Path, dataset: Dataset, splits: dict[str, Split],
             settings: dict, shard_size: int, shorter_side: int, quality: int,
             workers: int | None, seed: int, train: Split) -> Path:
    """Writes the shards of ``splits`` and the manifest (``prepare``, holding the lock)."""
    parts = dest / ".parts"
    parts.mkdir(exist_ok=True)
    workers = workers or os.cpu_count() or 1
    manifest = {**settings, "class_names": train.class_names,
                "descriptions": dataset.descriptions, "splits": {}}
    # Threads: Pillow decodes, resizes and encodes without the GIL, and no worker process
    # re-imports the package (and TensorFlow with it).
    with ThreadPool(workers) as pool:
        for name, split in splits.items():
            order = np.random.default_rng(seed).permutation(len(split))
            count = max(1, -(-len(split) // shard_size))
            print(f"{name}: {len(split)} images from {split.source} in {dataset.images} "
                  f"-> {count} shard(s)")
            progress = keras.utils.Progbar(len(split), unit_name="image")
            shards = []
            for index, chunk in enumerate(np.array_split(order, count)):
                shard = f"{name}-{index:05d}-of-{count:05d}.tfrecord"
                record = parts / f"{shard}.json"
                content = _content(split, chunk, src)
                if (dest / shard).is_file() and record.is_file():
                    try:
                        done = json.loads(record.read_text())
                        same = (done["settings"] == settings and done["files"] == len(chunk)
                                and done["content"] == content)
                    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                        same = False  # a record of an older format, or damaged: redo
                    if same:
                        shards.append(done)
                        progress.add(len(chunk))
                        continue
                jobs = [(split.files[i], int(split.labels[i]), shorter_side, quality)
                        for i in chunk]
                per_class, skipped = [0] * len(split.class_names), []
                with tf.io.TFRecordWriter(str(dest / f"{shard}.partial")) as writer:
                    for path, label, jpeg, reason in pool.imap(_encode, jobs, chunksize=8):
                        if jpeg is None:
                            skipped.append((path, reason))
                        else:
                            relative = os.path.relpath(path, src)
                            writer.write(_example(jpeg, label, relative))
                            per_class[label] += 1
                        progress.add(1)
                done = {"file": shard, "settings": settings, "files": len(chunk),
                        "images": sum(per_class), "per_class": per_class, "skipped": skipped,
                        "content": content}
                (parts / f"{shard}.json.partial").write_text(json.dumps(done))
                os.replace(parts / f"{shard}.json.partial", record)
                os.replace(dest / f"{shard}.partial", dest / shard)
                shards.append(done)
            skipped = [list(s) for shard in shards for s in shard["skipped"]]
            per_class = np.sum([shard["per_class"] for shard in shards], axis=0)
            manifest["splits"][name] = {
                "images": int(per_class.sum()),
                "per_class": dict(zip(split.class_names, map(int, per_class), strict=True)),
                # those left out when listed (named then), and when converted
                "skipped": [list(s) for s in split.skipped] + skipped,
                "shards": [{"file": s["file"], "images": s["images"]} for s in shards],
                **({"source": split.source} if split.source != f"{name}/" else {}),
            }
            if skipped:
                print(files.report(skipped, name))
    path = dest / MANIFEST
    runfolder.write_text(path, json.dumps(manifest, indent=1) + "\n")
    return path


def op_message(error: Exception) -> str:
    """A TensorFlow op error in one line, its own words without the graph's around them:
    the message of a Python error raised inside the pipeline (``report``), else the line
    that says what went wrong (``truncated record at 5222 ...``), without node names."""
    text = getattr(error, "message", str(error))
    raised = re.findall(r"^\w+(?:Error|Exception): (.+)$", text, re.MULTILINE)
    if raised:
        return raised[-1].strip()
    said = [line for line in text.splitlines() if line.strip() and not line[0].isspace()
            and not line.startswith(("Graph execution error", "Detected at node",
                                     "<stack traces", "Traceback"))]
    line = said[-1] if said else text.strip()
    line = re.sub(r"\{\{[^}]*\}\}\s*", "", line)  # {{function_node ...}}
    return re.sub(r"\s*(\[\[.*\]\]|\[Op:[^\]]*\]).*$", "", line).strip() or text.strip()


def damaged_shards(split: Split) -> list[str]:
    """The TFRecord shards of ``split`` that do not read to their end (truncated or
    corrupt records); none for a split of image files."""
    damaged = []
    for shard in split.files if isinstance(split, ShardSplit) else []:
        try:
            tf.data.TFRecordDataset(shard).reduce(np.int64(0), lambda count, _: count + 1)
        except tf.errors.DataLossError:
            damaged.append(shard)
    return damaged


def shard_error(error: Exception, *splits: Split | None) -> OSError:
    """The one line for a ``DataLossError`` met reading ``splits``: the damaged shards
    by name, and how to mend them."""
    splits = [split for split in splits if isinstance(split, ShardSplit)]
    damaged = [shard for split in splits for shard in damaged_shards(split)]
    if not damaged:  # it reads whole now (the disk, the network)
        folders = sorted({str(Path(shard).parent) for split in splits for shard in split.files})
        return OSError(errno.EIO, f"{', '.join(folders) or 'shards'}: a shard could not be "
                                  f"read ({op_message(error)})")
    return OSError(errno.EIO, f"{', '.join(damaged)}: damaged TFRecord shard "
                              f"({op_message(error)}); delete it and run prepare SRC DEST "
                              "again, which rewrites missing shards")
