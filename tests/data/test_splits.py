"""Where the validation images come from: the held-out folder (val/, validation/ or
test/, or --val-dir), or a seeded, stratified fraction of train/ (--validation-split)
that training, --resume, evaluate, the report and prepare all see alike."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from alexnet.__main__ import main
from alexnet.data.datasets import Dataset, DatasetNotFoundError
from alexnet.data.splits import Split, split_settings
from alexnet.harness.shards import open_dataset
from conftest import write_image

CLASSES = ("cat", "dog", "eel")


def tree(root: Path, **per_split: int) -> Path:
    """``split/<class>/<n>.png`` (or .jpg) for each split given, ``count`` per class."""
    for split, count in per_split.items():
        for c, name in enumerate(CLASSES):
            for n in range(count):
                write_image(root / split / name / f"{n}.{'png' if n % 2 else 'jpg'}",
                            (24, 20), seed=100 * c + n)
    return root


def linked(root: Path, **folders: Path) -> Path:
    """A dataset root whose folders are links to others (``test=imagenette_like/"val"``)."""
    root.mkdir()
    for name, target in folders.items():
        os.symlink(target, root / name)
    return root


def load(root: Path, **settings):
    """The training and validation images of the dataset (or the shards) at ``root``, as
    the command line reads them."""
    return open_dataset(root).splits(**settings)


def names(split: Split) -> list[tuple[int, str]]:
    return [(int(label), Path(f).name) for f, label in zip(split.files, split.labels,
                                                           strict=True)]


def test_held_out_folder_is_val_validation_or_test_in_that_order(tmp_path):
    root = tree(tmp_path, train=2, test=1)
    splits = load(root)
    assert splits.val.source == "test/" and len(splits.val) == 3 and len(splits.train) == 6
    tree(tmp_path, validation=2)
    assert load(root).val.source == "validation/"
    tree(tmp_path, val=1)
    train, val = load(root)  # still unpacks as two splits
    assert val.source == "val/" and train.source == "train/"
    assert load(root, val_dir="test").val.source == "test/"  # --val-dir picks another
    tree(tmp_path, holdout=1)
    assert load(root, val_dir="holdout/").val.source == "holdout/"
    assert Dataset.open(root).val_folder("holdout/") == "holdout"


def test_no_held_out_images_is_one_error_naming_the_options(tmp_path, capsys):
    root = tree(tmp_path / "data", train=2)
    with pytest.raises(DatasetNotFoundError) as error:
        load(root)
    for option in ("val/, validation/, test/", "--val-dir NAME", "--validation-split 0.2"):
        assert option in str(error.value)
    assert main(["train", "--data", str(root), "--out", str(tmp_path / "run")]) == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith("error: ") and len(message.splitlines()) == 1
    assert "--val-dir NAME" in message and "--validation-split" in message
    assert main(["train", "--data", str(root), "--val-dir", "nope", "--out",
                 str(tmp_path / "run")]) == 2
    assert f"{root / 'nope'}: no such folder" in capsys.readouterr().err
    # the run folder holds no run then: a retry into the same --out is not refused
    assert not (tmp_path / "run" / "best.keras").exists()
    assert not (tmp_path / "run" / "state").exists()


def test_settings_are_checked(tmp_path, capsys):
    from alexnet.recipes import TrainConfig

    root = tree(tmp_path, train=2, val=1)
    for fraction in (0.0, 1.0, 1.5, -0.2):
        with pytest.raises(ValueError, match="must be a fraction between 0 and 1"):
            load(root, validation_split=fraction)
        with pytest.raises(ValueError, match="must be a fraction between 0 and 1"):
            TrainConfig(validation_split=fraction)
    with pytest.raises(ValueError, match="both name the validation images: give one"):
        TrainConfig(val_dir="val", validation_split=0.2)
    assert main(["train", "--data", str(root), "--validation-split", "2"]) == 2
    assert "--validation-split 2.0: must be a fraction" in capsys.readouterr().err
    with pytest.raises(ValueError, match="cannot be the training ones"):
        load(root, val_dir="train")


def test_validation_split_is_stratified_seeded_and_disjoint(tmp_path, monkeypatch):
    root = tree(tmp_path, train=10, val=1)  # val/ is there: --validation-split wins
    train, val = load(root, validation_split=0.2, seed=0)
    assert val.source == "20% of train/ (seed 0)"
    assert np.bincount(val.labels).tolist() == [2, 2, 2]  # a fifth of each class
    assert np.bincount(train.labels).tolist() == [8, 8, 8]
    assert not set(train.files) & set(val.files)
    assert sorted(train.files + val.files) == sorted(Dataset.open(root).folder("train").files)
    assert all(Path(f).parent.parent.name == "train" for f in val.files)
    assert names(load(root, validation_split=0.2, seed=0).val) == names(val)  # seeded
    assert names(load(root, validation_split=0.2, seed=1).val) != names(val)
    for fraction, count in ((0.25, 3), (0.24, 2), (0.5, 5)):  # rounded, half up
        held = load(root, validation_split=fraction).val
        assert np.bincount(held.labels).tolist() == [count] * 3

    # the same images whatever order the file system lists them in
    listing = Path.iterdir
    monkeypatch.setattr(Path, "iterdir", lambda self: iter(sorted(listing(self), reverse=True)))
    assert names(load(root, validation_split=0.2, seed=0).val) == names(val)
    monkeypatch.undo()

    # --limit takes the first images of each part: never a held-out one for training
    small_train, small_val = load(root, limit=3, validation_split=0.2, seed=0)
    assert np.bincount(small_train.labels).tolist() == [3, 3, 3]
    assert set(small_train.files) <= set(train.files) and set(small_val.files) <= set(val.files)
    # one image in a class stays in training; two: one of each
    tiny = tree(tmp_path / "tiny", train=2)
    kept, held = load(tiny, validation_split=0.1)
    assert np.bincount(kept.labels).tolist() == np.bincount(held.labels).tolist() == [1, 1, 1]


def test_evaluation_reads_the_runs_own_validation_images(tmp_path):
    root = tree(tmp_path, train=10, val=3)
    config = {"validation_split": 0.3, "seed": 4, "val_dir": None}
    settings = split_settings(config)
    val = Dataset.open(root).split("val", list(CLASSES), **settings)
    assert names(val) == names(load(root, validation_split=0.3, seed=4).val)
    assert Dataset.open(root).split("val", **split_settings({})).source == "val/"  # old runs


def test_train_and_test_layout_trains_and_evaluates(imagenette_like, tmp_path, capsys):
    root = linked(tmp_path / "data", train=imagenette_like / "train",
                  test=imagenette_like / "val")
    run = tmp_path / "run"
    assert main(["train", "--data", str(root), "--limit", "1", "--epochs", "1",
                 "--image-size", "64", "--batch-size", "10", "--out", str(run)]) == 0
    assert "validation: 10 images from test/" in capsys.readouterr().out
    assert json.loads((run / "metrics.json").read_text())["examples"] == 10
    assert main(["evaluate", "--model", str(run / "best.keras"), "--limit", "2",
                 "--out", str(tmp_path / "eval")]) == 0
    assert "Evaluating on 20 images from test/" in capsys.readouterr().out
    # a partial evaluation (--limit) is written beside the run's own metrics.json
    assert json.loads((tmp_path / "eval" / "metrics-limit-2.json").read_text())["examples"] == 20
    assert not (tmp_path / "eval" / "metrics.json").exists()


def test_train_only_with_validation_split(imagenette_like, tmp_path, monkeypatch, capsys):
    """Trains on train/ less a held-out 20 %; config.json records it, and --resume,
    evaluate and the report's figures use exactly those held-out images."""
    from alexnet.data import batches
    from alexnet.harness import train
    from alexnet.harness.report import artifacts
    from alexnet.harness.resume import resume_config

    root = linked(tmp_path / "data", train=imagenette_like / "train")
    expected_train, expected_val = load(root, validation_split=0.2)
    assert len(expected_val) == 20  # 2 of each class's 8
    run = tmp_path / "run"
    assert main(["train", "--data", str(root), "--validation-split", "0.2", "--epochs", "1",
                 "--image-size", "64", "--batch-size", "20", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "validation: 20 images from 20% of train/ (seed 0)" in out
    assert f" on {len(expected_train)} images" in out and len(expected_train) == 60
    config = json.loads((run / "config.json").read_text())
    assert (config["validation_split"], config["seed"], config["val_dir"]) == (0.2, 0, None)
    assert json.loads((run / "metrics.json").read_text())["examples"] == 20

    resumed = train.start(resume_config(run), resume_run=True)
    try:
        train.load_data(resumed)
    finally:
        resumed.lock.release()
    # the quick recipe (no GPU) decodes its images into memory: Squares of the split
    assert getattr(resumed.val_data, "split", resumed.val_data).files == expected_val.files
    assert getattr(resumed.train_data, "split", resumed.train_data).files == \
        expected_train.files

    evaluated = []
    evaluation = batches.evaluation
    monkeypatch.setattr(batches, "evaluation",
                        lambda split, *a, **k: evaluated.append(split.files) or evaluation(
                            split, *a, **k))
    assert main(["evaluate", "--model", str(run / "best.keras"), "--out",
                 str(tmp_path / "eval")]) == 0
    assert "Evaluating on 20 images from 20% of train/ (seed 0)" in capsys.readouterr().out
    assert evaluated == [expected_val.files] * 3  # centre crop, the flip, then 10-crop
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["examples"] == 20

    drawn = {}
    monkeypatch.setattr(artifacts, "export_model_artifacts",
                        lambda net, run_dir, qx, queries, gx, gallery: drawn.update(
                            queries=queries, gallery=gallery))
    artifacts.artifacts_from_checkpoint(run, config, root)
    held_out = {os.path.relpath(f, root) for f in expected_val.files}
    assert drawn["queries"] and set(drawn["queries"]) <= held_out
    assert drawn["gallery"] and not set(drawn["gallery"]) & held_out


def test_prepare_takes_the_same_layouts(tmp_path, capsys):
    src = tree(tmp_path / "src", train=5, test=2)
    dest = tmp_path / "shards"
    assert main(["prepare", str(src), str(dest), "--workers", "1"]) == 0
    manifest = json.loads((dest / "manifest.json").read_text())
    assert sorted(manifest["splits"]) == ["test", "train"]
    assert manifest["splits"]["test"]["images"] == 6
    train, val = load(dest)
    assert val.source == "test/ shards" and len(val) == 6 and len(train) == 15

    only_train = tree(tmp_path / "only", train=5)
    held = tmp_path / "held"
    assert main(["prepare", str(only_train), str(held), "--workers", "1"]) == 0
    assert "only train/ is converted" in capsys.readouterr().out
    with pytest.raises(DatasetNotFoundError, match="--validation-split 0.2"):
        load(held)
    with pytest.raises(ValueError, match="prepare SRC DEST --validation-split 0.2"):
        load(held, validation_split=0.2)
    assert main(["prepare", str(only_train), str(tmp_path / "held2"), "--workers", "1",
                 "--validation-split", "0.2"]) == 0
    manifest = json.loads((tmp_path / "held2" / "manifest.json").read_text())
    expected = load(only_train, validation_split=0.2).val
    assert manifest["splits"]["val"]["per_class"] == dict.fromkeys(CLASSES, 1)
    assert manifest["splits"]["val"]["source"] == "20% of train/ (seed 0)" == expected.source
    assert manifest["splits"]["train"]["images"] == 12
    train, val = load(tmp_path / "held2")
    assert len(val) == 3 and val.source == "val/ shards (20% of train/ (seed 0))"
    assert main(["prepare", str(src), str(tmp_path / "x"), "--validation-split", "0.2",
                 "--val-dir", "test"]) == 2
    assert "give one" in capsys.readouterr().err


def test_train_fraction_thins_training_only_seeded_per_class(tmp_path):
    from alexnet.harness import train
    from alexnet.recipes import TrainConfig

    root = tree(tmp_path / "data", train=10, val=2)
    train_split, val_split = load(root)
    tenth = train_split.fraction(0.2, seed=0)
    assert np.bincount(tenth.labels).tolist() == [2, 2, 2]  # a fifth of each class
    assert set(tenth.files) < set(train_split.files)
    assert tenth.source == "20% of train/ (seed 0)"
    assert names(train_split.fraction(0.2, seed=0)) == names(tenth)
    assert names(train_split.fraction(0.2, seed=1)) != names(tenth)

    config = TrainConfig(data=str(root), train_fraction=0.2, image_size=64, batch_size=4,
                         out=str(tmp_path / "run"))
    run = train.start(config)
    try:
        train.load_data(run)
    finally:
        run.lock.release()
    assert run.train_data.files == tenth.files  # the run trains on the fraction...
    assert run.val_data.files == val_split.files  # ...and is measured on every held-out image
    for bad in (0, 1, 1.5):
        with pytest.raises(ValueError, match="--train-fraction"):
            TrainConfig(train_fraction=bad)
