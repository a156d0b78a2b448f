"""Nothing lost, nothing silently wrong (issue 25): each kind of bad input and fault the
project promises to survive, on generated files, with what the user sees. The list with
the messages is docs/reliability.md; each line there names its test here.

Where a test is about the run and not the network, AlexNet is swapped for a network of a
few hundred parameters (``small_network``): the run folder, the lock, the callbacks, the
pipeline and the messages are the real ones, and a run takes seconds instead of minutes
a step on a small CPU.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest
from PIL import Image

from alexnet import evaluate, runs
from alexnet.__main__ import main
from alexnet.data import files
from alexnet.data.datasets import Dataset
from alexnet.harness import callbacks, resume, runfolder, train
from alexnet.models.alexnet import build, preprocessing
from alexnet.recipes import TrainConfig
from conftest import (
    PROJECT,
    compiled,
    huge_header_jpeg,
    outputs_without_alexnet,
    photo,
    write_image,
)

# Generated data and runs


def tree(root: Path, classes=("a", "b"), train_images: int = 3, val_images: int = 2,
         size=(72, 72)) -> Path:
    """``train/<class>/<n>.jpg`` and ``val/<class>/<n>.jpg`` of random pixels."""
    for split, count in (("train", train_images), ("val", val_images)):
        for c, name in enumerate(classes):
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                write_image(root / split / name / f"{i}.jpg", size,
                            seed=100 * c + 10 * (split == "val") + i)
    return root


def small_network(variant="bn", num_classes=10, image_size=None, init="he", dropout=0.5,
                  **_) -> keras.Model:
    """Stands in for ``models.alexnet.build`` where a test is about the run: raw pixels
    in (AlexNet's own first layer), softmax out, a few hundred parameters."""
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = preprocessing()(inputs)
    x = keras.layers.Conv2D(4, 8, strides=8, name="conv1")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", dtype="float32",
                                 name="fc8")(x)
    return keras.Model(inputs, outputs, name="small")


@pytest.fixture
def small(monkeypatch):
    """Training builds ``small_network`` instead of AlexNet."""
    monkeypatch.setattr(train, "build", small_network)


def train_args(data: Path, out: Path, *more: str, epochs: int = 2, size: int = 64,
               estimate: bool = False) -> list[str]:
    """``python -m alexnet train`` for a small file-pipeline run (the modern recipe's)."""
    return ["train", "--recipe", "modern", "--data", str(data), "--out", str(out),
            "--image-size", str(size), "--batch-size", "4", "--epochs", str(epochs),
            *([] if estimate else ["--no-estimate"]), *more]


def error_line(capsys, argv: list[str]) -> str:
    """Runs the command line in-process: it must fail with status 2 and end with exactly
    one ``error: ...`` line and no traceback; returns that line."""
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 2, f"status {status}\n{out[-2000:]}\n{err[-3000:]}"
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and err.rstrip().endswith(errors[0]), err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    return errors[0]


def copy_run(run: Path, to: Path) -> Path:
    return Path(shutil.copytree(run, to, symlinks=True))


def saved_model(folder: Path, class_names=("a", "b")) -> Path:
    """A small model saved as ``folder/best.keras`` with a config.json naming its classes."""
    folder.mkdir(parents=True, exist_ok=True)
    small_network(num_classes=len(class_names), image_size=64).save(folder / "best.keras")
    runfolder.save_config(folder, {"class_names": list(class_names)})
    return folder / "best.keras"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> SimpleNamespace:
    """A finished two-epoch run (with the time estimate), its data and what it printed;
    read-only for the tests: copy it to change it."""
    root = tmp_path_factory.mktemp("finished")
    data = tree(root / "data")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setattr(train, "build", small_network)
        status = main(train_args(data, root / "run", estimate=True))
    keras.mixed_precision.set_global_policy("float32")
    assert status == 0, printed.getvalue()[-3000:]
    return SimpleNamespace(run=root / "run", data=data, out=printed.getvalue())


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> SimpleNamespace:
    """``prepare`` of a tree whose train/ holds a looping and a dangling symbolic link,
    in shards of 4 files (train: 2 shards, val: 1), and what it printed."""
    src = tree(tmp_path_factory.mktemp("raw") / "data")
    (src / "train" / "a" / "loop.jpg").symlink_to("loop.jpg")  # itself
    (src / "train" / "b" / "dangling.jpg").symlink_to(src / "nowhere.jpg")
    dest = tmp_path_factory.mktemp("shards") / "shards"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main(["prepare", str(src), str(dest), "--workers", "1", "--shard-size", "4"])
    return SimpleNamespace(src=src, dest=dest, status=status, out=printed.getvalue())


