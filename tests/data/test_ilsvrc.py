"""ILSVRC-2012 layouts, built in a temporary folder from ImageNet-sample-like files
(``<wnid>_<name>.JPEG``, generated: conftest.sample_photos): every image must get its
own class. Also the held-out folders (val/, validation/, test/, --val-dir) and the
held-out fraction of train/ (--validation-split)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from alexnet.data.datasets import Dataset, DatasetNotFoundError
from alexnet.data.names import display_names
from alexnet.data.splits import Split

CLASSES = 6  # samples used; each gives 2 train and 2 val images


@pytest.fixture(scope="module")
def samples(sample_photos) -> dict[str, tuple[Path, str]]:
    """{wnid: (sample file, words)} for the first CLASSES samples."""
    files = sorted(sample_photos.glob("n*_*.JPEG"))[:CLASSES]
    assert len(files) == CLASSES
    return {f.stem.split("_", 1)[0]: (f, f.stem.split("_", 1)[1].replace("_", " "))
            for f in files}


def link(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(source, dest)


def build(root: Path, samples: dict, val: str, deep: bool = False) -> dict[str, str]:
    """train/<wnid>/ plus val/ as ``val`` says ("folders", "kaggle" or "devkit");
    returns {val image name: wnid}, the truth the labels are checked against."""
    images = root / "ILSVRC" / "Data" / "CLS-LOC" if deep else root
    for wnid, (sample, _) in samples.items():
        for i in range(2):
            link(sample, images / "train" / wnid / f"{wnid}_{i}.JPEG")
    # Validation images in an order unrelated to the classes, as in ILSVRC.
    wnids = [w for w in samples for _ in range(2)]
    order = np.random.default_rng(0).permutation(len(wnids))
    truth = {}
    for number, index in enumerate(order, 1):
        wnid = wnids[index]
        name = f"ILSVRC2012_val_{number:08d}.JPEG"
        truth[name] = wnid
        link(samples[wnid][0], images / "val" / (wnid if val == "folders" else "") / name)
    if val == "kaggle":
        (root / "LOC_synset_mapping.txt").write_text(
            "".join(f"{w} {words}, more words\n" for w, (_, words) in sorted(samples.items())))
        rows = [f"{Path(name).stem},{wnid} 1 2 30 40 {wnid} 5 6 70 80\n"
                for name, wnid in truth.items()]
        (root / "LOC_val_solution.csv").write_text("ImageId,PredictionString\n" + "".join(rows))
    if val == "devkit":
        from scipy.io import savemat

        # ILSVRC ids are not in wnid order; non-leaf synsets (children) come after 1000.
        ids = {wnid: 1000 - i for i, wnid in enumerate(samples)}
        fields = [("ILSVRC2012_ID", "O"), ("WNID", "O"), ("words", "O"), ("num_children", "O")]
        synsets = np.zeros(len(samples) + 1, dtype=fields)
        for i, (wnid, (_, words)) in enumerate(samples.items()):
            synsets[i] = (ids[wnid], wnid, f"{words}, more words", 0)
        synsets[-1] = (1001, "n00001740", "entity", 3)
        devkit = root / "ILSVRC2012_devkit_t12" / "data"
        devkit.mkdir(parents=True)
        savemat(devkit / "meta.mat", {"synsets": synsets})
        (devkit / "ILSVRC2012_validation_ground_truth.txt").write_text(
            "".join(f"{ids[wnid]}\n" for wnid in truth.values()))
    return truth


def check_labels(train: Split, val: Split, samples: dict, truth: dict) -> None:
    assert train.class_names == val.class_names == sorted(samples)
    for file, label in zip(train.files, train.labels, strict=True):
        assert Path(file).parent.name == train.class_names[label]
    assert sorted(Path(f).name for f in val.files) == sorted(truth)
    for file, label in zip(val.files, val.labels, strict=True):
        assert val.class_names[label] == truth[Path(file).name], file


@pytest.mark.parametrize("layout", ["folders", "kaggle", "devkit"])
def test_every_label_in_each_layout(tmp_path, samples, layout):
    truth = build(tmp_path, samples, layout)
    dataset = Dataset.open(tmp_path)
    train, val = dataset.splits()
    check_labels(train, val, samples, truth)
    assert len(train) == len(val) == 2 * CLASSES
    words = display_names(val.class_names, dataset.descriptions)
    expected = [samples[w][1] for w in val.class_names]
    if layout == "folders":  # nothing to name them by
        assert dataset.descriptions == {}
    else:  # the first of the comma-separated words
        assert words == expected


def test_kaggle_archive_layout_and_limit(tmp_path, samples):
    truth = build(tmp_path, samples, "kaggle", deep=True)
    dataset = Dataset.open(tmp_path)
    assert dataset.images == tmp_path / "ILSVRC" / "Data" / "CLS-LOC"
    train, val = dataset.splits()
    check_labels(train, val, samples, truth)
    small = dataset.folder("val", train.class_names, limit=1)
    assert len(small) == CLASSES and sorted(small.labels) == list(range(CLASSES))
    for file, label in zip(small.files, small.labels, strict=True):
        assert small.class_names[label] == truth[Path(file).name]


def test_flat_val_without_labels_says_what_is_needed(tmp_path, samples):
    build(tmp_path, samples, "folders")
    flat = tmp_path / "val"
    for image in list(flat.rglob("*.JPEG")):
        image.rename(flat / image.name)
    for folder in flat.iterdir():
        if folder.is_dir():
            folder.rmdir()
    with pytest.raises(DatasetNotFoundError, match="LOC_val_solution.csv"):
        Dataset.open(tmp_path).folder("val")


def test_unlabelled_image_and_unknown_class_are_named(tmp_path, samples):
    build(tmp_path, samples, "kaggle")
    csv = tmp_path / "LOC_val_solution.csv"
    lines = csv.read_text().splitlines(keepends=True)
    csv.write_text("".join(lines[:-1]))
    missing = lines[-1].split(",")[0]
    with pytest.raises(ValueError, match=f"no label in the label file, e.g. {missing}.JPEG"):
        Dataset.open(tmp_path).folder("val")
    csv.write_text("".join(lines[:-1]) + f"{missing},n99999999 1 2 3 4\n")
    with pytest.raises(ValueError, match="n99999999"):
        Dataset.open(tmp_path).folder("val", sorted(samples))
