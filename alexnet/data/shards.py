"""``python -m alexnet prepare SRC DEST``: a raw dataset as TFRecord shards.

Each image is decoded in full (which verifies it), resized to a shorter side of
256 (never enlarged) and stored as an RGB JPEG with its label, in shards of about
1,000 images; training shards are in shuffled order. Unusable files are skipped
and listed. A shard is written to a temporary name and renamed when complete,
with a small record of its counts beside it, so an interrupted run redoes only
unfinished shards. ``manifest.json`` (counts per class, skipped files, shard
sizes) is written last; its presence is how ``Dataset.open`` knows a shard
folder. Reading the manifest needs no TensorFlow.
"""

from __future__ import annotations

import json
import os
from multiprocessing import get_context
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from alexnet.data import files
from alexnet.data.datasets import SHARD_MANIFEST, VAL_FOLDERS, Dataset
from alexnet.data.splits import check_split_settings

MANIFEST = SHARD_MANIFEST
FORMAT = "alexnet-tfrecord-1"


def _encode(job: tuple[str, int, int, int]) -> tuple[str, int, bytes | None, str | None]:
    """Worker: one file -> (file, label, JPEG bytes or None, reason or None)."""
    path, label, shorter_side, quality = job
    try:
        jpeg = files.resized_jpeg(path, shorter_side, quality)
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
    dest.mkdir(parents=True, exist_ok=True)
    parts = dest / ".parts"
    parts.mkdir(exist_ok=True)
    workers = workers or os.cpu_count() or 1
    manifest = {**settings, "class_names": train.class_names,
                "descriptions": dataset.descriptions, "splits": {}}
    # Workers only need PIL; "spawn" keeps TensorFlow's threads out of them.
    with get_context("spawn").Pool(workers) as pool:
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
                if (dest / shard).is_file() and record.is_file():
                    done = json.loads(record.read_text())
                    if done["settings"] == settings and done["files"] == len(chunk):
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
                        "images": sum(per_class), "per_class": per_class, "skipped": skipped}
                (parts / f"{shard}.json.partial").write_text(json.dumps(done))
                os.replace(parts / f"{shard}.json.partial", record)
                os.replace(dest / f"{shard}.partial", dest / shard)
                shards.append(done)
            skipped = [s for shard in shards for s in shard["skipped"]]
            per_class = np.sum([shard["per_class"] for shard in shards], axis=0)
            manifest["splits"][name] = {
                "images": int(per_class.sum()),
                "per_class": dict(zip(split.class_names, map(int, per_class), strict=True)),
                "skipped": skipped,
                "shards": [{"file": s["file"], "images": s["images"]} for s in shards],
                **({"source": split.source} if split.source != f"{name}/" else {}),
            }
            if skipped:
                print(files.report(skipped, name))
    path = dest / MANIFEST
    path.write_text(json.dumps(manifest, indent=1) + "\n")
    return path