def corrupt_jpeg(path: Path, seed: int) -> Path:
    """A JPEG whose header and end marker are whole but a third of whose data is noise:
    listing keeps it (the header check reads both ends); only decoding finds the damage.
    (Pillow, the one decoder, finds the damage of seed 0; some other damage libjpeg
    recovers from, and Pillow then decodes what it recovered, on every path alike.)"""
    out = io.BytesIO()
    photo((160, 120), seed=seed).save(out, "JPEG", quality=90)
    raw = out.getvalue()
    start = raw.index(b"\xff\xda") + 20  # into the entropy-coded data, after the scan header
    noise = np.random.default_rng(seed).integers(0, 256, len(raw) // 3, np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw[:start] + noise + raw[start + len(noise):])
    return path


def history_rows(run: Path) -> int:
    return len((run / "history.csv").read_text().splitlines()) - 1


def temporary_files(run: Path) -> list[Path]:
    return [path for path in run.rglob("*") if runfolder.TMP in path.name]


# 1. Two trainings on one run folder

@pytest.mark.slow
def test_a_second_training_on_a_live_run_folder_is_refused(tmp_path, capsys):
    """A first ``python -m alexnet train`` (a real process, the real network) holds the
    folder; a second training into it, and a --resume of it, stop at once with one line
    naming the folder and the first's process; the first's files stay as they were."""
    data = tree(tmp_path / "data", size=(96, 96))
    run = tmp_path / "run"
    log = open(tmp_path / "first.log", "w")
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    first = subprocess.Popen([sys.executable, "-m", "alexnet",
                              *train_args(data, run, "--seed", "1", epochs=100, size=80)],
                             cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 900
        while not (run / resume.STATE_DIR).is_dir():  # fit has begun: config.json is final
            assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the first training did not reach fit"
            time.sleep(1)
        config = (run / "config.json").read_bytes()
        assert f"process {first.pid} on " in (run / runfolder.LOCK).read_text()
        held = f"error: {run}: a run is training into this folder (process {first.pid} on "
        line = error_line(capsys, train_args(data, run, "--seed", "2", size=80))
        assert line.startswith(held) and line.endswith("wait for it, or choose another --out")
        assert error_line(capsys, ["train", "--resume", str(run)]).startswith(held)
        assert (run / "config.json").read_bytes() == config
        assert json.loads(config)["seed"] == 1
        assert f"process {first.pid} on " in (run / runfolder.LOCK).read_text()
        assert first.poll() is None  # still training
    finally:
        first.kill()
        first.wait()
        log.close()


# 2, 10. Image sizes out of bounds

@pytest.mark.parametrize("size", [0, 10000])
def test_an_image_size_out_of_bounds_is_refused(size, tmp_path, capsys):
    run = tmp_path / "run"
    line = error_line(capsys, train_args(tmp_path, run) + ["--image-size", str(size)])
    assert line == f"error: --image-size {size}: variant 'bn' takes 63 to 512 pixels"
    assert not run.exists()  # refused before the run folder (config.json) is made
    for variant, smallest in (("bn", 63), ("paper", 67)):
        line = error_line(capsys, ["summary", "--variant", variant, "--image-size", str(size)])
        assert line == (f"error: --image-size {size}: variant {variant!r} takes {smallest} "
                        "to 512 pixels")


# 3. --limit below one

@pytest.mark.parametrize("limit", [-1, 0])
def test_a_limit_below_one_is_refused(limit, tmp_path, capsys):
    expected = f"error: --limit {limit}: must be at least 1 (images per class)"
    run = tmp_path / "run"
    assert error_line(capsys, train_args(tmp_path, run, "--limit", str(limit))) == expected
    assert not run.exists()
    assert error_line(capsys, ["evaluate", "--model", str(tmp_path / "best.keras"),
                               "--limit", str(limit)]) == expected


# 4. Files that fail to decode in training

def test_a_corrupt_jpeg_is_skipped_and_named(small, tmp_path, capsys):
    """Corrupt JPEGs with whole headers, one in train/ and one in val/: the run completes,
    each named with its reason as the pipeline meets it and again at the end."""
    data = tree(tmp_path / "data")
    broken = [corrupt_jpeg(data / "train" / "a" / "corrupt.jpg", seed=0),
              corrupt_jpeg(data / "val" / "b" / "corrupt.jpg", seed=0)]
    assert [files.problem(path) for path in broken] == [None, None]  # listing keeps them
    run = tmp_path / "run"
    assert main(train_args(data, run, "--cache", epochs=1)) == 0  # whole images decoded
    out, err = capsys.readouterr()
    for path, split in zip(broken, ("training", "validation"), strict=True):
        assert re.search(rf"warning: {re.escape(str(path))}: not decodable \(.+\); skipped", err)
        assert re.search(rf"{split}: skipped 1 unusable file\(s\):\n  {re.escape(str(path))}: "
                         r"not decodable \(.+\)", out)
    assert runs.load_metrics(run)["examples"] == 4  # of the 5 validation files


# 5, 6. Class folders without images, a single class

def test_an_empty_training_class_stops_before_the_first_step(small, tmp_path, capsys):
    data = tree(tmp_path / "data", classes=("a", "b", "c"))
    for image in (data / "train" / "c").iterdir():
        image.unlink()
    run = tmp_path / "run"
    line = error_line(capsys, train_args(data, run))
    assert line == (f"error: {data / 'train'}: no usable images for class(es) c: remove the "
                    "folder(s) or add images")
    assert not (run / resume.STATE_DIR).exists() and not (run / "history.csv").exists()


def test_a_single_class_is_an_error(small, tmp_path, capsys):
    data = tree(tmp_path / "data", classes=("a",))
    line = error_line(capsys, train_args(data, tmp_path / "run"))
    assert line == f"error: {data / 'train'}: 1 class folder(s); a classifier needs at least 2"


def test_an_empty_validation_class_is_named_and_has_no_accuracy(tmp_path, capsys):
    data = tree(tmp_path / "data", classes=("a", "b", "c"))
    for image in (data / "val" / "c").iterdir():
        image.unlink()
    _, val = Dataset.open(data).splits()
    assert (f"warning: {data / 'val'}: no images of class(es) c; their accuracy cannot be "
            "measured") in capsys.readouterr().err
    metrics = evaluate.metrics_from_predictions(np.eye(3)[val.labels], val.labels,
                                                val.class_names)
    assert metrics["per_class_accuracy"] == {"a": 1.0, "b": 1.0, "c": None}
    assert json.loads(json.dumps(metrics))["per_class_accuracy"]["c"] is None  # null


# 7. A learning rate out of bounds, a diverging run

def test_a_negative_learning_rate_is_refused(tmp_path, capsys):
    line = error_line(capsys, train_args(tmp_path, tmp_path / "run", "--lr", "-1"))
    assert line == "error: --lr -1.0: must be above 0 (and at most 10)"


def test_a_diverging_run_stops_with_one_line_and_keeps_the_last_good_epoch(
        small, tmp_path, capsys, monkeypatch):
    class Diverge(keras.callbacks.Callback):
        """The weights turn NaN in the second epoch, as a diverging network's do."""

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                for weight in self.model.trainable_weights:
                    weight.assign(np.full(weight.shape, np.nan, "float32"))

    chosen = callbacks.recipe_callbacks
    monkeypatch.setattr(callbacks, "recipe_callbacks",
                        lambda config, best: [*chosen(config, best), Diverge()])
    data, run = tree(tmp_path / "data"), tmp_path / "run"
    line = error_line(capsys, train_args(data, run, epochs=3))
    assert line.startswith("error: NaN or Inf loss encountered at batch 0")
    assert line.endswith(f"training stopped; {run} keeps the last good epoch (try a lower --lr)")
    assert resume.read_state(run)["epoch"] == 1 and history_rows(run) == 1
    best = runfolder.load_model(run / "best.keras")
    assert all(np.isfinite(weights).all() for weights in best.get_weights())
    assert not temporary_files(run)


# 8. --resume without the state

def test_resume_without_its_state_is_refused_and_keeps_the_history(finished_run, tmp_path,
                                                                   capsys):
    run = copy_run(finished_run.run, tmp_path / "run")
    history = (run / "history.csv").read_bytes()
    shutil.rmtree(run / resume.STATE_DIR)
    line = error_line(capsys, ["train", "--resume", str(run)])
    assert line == (f"error: {run / resume.STATE_DIR}: missing, so the run cannot continue "
                    "where it stopped (its history.csv and best.keras are kept); start a new "
                    "--out")
    assert (run / "history.csv").read_bytes() == history and (run / "best.keras").is_file()


# 9. A full disk at an epoch's save

@pytest.mark.parametrize("full", ["run folder", "state folder"])
def test_a_full_disk_at_an_epochs_save_keeps_the_epoch_before_then_resumes(
        full, small, tmp_path, capsys, monkeypatch):
    """The disk fills as epoch 2 ends: the whole run folder's (the epoch's check before
    any save meets it) or only that of state/ (another disk; the state's own check
    before writing meets it). One line; no temporary file; epoch 1 whole; --resume goes
    on to the end once there is room."""
    data, run = tree(tmp_path / "data"), tmp_path / "run"
    checked = []  # the epochs whose end DiskSpace has checked
    check, statvfs = callbacks.DiskSpace.on_epoch_end, os.statvfs

    def counted(self, epoch, logs=None):
        checked.append(epoch)
        return check(self, epoch, logs)

    def filled(path):
        if len(checked) >= 2 and (full == "run folder" or Path(path).name == resume.STATE_DIR):
            return SimpleNamespace(f_bavail=0, f_frsize=4096)
        return statvfs(path)

    with monkeypatch.context() as patch:
        patch.setattr(callbacks.DiskSpace, "on_epoch_end", counted)
        patch.setattr(os, "statvfs", filled)
        line = error_line(capsys, train_args(data, run, epochs=2))
    if full == "run folder":
        assert line.startswith(f"error: {run}: 0 MB free, epoch 2 needs ")
        assert line.endswith("MB; epoch 1 is kept: free space, then --resume")
    else:
        assert line.startswith(f"error: cannot save epoch 2 ({run / resume.STATE_DIR}/"
                               "epoch-0002.weights.h5: cannot write it (0 MB free, ")
        assert line.endswith("epoch 1 is kept there: free space, then --resume")
    assert not temporary_files(run)
    state = resume.read_state(run)
    assert state["epoch"] == 1 and history_rows(run) == 1
    assert (run / resume.STATE_DIR / state["weights"]).is_file()  # loaded by the resume
    runfolder.load_model(run / "best.keras")

    assert main(["train", "--resume", str(run)]) == 0
    assert f"Resuming {run} after epoch 1" in capsys.readouterr().out
    assert resume.read_state(run)["epoch"] == 2 and history_rows(run) == 2
    assert runs.load_metrics(run)["examples"] == 4 and not temporary_files(run)


# 11. Unreadable files: an image to predict, a shard, a model

def test_predict_on_an_unreadable_file_is_one_line(tmp_path, capsys, monkeypatch):
    model = saved_model(tmp_path / "model")
    image = write_image(tmp_path / "locked.jpg", (72, 72))
    opened = Image.open

    def refused(path, *args, **kwargs):  # the permissions root ignores
        if Path(str(path)) == image:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return opened(path, *args, **kwargs)

    monkeypatch.setattr(Image, "open", refused)  # Pillow: the one decoder
    line = error_line(capsys, ["predict", "--model", str(model), str(image)])
    assert line == f"error: {image}: unreadable (Permission denied)"
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    line = error_line(capsys, ["predict", "--model", str(model), str(folder)])
    assert line == f"error: {folder}: not a regular file"


def test_a_truncated_shard_ends_training_and_evaluation_naming_it(shards, small, tmp_path,
                                                                   capsys):
    assert shards.status == 0, shards.out[-3000:]
    dest = Path(shutil.copytree(shards.dest, tmp_path / "shards"))
    shard = dest / "train-00000-of-00002.tfrecord"
    shard.write_bytes(shard.read_bytes()[:shard.stat().st_size // 2])
    line = error_line(capsys, train_args(dest, tmp_path / "run", epochs=1))
    assert line.startswith(f"error: {shard}: damaged TFRecord shard (truncated record at ")
    assert line.endswith("delete it and run prepare SRC DEST again, which rewrites missing "
                         "shards")

    shard = dest / "val-00000-of-00001.tfrecord"
    shard.write_bytes(shard.read_bytes()[:shard.stat().st_size // 2])
    line = error_line(capsys, ["evaluate", "--model", str(saved_model(tmp_path / "model")),
                               "--data", str(dest), "--out", str(tmp_path / "eval")])
    assert line.startswith(f"error: {shard}: damaged TFRecord shard (truncated record at ")
    assert not (tmp_path / "eval" / "metrics.json").exists()


# 12. Symbolic links that go nowhere, in prepare

def test_prepare_skips_and_names_looping_and_dangling_links(shards):
    assert shards.status == 0, shards.out[-3000:]
    src = shards.src
    loop, dangling = src / "train" / "a" / "loop.jpg", src / "train" / "b" / "dangling.jpg"
    manifest = json.loads((shards.dest / "manifest.json").read_text())
    train_split = manifest["splits"]["train"]
    assert dict(train_split["skipped"]) == {
        str(loop): "looping symbolic link",
        str(dangling): f"broken symbolic link (to {src / 'nowhere.jpg'})"}
    assert train_split["images"] == 6 and manifest["splits"]["val"]["images"] == 4
    assert f"{loop}: looping symbolic link" in shards.out
    assert f"{dangling}: broken symbolic link" in shards.out
    assert not [path for path in shards.dest.rglob("*") if path.name.endswith(".partial")]


# 13. Damaged model files, state and config.json

@pytest.mark.parametrize("damage", ["empty", "truncated", "not a zip", "no config.json"])
def test_a_damaged_model_file_is_one_line_naming_it(damage, finished_run, tmp_path, capsys):
    model = tmp_path / "run" / "best.keras"
    model.parent.mkdir()
    whole = (finished_run.run / "best.keras").read_bytes()
    if damage == "no config.json":
        with zipfile.ZipFile(model, "w") as archive, \
                zipfile.ZipFile(finished_run.run / "best.keras") as source:
            for name in source.namelist():
                if name != "config.json":
                    archive.writestr(name, source.read(name))
        expected = f"error: {model}: damaged model file (no config.json inside)"
    else:
        model.write_bytes({"empty": b"", "truncated": whole[:len(whole) // 2],
                           "not a zip": b"<html>404 Not Found</html>\n"}[damage])
        expected = (f"error: {model}: not a Keras model file (empty, truncated, or not the "
                    "zip archive a .keras file is)")
    assert error_line(capsys, ["evaluate", "--model", str(model)]) == expected
    image = write_image(tmp_path / "image.jpg", (72, 72))
    assert error_line(capsys, ["predict", "--model", str(model), str(image)]) == expected


def test_a_truncated_state_weights_file_is_named(finished_run, small, tmp_path, capsys):
    run = copy_run(finished_run.run, tmp_path / "run")
    weights = run / resume.STATE_DIR / resume.read_state(run)["weights"]
    weights.write_bytes(weights.read_bytes()[:weights.stat().st_size // 2])
    line = error_line(capsys, ["train", "--resume", str(run), "--epochs", "3"])
    assert line.startswith(f"error: {weights}: damaged, or not this model's weights (")


def test_a_damaged_config_json_is_named(finished_run, small, tmp_path, capsys):
    run = copy_run(finished_run.run, tmp_path / "run")
    (run / "config.json").write_text('{"seed": 0, "class_names": ["a", ')
    named = f"error: {run / 'config.json'}: damaged config.json (is this a run folder?) ("
    assert error_line(capsys, ["train", "--resume", str(run)]).startswith(named)
    assert error_line(capsys, ["evaluate", "--model", str(run / "best.keras")]).startswith(named)
    image = write_image(tmp_path / "image.jpg", (72, 72))
    assert error_line(capsys, ["predict", "--model", str(run / "best.keras"),
                               str(image)]).startswith(named)


# 14. The reasons a file is not used

def test_each_unusable_file_gets_its_reason(tmp_path, monkeypatch):
    (tmp_path / "bomb.jpg").write_bytes(huge_header_jpeg())
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "page.jpg").write_text("<html>404 Not Found</html>\n")
    (tmp_path / "folder.jpg").mkdir()
    (tmp_path / "loop.jpg").symlink_to("loop.jpg")
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "nowhere.jpg")
    locked = write_image(tmp_path / "locked.jpg", (72, 72))
    if os.geteuid() == 0:  # root reads any file: the refusal is simulated
        real_open = builtins.open

        def refusing(file, *args, **kwargs):
            if isinstance(file, (str, os.PathLike)) and os.fspath(file) == str(locked):
                raise PermissionError(errno.EACCES, "Permission denied", os.fspath(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", refusing)
    else:
        locked.chmod(0)
    reasons = {path.name: files.problem(path) for path in sorted(tmp_path.iterdir())}
    assert reasons == {
        "bomb.jpg": "too large (over 50,000,000 pixels)",
        "dangling.jpg": f"broken symbolic link (to {tmp_path / 'nowhere.jpg'})",
        "empty.jpg": "empty file",
        "folder.jpg": "unreadable (Is a directory)",
        "locked.jpg": "unreadable (Permission denied)",
        "loop.jpg": "looping symbolic link",
        "page.jpg": "not an image"}


# 15. Files of other kinds, prepare's settings, --resume and the estimate, port

def test_files_of_other_kinds_are_counted_and_named(tmp_path, capsys):
    data = tree(tmp_path / "data")
    folder = data / "train" / "a"
    Image.new("RGB", (72, 72), (200, 10, 10)).save(folder / "anim.gif")
    Image.new("RGB", (72, 72), (10, 200, 10)).save(folder / "photo.webp")
    (folder / "notes.txt").write_text("not an image\n")
    train_split, _ = Dataset.open(data).splits()
    err = capsys.readouterr().err
    reason = "not a .jpg/.jpeg/.png file"
    assert f"{data / 'train'}: skipped 3 unusable file(s):" in err
    for name in ("anim.gif", "photo.webp", "notes.txt"):
        assert f"  {folder / name}: {reason}" in err
    assert sorted(train_split.skipped) == sorted((str(folder / name), reason)
                                                 for name in ("anim.gif", "photo.webp",
                                                              "notes.txt"))
    assert len(train_split) == 6


def test_prepare_refuses_bad_settings_and_a_file_as_destination(tmp_path, capsys):
    data = tree(tmp_path / "data")
    dest = tmp_path / "shards"
    line = error_line(capsys, ["prepare", str(data), str(dest), "--quality", "500"])
    assert line == "error: --quality 500: must be at least 1 and at most 100"
    assert not dest.exists()
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine\n")
    line = error_line(capsys, ["prepare", str(data), str(blocker)])
    assert line == f"error: {blocker}: a file is there; give a folder for the shards"
    assert blocker.read_text() == "mine\n"


def test_resume_does_not_time_the_steps_again(finished_run, small, tmp_path, capsys):
    assert "Timed steps: " in finished_run.out  # the first sitting did
    run = copy_run(finished_run.run, tmp_path / "run")
    assert main(["train", "--resume", str(run), "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert f"Resuming {run} after epoch 2" in out and "Timed steps" not in out
    assert resume.read_state(run)["epoch"] == 3


def test_port_refuses_a_garbage_file(tmp_path, capsys):
    pytest.importorskip("torch")
    pth = tmp_path / "alexnet.pth"
    pth.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    out = tmp_path / "alexnet.keras"
    line = error_line(capsys, ["port", str(pth), str(out)])
    assert line.startswith(f"error: {pth}: not a PyTorch weights file that loads with "
                           "weights_only=True (")
    assert not out.exists()


# 16. A saved model loads with Keras alone

@pytest.mark.slow
def test_a_bn_checkpoint_loads_with_keras_alone(tmp_path):
    """best.keras as training writes it (ModelCheckpoint, after a step of SGD) of the bn
    network at a small size loads in a process that never imports this package, and
    gives the same outputs, compiled as it was saved (README: ``keras.saving.load_model(
    path)``: Keras' SGD, weight decay as Keras' L2 regularizer)."""
    keras.utils.set_random_seed(0)
    net = compiled(build("bn", 2, 64), TrainConfig(batch_size=2))
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    best = tmp_path / "best.keras"
    net.fit(pixels, np.eye(2, dtype="float32"), batch_size=2, epochs=1, verbose=0,
            callbacks=[keras.callbacks.ModelCheckpoint(best)])
    np.testing.assert_allclose(outputs_without_alexnet(best, pixels, tmp_path),
                               net.predict_on_batch(pixels), atol=1e-5)
