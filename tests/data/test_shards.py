"""``prepare``: raw trees (any layout) -> verified, resized TFRecord shards that
training and evaluation read in place of the folders; resumable."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from alexnet.__main__ import main
from alexnet.data import augment, batches
from alexnet.data.datasets import Dataset
from alexnet.harness.shards import open_dataset
from conftest import PROJECT

WNIDS = ("n01440764", "n01494475", "n01514859")


@pytest.fixture(scope="module")
def raw(tmp_path_factory, sample_photos) -> Path:
    """train/<wnid>/ (3 classes x 3 images, one a PNG, one CMYK, plus two broken files)
    and a flat Kaggle-style val/ of 3 images, from generated ImageNet-sample-like JPEGs."""
    samples = {w: next(sample_photos.glob(f"{w}_*.JPEG")) for w in WNIDS}
    root = tmp_path_factory.mktemp("raw")
    for wnid, sample in samples.items():
        folder = root / "train" / wnid
        folder.mkdir(parents=True)
        for i in range(3):
            os.symlink(sample, folder / f"{wnid}_{i}.JPEG")
    first = root / "train" / WNIDS[0]
    os.remove(first / f"{WNIDS[0]}_1.JPEG")
    Image.open(samples[WNIDS[0]]).save(first / f"{WNIDS[0]}_1.JPEG", format="PNG")
    os.remove(first / f"{WNIDS[0]}_2.JPEG")
    Image.open(samples[WNIDS[0]]).convert("CMYK").save(first / f"{WNIDS[0]}_2.JPEG")
    (first / "empty.JPEG").write_bytes(b"")
    raw = samples[WNIDS[1]].read_bytes()
    (root / "train" / WNIDS[1] / "truncated.JPEG").write_bytes(raw[:len(raw) // 2])
    (root / "val").mkdir()
    rows = ["ImageId,PredictionString"]
    for number, wnid in enumerate(reversed(WNIDS), 1):
        os.symlink(samples[wnid], root / "val" / f"ILSVRC2012_val_{number:08d}.JPEG")
        rows.append(f"ILSVRC2012_val_{number:08d},{wnid} 1 2 3 4")
    (root / "LOC_val_solution.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="module")
def shards(raw, tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("shards")
    assert main(["prepare", str(raw), str(dest), "--shard-size", "4", "--workers", "2"]) == 0
    return dest


def records(files) -> list[dict]:
    """Every example in the shards, decoded."""
    out = []
    for record in tf.data.TFRecordDataset([str(f) for f in files]):
        example = tf.train.Example.FromString(record.numpy()).features.feature
        image = tf.io.decode_jpeg(example["image"].bytes_list.value[0]).numpy()
        out.append({"file": example["file"].bytes_list.value[0].decode(),
                    "label": example["label"].int64_list.value[0], "shape": image.shape})
    return out


def test_manifest_counts_and_skipped_files(shards):
    manifest = json.loads((shards / "manifest.json").read_text())
    assert manifest["class_names"] == list(WNIDS)
    train, val = manifest["splits"]["train"], manifest["splits"]["val"]
    assert train["per_class"] == dict.fromkeys(WNIDS, 3) and train["images"] == 9
    assert sorted((Path(f).name, r.split(" (")[0]) for f, r in train["skipped"]) == [
        ("empty.JPEG", "empty file"), ("truncated.JPEG", "not decodable")]
    assert [s["images"] for s in train["shards"]] == [3, 3, 3]  # 11 files in 3 shards
    assert val["per_class"] == dict.fromkeys(WNIDS, 1) and val["skipped"] == []


def test_every_image_verified_resized_and_labelled(shards):
    for split in ("train", "val"):
        examples = records(sorted(shards.glob(f"{split}-*.tfrecord")))
        assert len(examples) == (9 if split == "train" else 3)
        for example in examples:
            height, width, channels = example["shape"]
            assert min(height, width) == 256 and channels == 3  # samples are 500 x 3xx
            if split == "train":
                wnid = Path(example["file"]).parent.name
            else:  # reversed order in the flat val/
                wnid = WNIDS[::-1][int(Path(example["file"]).stem[-1]) - 1]
            assert WNIDS[example["label"]] == wnid, example


def test_training_and_evaluation_read_shards_automatically(shards):
    train, val = open_dataset(shards).splits()
    assert (len(train), len(val)) == (9, 3) and train.records == 9
    assert train.class_names == list(WNIDS) and len(train.skipped) == 2
    labels = []
    for images, one_hot in batches.training(train, 64, 4, augment.augmentation("paper", 64)):
        assert images.shape[1:] == (64, 64, 3)
        labels += list(np.argmax(one_hot, axis=-1))
    assert sorted(labels) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    images, one_hot = next(iter(batches.evaluation(val, 8, 64, "ten")))
    assert images.shape == (3, 10, 64, 64, 3) and sorted(np.argmax(one_hot, -1)) == [0, 1, 2]
    assert len(open_dataset(shards).folder("train", limit=1)) == 3
    assert len(train.spread(4)) == 4  # the first four records
    with pytest.raises(ValueError, match="--train-fraction thins image folders"):
        train.fraction(0.5)
    # the core reads image folders; a shard folder it names, for the command line
    with pytest.raises(ValueError, match=f"{shards}: TFRecord shards"):
        Dataset.open(shards)


def test_rerun_redoes_only_unfinished_shards(raw, shards, tmp_path):
    dest = tmp_path / "copy"
    shutil.copytree(shards, dest)
    before = {p.name: p.stat().st_mtime_ns for p in dest.glob("*.tfrecord")}
    # An interruption in the middle of train shard 1: its file is partial, no record.
    (dest / "train-00001-of-00003.tfrecord").rename(dest / "train-00001-of-00003.tfrecord.partial")
    (dest / ".parts" / "train-00001-of-00003.tfrecord.json").unlink()
    (dest / "manifest.json").unlink()
    assert main(["prepare", str(raw), str(dest), "--shard-size", "4", "--workers", "1"]) == 0
    after = {p.name: p.stat().st_mtime_ns for p in dest.glob("*.tfrecord")}
    assert after.keys() == before.keys()
    redone = {name for name in after if after[name] != before[name]}
    assert redone == {"train-00001-of-00003.tfrecord"}
    assert not list(dest.glob("*.partial"))
    assert (json.loads((dest / "manifest.json").read_text())
            == json.loads((shards / "manifest.json").read_text()))


def test_bad_arguments(raw, shards, tmp_path, capsys):
    assert main(["prepare", str(shards), str(tmp_path / "x")]) == 2
    assert "already a shard folder" in capsys.readouterr().err
    assert main(["prepare", str(raw), str(tmp_path / "y"), "--shard-size", "0"]) == 2
    assert "--shard-size 0: must be at least 1" in capsys.readouterr().err
    for quality in ("0", "101"):
        assert main(["prepare", str(raw), str(tmp_path / "y"), "--quality", quality]) == 2
        assert f"--quality {quality}: must be at least 1 and at most 100" in (
            capsys.readouterr().err)
    (tmp_path / "a-file").write_text("not a folder")
    assert main(["prepare", str(raw), str(tmp_path / "a-file")]) == 2
    assert f"{tmp_path / 'a-file'}: a file is there" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()


@pytest.mark.slow
def test_survives_sigkill_and_resumes(raw, tmp_path):
    """A real interruption: kill -9 once some shards are done, then rerun."""
    src = tmp_path / "many"
    for i in range(24):  # 24 images in 12 shards
        target = src / "train" / WNIDS[i % 3] / f"{i}.JPEG"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(next((raw / "train" / WNIDS[2]).glob("*.JPEG")), target)
    dest = tmp_path / "shards"
    command = [sys.executable, "-m", "alexnet", "prepare", str(src), str(dest),
               "--shard-size", "2", "--workers", "1"]
    process = subprocess.Popen(command, cwd=PROJECT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list(dest.glob(".parts/*.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in dest.glob("*.tfrecord")}
    if (dest / "manifest.json").exists() or len(finished) >= 12:
        pytest.skip("prepare finished before it could be killed")
    assert 2 <= len(finished) < 12
    assert main(command[3:]) == 0
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["splits"]["train"]["images"] == 24
    assert len(list(dest.glob("train-*.tfrecord"))) == 12 and not list(dest.glob("*.partial"))
    for name, mtime in finished.items():  # finished shards were kept, not redone
        assert (dest / name).stat().st_mtime_ns == mtime
    assert len(records(sorted(dest.glob("train-*.tfrecord")))) == 24
