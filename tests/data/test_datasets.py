"""Listing a dataset's images: ``Dataset.open`` resolves a root once; its splits sort the
classes, label each file, keep ``--limit`` images a class, name what they leave out and
refuse what cannot train a classifier (issue 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alexnet.data.datasets import IMAGE_EXTENSIONS, Dataset, DatasetNotFoundError
from alexnet.data.names import display_names
from conftest import write_image


def test_list_split_sorts_classes_and_labels(tiny_dataset):
    train, val = Dataset.open(tiny_dataset).splits()
    assert train.class_names == ["cat", "dog", "eel"] == val.class_names
    assert len(train) == 12
    for file, label in zip(train.files, train.labels, strict=True):
        assert Path(file).parent.name == train.class_names[label]
    assert (train.source, val.source) == ("train/", "val/")


def test_limit_keeps_n_per_class(tiny_dataset):
    train, _ = Dataset.open(tiny_dataset).splits(limit=2)
    assert np.bincount(train.labels).tolist() == [2, 2, 2]
    for limit in (0, -3):
        with pytest.raises(ValueError, match=f"--limit {limit}: must be at least 1"):
            Dataset.open(tiny_dataset).splits(limit=limit)


def test_class_folders_must_match_between_splits(tiny_dataset):
    (tiny_dataset / "val" / "eel").rename(tiny_dataset / "val" / "emu")
    with pytest.raises(ValueError, match=r"missing \['eel'\], extra \['emu'\]"):
        Dataset.open(tiny_dataset).splits()


def test_a_folder_by_name_and_the_held_out_folder(tiny_dataset):
    dataset = Dataset.open(tiny_dataset)
    assert dataset.folders == {"train", "val"}
    assert dataset.val_folder() == "val"
    test = dataset.folder("val", ["cat", "dog", "eel"], limit=1)
    assert len(test) == 3 and test.source == "val/"
    with pytest.raises(ValueError, match="unknown role 'test'"):
        dataset.split("test")
    with pytest.raises(DatasetNotFoundError, match="no such dataset folder"):
        Dataset.open(tiny_dataset / "nowhere")


def test_files_of_other_kinds_are_skipped_and_named(tiny_dataset, capsys):
    """A README, a .webp or a .gif in a class folder is not read as an image: it is left
    out, named in ``Split.skipped`` with why, and reported; hidden files are not listed."""
    cat = tiny_dataset / "train" / "cat"
    (cat / "README.txt").write_text("where these came from\n")
    write_image(cat / "e.webp", (30, 30))
    (cat / ".DS_Store").write_bytes(b"\0\0")
    train = Dataset.open(tiny_dataset).split("train")
    assert len(train) == 12
    skipped = {Path(file).name: reason for file, reason in train.skipped}
    assert set(skipped) == {"README.txt", "e.webp"}
    assert all(reason == f"not a {'/'.join(IMAGE_EXTENSIONS)} file" for reason in skipped.values())
    report = capsys.readouterr().err
    assert "skipped 2 unusable file(s)" in report and "README.txt" in report


def test_a_training_class_without_usable_images_is_an_error(tiny_dataset, capsys):
    """Training on a class it has no image of would waste an output and skew the loss:
    the listing stops, naming the class. A held-out class without images only warns (its
    accuracy is no result)."""
    for image in (tiny_dataset / "val" / "eel").iterdir():
        image.unlink()
    (tiny_dataset / "val" / "eel" / "notes.txt").write_text("nothing here\n")
    train, val = Dataset.open(tiny_dataset).splits()
    assert np.bincount(val.labels, minlength=3).tolist() == [4, 4, 0]
    assert "no images of class(es) eel" in capsys.readouterr().err
    for image in (tiny_dataset / "train" / "eel").iterdir():
        image.write_bytes(b"")  # every one of them unusable
    with pytest.raises(ValueError, match="train: no usable images for class.*eel"):
        Dataset.open(tiny_dataset).splits()


def test_fewer_than_two_classes_is_an_error(tmp_path):
    for split in ("train", "val"):
        write_image(tmp_path / split / "cat" / "a.jpg")
    with pytest.raises(ValueError, match="1 class folder.*needs at least 2"):
        Dataset.open(tmp_path).splits()


def test_no_images_at_all_is_an_error(tmp_path):
    for split in ("train", "val"):
        (tmp_path / split / "cat").mkdir(parents=True)
    with pytest.raises(DatasetNotFoundError, match="train: no images"):
        Dataset.open(tmp_path).splits()


def test_display_names():
    assert display_names(["n01440764", "n99", "n98"], {"n98": "thing, other words"}) == [
        "tench", "n99", "thing"]
