"""Packed in-memory datasets: what goes in comes out, whole or in parts."""

from __future__ import annotations

import os

import numpy as np
import pytest

from alexnet.data.datasets import Dataset
from alexnet.harness import packs as arrays


@pytest.fixture
def splits(tiny_dataset):
    train, val = Dataset.open(tiny_dataset).splits()
    return {"train": train, "val": val}


def test_pack_round_trip_whole_and_in_parts(splits, tiny_dataset, tmp_path):
    whole = arrays.pack(splits, tmp_path / "whole.npz", 32, root=tiny_dataset, workers=1)
    parted = arrays.pack(splits, tmp_path / "parted.npz", 32, root=tiny_dataset, workers=1,
                         parts=3)
    assert whole == [tmp_path / "whole.npz"]
    assert [p.name for p in parted] == [f"parted.{i}-of-3.npz" for i in (1, 2, 3)]
    one, three = arrays.unpack(whole[0], workers=1), arrays.unpack(tmp_path / "parted.npz", 1)
    for name, split in splits.items():
        images, unpacked = one[name]
        assert images.shape == (len(split), 32, 32, 3) and images.dtype == np.uint8
        np.testing.assert_array_equal(unpacked.labels, split.labels)
        assert unpacked.class_names == split.class_names
        assert unpacked.files == [os.path.relpath(f, tiny_dataset) for f in split.files]
        # WebP is lossy but deterministic: the parts hold exactly the same images
        np.testing.assert_array_equal(three[name][0], images)
        assert three[name][1].files == unpacked.files
        # each image is its own source, compressed (random noise, WebP's worst case):
        # nearer to it than to any other image of the split
        source = arrays.load(split, 32, workers=1).astype("float32")
        errors = np.abs(images[:, None].astype("float32") - source[None]).mean(axis=(2, 3, 4))
        np.testing.assert_array_equal(errors.argmin(axis=1), np.arange(len(split)))


def test_missing_or_mixed_parts_are_named(splits, tiny_dataset, tmp_path):
    with pytest.raises(FileNotFoundError, match="nor parts"):
        arrays.pack_files(tmp_path / "nothing.npz")
    arrays.pack(splits, tmp_path / "pack.npz", 16, workers=1, parts=2)
    (tmp_path / "pack.2-of-2.npz").rename(tmp_path / "elsewhere.npz")
    with pytest.raises(FileNotFoundError, match=r"missing part\(s\) pack.2-of-2.npz"):
        arrays.unpack(tmp_path / "pack.npz")
    (tmp_path / "elsewhere.npz").rename(tmp_path / "pack.2-of-2.npz")
    (tmp_path / "pack.3-of-3.npz").write_bytes(b"stale")
    with pytest.raises(ValueError, match=r"split \[2, 3\] ways"):
        arrays.pack_files(tmp_path / "pack.npz")
    # packing again replaces every earlier part, whatever its count
    arrays.pack(splits, tmp_path / "pack.npz", 16, workers=1, parts=2)
    assert sorted(p.name for p in tmp_path.glob("pack*")) == ["pack.1-of-2.npz",
                                                             "pack.2-of-2.npz"]
    other = arrays.pack(splits, tmp_path / "other.npz", 24, workers=1, parts=2)
    other[1].replace(tmp_path / "pack.2-of-2.npz")
    with pytest.raises(ValueError, match="24 px.*parts of different packs"):
        arrays.unpack(tmp_path / "pack.npz", workers=1)
