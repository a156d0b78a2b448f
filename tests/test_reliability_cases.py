"""Nothing lost, nothing silently wrong, part two (issue 33): each case a hostile user
found, on generated files, with what the user sees. docs/reliability.md lists them with
their messages; each line there names its test here.

The command line runs in this process (``main`` with an argument list), except where two
processes are the point. No test needs real data; the few that train or build the PDF
are marked slow.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from alexnet import evaluate, runs
from alexnet.__main__ import main
from alexnet.data import batches, files
from alexnet.data.augment import resize_size
from alexnet.data.datasets import Dataset
from alexnet.data.splits import Split
from alexnet.harness import commands, packs, resume, runfolder, shards, train
from alexnet.recipes import TrainConfig
from conftest import PROJECT, huge_header_jpeg, photo, write_image

SIZE = 64  # the image size of every model and run here
SMALL_RUN = ["--recipe", "quick", "--epochs", "1", "--image-size", str(SIZE),
             "--batch-size", "8", "--no-estimate"]


# Generated files


def tree(root: Path, classes=("a", "b"), train_images: int = 3, val_images: int = 2) -> Path:
    """``train/<class>/<n>.jpg`` and ``val/<class>/<n>.jpg`` of random pixels."""
    for split, count in (("train", train_images), ("val", val_images)):
        for c, name in enumerate(classes):
            for i in range(count):
                write_image(root / split / name / f"{i}.jpg", (72, 72),
                            seed=100 * c + 10 * (split == "val") + i)
    return root


def corrupt_jpeg(path: Path) -> Path:
    """A JPEG whose header and end marker are whole but a third of whose data is noise:
    listing keeps it (the header check reads both ends); only decoding finds the damage."""
    out = io.BytesIO()
    photo((160, 120), seed=0).save(out, "JPEG", quality=90)
    raw = out.getvalue()
    start = raw.index(b"\xff\xda") + 20  # into the entropy-coded data
    noise = np.random.default_rng(0).integers(0, 256, len(raw) // 3, np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw[:start] + noise + raw[start + len(noise):])
    return path


def png16(path: Path, value: int = 40000) -> Path:
    """A 16-bit greyscale PNG of one value (its top 8 bits: ``value >> 8``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((80, 80), value, np.uint16)).save(path)
    return path


def fifo(path: Path) -> Path:
    """A named pipe: opening it to read waits for a writer that never comes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


class Hung(Exception):
    """A read that did not return (not an OSError: the command line must not catch it)."""


@contextlib.contextmanager
def within(seconds: int):
    """Fails the test, rather than hanging it, when the body takes over ``seconds``."""
    def stop(*_):
        raise Hung(f"still running after {seconds} s: a read that waits forever?")

    before = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)


def tiny_model(path: Path, classes: int) -> Path:
    """A saved model of raw pixels in, ``classes`` probabilities out, a few parameters."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(classes, activation="softmax")(x)
    path.parent.mkdir(parents=True, exist_ok=True)
    keras.Model(inputs, outputs).save(path)
    return path


def saved_run(run: Path, data: Path, classes=("a", "b"), **settings) -> Path:
    """A run folder as training leaves it, without training: config.json (its settings,
    classes and dataset) and best.keras (``tiny_model``)."""
    config = TrainConfig(data=str(data), out=str(run), image_size=SIZE, epochs=2,
                         batch_size=8, **settings)
    run.mkdir(parents=True, exist_ok=True)
    record = {**dataclasses.asdict(config), "class_names": list(classes),
              "dataset_root": str(data)}
    (run / "config.json").write_text(json.dumps(record, indent=2))
    tiny_model(run / "best.keras", len(classes))
    return run


def state_json(run: Path, epoch: int = 1, **changes) -> Path:
    """A committed resume state after ``epoch`` epochs (its weights file is not needed
    before fit starts)."""
    state = {"epoch": epoch, "weights": f"epoch-{epoch:04d}.weights.h5",
             "learning_rate": 0.01, "stopped": False, "callbacks": {},
             "history": [{"epoch": e, "loss": 1.0} for e in range(epoch)], **changes}
    (run / "state").mkdir(parents=True, exist_ok=True)
    (run / "state" / "state.json").write_text(json.dumps(state))
    return run / "state" / "state.json"


def error_line(capsys) -> str:
    """The one line the command line printed on standard error."""
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("error: "), err
    return err[-1]


def contents(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


# 1. A run deletes only what it made and owns


def test_a_failed_start_keeps_a_parent_another_run_came_to_live_in(tmp_path, monkeypatch,
                                                                  capsys):
    """Run A makes runs/ and runs/A; while its listing goes on, run B comes to live in
    runs/B (its lock held, its config.json written); then A's listing fails. A removes
    runs/A and nothing else."""
    data = tree(tmp_path / "data")
    (data / "train" / "c").mkdir()  # an empty class: the listing fails, late
    (data / "val" / "c").mkdir()
    runs_dir = tmp_path / "runs"
    listing = Dataset.splits
    other = runfolder.Lock(runs_dir / "B")

    def slow_listing(self, *args, **kwargs):
        other.acquire()  # B starts once A holds its lock
        (runs_dir / "B" / "config.json").write_text("{}")
        return listing(self, *args, **kwargs)

    monkeypatch.setattr(Dataset, "splits", slow_listing)
    try:
        rc = main(["train", "--data", str(data), "--out", str(runs_dir / "A"), *SMALL_RUN])
        assert rc == 2
        assert "no usable images for class(es) c" in error_line(capsys)
        assert not (runs_dir / "A").exists()  # its own folder, made by it and empty
        assert (runs_dir / "B" / "config.json").read_text() == "{}"
        assert (runs_dir / "B" / runfolder.LOCK).is_file()
        with pytest.raises(OSError, match="a run is training into this folder"):
            runfolder.Lock(runs_dir / "B").acquire()  # still B's
    finally:
        other.release()


@pytest.mark.slow
def test_two_processes_a_failing_start_leaves_the_live_run_alone(tmp_path):
    """B trains in runs/B; A, started with --out runs/A once B holds its lock, fails on
    its data (an empty class); B's folder and lock are intact and B finishes."""
    data = tree(tmp_path / "data", train_images=4)
    bad = tree(tmp_path / "bad")
    (bad / "train" / "c").mkdir()
    (bad / "val" / "c").mkdir()
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "TF_CPP_MIN_LOG_LEVEL": "3"}

    def command(data_dir, out):
        return [sys.executable, "-m", "alexnet", "train", "--data", str(data_dir),
                "--out", str(out), *SMALL_RUN]

    b = subprocess.Popen(command(data, "runs/B"), cwd=tmp_path, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not (tmp_path / "runs" / "B" / runfolder.LOCK).is_file():
            assert b.poll() is None, b.communicate()
            assert time.monotonic() < deadline, "B never took its lock"
            time.sleep(0.2)
        a = subprocess.run(command(bad, "runs/A"), cwd=tmp_path, env=env, text=True,
                           capture_output=True, timeout=300)
        assert a.returncode == 2, a.stderr[-2000:]
        assert a.stderr.strip().splitlines()[-1].startswith("error: ")
        assert "no usable images for class(es) c" in a.stderr
        assert not (tmp_path / "runs" / "A").exists()
        assert (tmp_path / "runs" / "B" / runfolder.LOCK).is_file()
        out, err = b.communicate(timeout=600)
    finally:
        if b.poll() is None:
            b.kill()
    assert b.returncode == 0, err[-3000:]
    for name in ("config.json", "history.csv", "metrics.json", "best.keras"):
        assert (tmp_path / "runs" / "B" / name).is_file(), name


# 2. Results are never overwritten


def test_a_folder_holding_results_is_refused_and_kept(tmp_path, capsys):
    data = tree(tmp_path / "data")
    results = tmp_path / "results-copy"
    results.mkdir()
    for name in ("config.json", "history.csv", "metrics.json"):
        (results / name).write_text(f"the user's {name}\n")
    before = contents(results)
    assert main(["train", "--data", str(data), "--out", str(results), *SMALL_RUN]) == 2
    line = error_line(capsys)
    assert f"{results} already holds a run's files" in line and "--resume" in line
    assert {k: v for k, v in contents(results).items() if k != runfolder.LOCK} == before


def test_bad_data_writes_nothing(tmp_path, capsys):
    data = tree(tmp_path / "data")
    (data / "train" / "c").mkdir()
    out = tmp_path / "new" / "run"
    assert main(["train", "--data", str(data), "--out", str(out), *SMALL_RUN]) == 2
    assert "no usable images for class(es) c" in error_line(capsys)
    assert not (tmp_path / "new").exists()  # no config.json, no folder


def test_a_partial_evaluation_goes_beside_the_metrics(tmp_path, capsys):
    data = tree(tmp_path / "data")
    run = saved_run(tmp_path / "run", data)
    (run / "metrics.json").write_text('{"the run": "full figures"}\n')
    rc = main(["evaluate", "--model", str(run / "best.keras"), "--limit", "1",
               "--no-ten-crop"])
    assert rc == 0, capsys.readouterr().err
    assert (run / "metrics.json").read_text() == '{"the run": "full figures"}\n'
    partial = json.loads((run / "metrics-limit-1.json").read_text())
    assert partial["examples"] == 2  # one image of each class
    assert "metrics-limit-1.json" in capsys.readouterr().out


def test_evaluate_out_a_file_is_refused_before_evaluating(tmp_path, capsys):
    data = tree(tmp_path / "data")
    run = saved_run(tmp_path / "run", data)
    (tmp_path / "file").write_text("mine\n")
    rc = main(["evaluate", "--model", str(run / "best.keras"), "--out",
               str(tmp_path / "file")])
    assert rc == 2
    assert error_line(capsys) == (f"error: --out {tmp_path / 'file'}: a file; --out names the "
                                  "folder that metrics.json goes into")
    assert (tmp_path / "file").read_text() == "mine\n"
    assert not (run / "metrics.json").exists()


def test_evaluate_without_a_config_needs_data_and_downloads_nothing(tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ALEXNET_DATA", raising=False)
    model = tiny_model(tmp_path / "loose" / "model.keras", 2)
    assert main(["evaluate", "--model", str(model)]) == 2
    line = error_line(capsys)
    assert "config.json: none beside the model" in line and "--data" in line
    assert not (tmp_path / "data").exists()  # nothing downloaded


# 3. prepare is exact


def shard_labels(dest: Path) -> dict[str, int]:
    """Each image's label in a shard folder, by its file name (relative to SRC)."""
    labels = {}
    for shard in sorted(dest.glob("train-*.tfrecord")):
        for record in tf.data.TFRecordDataset(str(shard)):
            _, label, name = shards.parse_record(record)
            labels[name.numpy().decode()] = int(label)
    return labels


def test_prepare_rewrites_a_shard_whose_files_changed(tmp_path, capsys):
    src = tree(tmp_path / "src")
    dest = tmp_path / "shards"
    prepare = ["prepare", str(src), str(dest), "--workers", "1"]
    assert main(prepare) == 0
    shard = dest / "train-00000-of-00001.tfrecord"
    first = shard.stat().st_mtime_ns
    assert main(prepare) == 0  # nothing changed: reused
    assert shard.stat().st_mtime_ns == first
    # an image moves from a/ to b/: the same count of files, another label
    os.replace(src / "train" / "a" / "0.jpg", src / "train" / "b" / "moved.jpg")
    assert main(prepare) == 0, capsys.readouterr().err
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["splits"]["train"]["per_class"] == {"a": 2, "b": 4}
    labels = shard_labels(dest)
    assert labels[os.path.join("train", "b", "moved.jpg")] == 1
    assert os.path.join("train", "a", "0.jpg") not in labels
    # a file rewritten in place (its size or time changes): its shard is rewritten
    before = shard.stat().st_mtime_ns
    write_image(src / "train" / "b" / "1.jpg", (90, 90), seed=7)
    assert main(prepare) == 0
    assert shard.stat().st_mtime_ns != before


def test_prepare_refuses_a_destination_inside_the_source(tmp_path, capsys):
    src = tree(tmp_path / "src")
    before = contents(src)
    for dest in (src / "train" / "zz", src / "train" / "a" / "shards", src):
        assert main(["prepare", str(src), str(dest), "--workers", "1"]) == 2
        line = error_line(capsys)
        assert line.startswith(f"error: {dest}: ") and "give a DEST outside SRC" in line
    assert contents(src) == before and not (src / "train" / "zz").exists()


def test_prepare_refuses_to_overwrite_a_manifest_it_did_not_write(tmp_path, capsys):
    src = tree(tmp_path / "src")
    dest = tmp_path / "kept"
    dest.mkdir()
    (dest / "manifest.json").write_text('{"mine": true}\n')
    assert main(["prepare", str(src), str(dest), "--workers", "1"]) == 2
    line = error_line(capsys)
    assert line.startswith(f"error: {dest / 'manifest.json'}: not written by prepare")
    assert (dest / "manifest.json").read_text() == '{"mine": true}\n'
    assert not list(dest.glob("*.tfrecord*"))
    # nor a shard it did not write (no record of it in .parts/)
    (dest / "manifest.json").unlink()
    (dest / "train-00000-of-00001.tfrecord").write_text("mine\n")
    assert main(["prepare", str(src), str(dest), "--workers", "1"]) == 2
    assert "train-00000-of-00001.tfrecord: not written by prepare" in error_line(capsys)
    assert (dest / "train-00000-of-00001.tfrecord").read_text() == "mine\n"


def test_a_second_prepare_into_one_folder_is_refused(tmp_path, capsys):
    src = tree(tmp_path / "src")
    dest = tmp_path / "shards"
    dest.mkdir()
    with runfolder.Lock(dest):  # as the first prepare holds it (a lock per open file)
        assert main(["prepare", str(src), str(dest), "--workers", "1"]) == 2
        line = error_line(capsys)
    assert line.startswith(f"error: {dest}: a prepare is writing shards into this folder")
    assert "wait for it, or choose another DEST" in line
    assert not (dest / "manifest.json").exists() and not list(dest.glob("*.partial"))


# 4 and 6. Damaged images, and files that are not regular files: one handling on every path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """A dataset whose train/a/ holds a corrupt JPEG, a 16-bit PNG, a named pipe, a link
    to a device and an image in a nested folder, beside ordinary images; then converted
    by ``prepare`` (one worker), within a minute or failed."""
    root = tree(tmp_path_factory.mktemp("hostile") / "src")
    a = root / "train" / "a"
    corrupt_jpeg(a / "corrupt.jpg")
    png16(a / "deep.png")
    fifo(a / "pipe.jpg")
    (a / "device.jpg").symlink_to("/dev/zero")
    write_image(a / "nested" / "inner.jpg", (72, 72))
    with within(120):
        shards.prepare(root, root.parent / "shards", workers=1)
    return root


def test_listing_names_what_it_cannot_use(hostile, capsys):
    split = Dataset.open(hostile).split("train")
    reasons = dict(split.skipped)
    a = hostile / "train" / "a"
    assert reasons[str(a / "pipe.jpg")] == "not a regular file"
    assert reasons[str(a / "device.jpg")] == "not a regular file"
    assert reasons[str(a / "nested" / "inner.jpg")].startswith("in a subfolder of its class")
    err = capsys.readouterr().err
    assert f"{hostile / 'train'}: skipped 3 unusable file(s):" in err
    assert str(a / "corrupt.jpg") in split.files  # its header and end are whole


def test_prepare_skips_and_names_pipes_devices_and_damaged_images(hostile):
    manifest = json.loads((hostile.parent / "shards" / "manifest.json").read_text())
    reasons = dict(manifest["splits"]["train"]["skipped"])
    a = hostile / "train" / "a"
    assert reasons[str(a / "pipe.jpg")] == "not a regular file"
    assert reasons[str(a / "device.jpg")] == "not a regular file"
    assert reasons[str(a / "corrupt.jpg")].startswith("not decodable")
    assert reasons[str(a / "nested" / "inner.jpg")].startswith("in a subfolder")
    # the three ordinary images of a/ and the 16-bit PNG; b/'s three
    assert manifest["splits"]["train"]["per_class"] == {"a": 4, "b": 3}


def test_a_corrupt_jpeg_is_named_and_skipped_on_every_path(hostile, tmp_path, capsys):
    a = hostile / "train" / "a"
    corrupt, good = str(a / "corrupt.jpg"), str(a / "0.jpg")
    assert files.problem(corrupt) is None  # listing keeps it: decoding finds it
    with pytest.raises(ValueError, match="not decodable"):
        batches.decode_square(corrupt, 73)
    labels = np.array([0, 0], "int32")
    memory = Split([good, corrupt], labels, ["a", "b"], source="val/")
    assert len(batches.decode(memory, SIZE)) == 1
    assert [f for f, _ in memory.skipped] == [corrupt]
    assert f"warning: {corrupt}: not decodable" in capsys.readouterr().err
    net = keras.saving.load_model(tiny_model(tmp_path / "m.keras", 2))
    streamed = Split([good, corrupt], labels, ["a", "b"], source="val/")
    metrics = evaluate.evaluate_split(net, streamed, SIZE, batch_size=2, ten_crop=True)
    assert metrics["examples"] == 1 and metrics["ten_crop"]["examples"] == 1  # they agree
    assert [f for f, _ in streamed.skipped] == [corrupt]  # named once
    # predict: one line naming it
    saved_run(tmp_path / "run", hostile)
    assert main(["predict", "--model", str(tmp_path / "run" / "best.keras"), corrupt]) == 2
    assert error_line(capsys).startswith(f"error: {corrupt}: not decodable")


def test_a_16_bit_png_converts_the_same_on_every_path(hostile):
    deep = hostile / "train" / "a" / "deep.png"
    grey = 40000 >> 8
    side = resize_size(SIZE)
    assert (batches.decode_square(deep, side) == grey).all()  # training, evaluation
    assert (commands.load_image(deep, SIZE) == grey).all()  # predict
    assert (np.asarray(shards.load_rgb(deep)) == grey).all()  # prepare
    for shard in (hostile.parent / "shards").glob("train-*.tfrecord"):
        for record in tf.data.TFRecordDataset(str(shard)):
            jpeg, _, name = shards.parse_record(record)
            if name.numpy().decode().endswith("deep.png"):  # the shards, read back
                square = batches.decode_square(jpeg.numpy(), side).astype(int)
                assert np.abs(square - grey).max() <= 2  # JPEG's rounding
                return
    raise AssertionError("deep.png is not in the shards")


def test_predict_refuses_a_pipe_and_a_device_without_reading(hostile, tmp_path, capsys):
    saved_run(tmp_path / "run", hostile)
    model = str(tmp_path / "run" / "best.keras")
    for name in ("pipe.jpg", "device.jpg"):
        path = hostile / "train" / "a" / name
        with within(60):
            assert main(["predict", "--model", model, str(path)]) == 2
        assert error_line(capsys) == f"error: {path}: not a regular file"


def test_an_image_over_the_size_limit_is_refused_from_its_header(tmp_path, capsys):
    bomb = tmp_path / "bomb.jpg"
    bomb.write_bytes(huge_header_jpeg())
    assert files.problem(bomb).startswith("too large")
    for read in (lambda: batches.decode_square(bomb, 73), lambda: shards.load_rgb(bomb)):
        with pytest.raises(ValueError, match="too large"):
            read()
    saved_run(tmp_path / "run", tmp_path)
    assert main(["predict", "--model", str(tmp_path / "run" / "best.keras"), str(bomb)]) == 2
    assert error_line(capsys).startswith(f"error: {bomb}: too large")


# 5. Every setting a finite number in its range; --classes of any shape; any seed resumes


@pytest.mark.parametrize("flag", ["--time-limit", "--mixup", "--cutmix", "--lr"])
def test_non_finite_settings_are_refused(tmp_path, capsys, flag):
    data = tree(tmp_path / "data")
    for value in ("nan", "inf"):
        out = tmp_path / f"run-{value}"
        assert main(["train", "--data", str(data), "--out", str(out), *SMALL_RUN,
                     flag, value]) == 2
        assert error_line(capsys) == f"error: {flag} {float(value)}: must be a finite number"
        assert not out.exists()


@pytest.mark.parametrize("index, names", [
    ({"0": "cat", "1": "dog", "2": "fish"}, ["cat", "dog", "fish"]),
    (["cat", "dog", "fish"], ["cat", "dog", "fish"]),
    ({"0": ["n1", "cat"], "1": ["n2", "dog"], "2": ["n3", "fish"]}, ["cat", "dog", "fish"]),
])
def test_classes_json_of_each_shape(tmp_path, index, names):
    (tmp_path / "c.json").write_text(json.dumps(index))
    assert commands.class_names(tmp_path / "m.keras", tmp_path / "c.json") == names


@pytest.mark.parametrize("index", [{"1": "cat", "2": "dog"}, "cat", [["cat"]], 3])
def test_classes_json_of_another_shape_is_one_line(tmp_path, capsys, index):
    data = tree(tmp_path / "data")
    run = saved_run(tmp_path / "run", data)
    (tmp_path / "c.json").write_text(json.dumps(index))
    assert main(["predict", "--model", str(run / "best.keras"), "--classes",
                 str(tmp_path / "c.json"), str(data / "val" / "a" / "0.jpg")]) == 2
    assert error_line(capsys).startswith(f"error: {tmp_path / 'c.json'}: damaged class index"
                                         if not isinstance(index, (dict, list)) else
                                         f"error: --classes {tmp_path / 'c.json'}: expected")


def test_the_largest_seed_resumes(tmp_path):
    run = saved_run(tmp_path / "run", tree(tmp_path / "data"), seed=2**32 - 1)
    state_json(run, epoch=1)
    config = resume.resume_config(run)
    assert config.seed == 2**32 - 1
    started = train.start(config, resume_run=True)  # seeds (seed + 1) % 2**32
    try:
        assert started.first_epoch == 1
    finally:
        started.lock.release()


# 7. Every damaged run file named in one line, rc 2, whatever its JSON shape


def test_read_json_refuses_another_shape(tmp_path):
    (tmp_path / "x.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"x.json: damaged thing \(a JSON list, expected "
                                         r"an object\)"):
        runs.read_json(tmp_path / "x.json", "thing")
    assert runs.read_json(tmp_path / "x.json", "thing", (dict, list)) == [1, 2]


def test_a_config_json_holding_a_list_is_named(tmp_path, capsys):
    data = tree(tmp_path / "data")
    run = saved_run(tmp_path / "run", data)
    (run / "config.json").write_text("[1, 2, 3]\n")
    image = str(data / "val" / "a" / "0.jpg")
    for argv in (["predict", "--model", str(run / "best.keras"), image],
                 ["evaluate", "--model", str(run / "best.keras")],
                 ["train", "--resume", str(run)]):
        assert main(argv) == 2, argv
        assert error_line(capsys).startswith(
            f"error: {run / 'config.json'}: damaged config.json"), argv
    assert (run / "config.json").read_text() == "[1, 2, 3]\n"


def test_a_config_json_without_class_names_is_named_by_predict(tmp_path, capsys):
    data = tree(tmp_path / "data")
    run = saved_run(tmp_path / "run", data)
    config = json.loads((run / "config.json").read_text())
    del config["class_names"]
    (run / "config.json").write_text(json.dumps(config))
    assert main(["predict", "--model", str(run / "best.keras"),
                 str(data / "val" / "a" / "0.jpg")]) == 2
    assert error_line(capsys) == (f"error: {run / 'config.json'}: no list of class_names in "
                                  "it; pass --classes FILE")


def test_a_setting_of_the_wrong_type_is_named_on_resume(tmp_path, capsys):
    run = saved_run(tmp_path / "run", tree(tmp_path / "data"))
    state_json(run)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "epochs": "5"}))
    assert main(["train", "--resume", str(run)]) == 2
    assert error_line(capsys) == (f"error: {run / 'config.json'}: damaged config.json "
                                  "(epochs is \"5\", not int)")
    (run / "config.json").write_text(json.dumps({**config, "lr": None}))
    assert main(["train", "--resume", str(run)]) == 2
    assert "(lr is null, not float)" in error_line(capsys)


@pytest.mark.parametrize("state", [{}, {"epoch": "1"}, []])
def test_a_damaged_state_json_is_named_on_resume(tmp_path, capsys, state):
    run = saved_run(tmp_path / "run", tree(tmp_path / "data"))
    path = state_json(run)
    path.write_text(json.dumps(state))
    assert main(["train", "--resume", str(run)]) == 2
    assert error_line(capsys).startswith(f"error: {path}: damaged resume state")
    assert path.read_text() == json.dumps(state)
    assert not (run / "history.csv").exists()


@pytest.mark.parametrize("manifest", [
    {}, {"splits": {}}, [], {"class_names": ["a", "b"], "splits": {"train": {"images": 3}}},
    {"class_names": ["a", "b"], "splits": {"train": {"images": 3, "shards": ["x"]}}}])
def test_a_shard_manifest_missing_its_keys_is_named(tmp_path, capsys, manifest):
    shards_dir = tmp_path / "shards"
    shards_dir.mkdir()
    (shards_dir / "manifest.json").write_text(json.dumps(manifest))
    assert main(["train", "--data", str(shards_dir), "--out", str(tmp_path / "run"),
                 *SMALL_RUN]) == 2
    assert error_line(capsys).startswith(
        f"error: {shards_dir / 'manifest.json'}: not a shard manifest")
    assert not (tmp_path / "run").exists()


def test_an_npz_without_its_arrays_is_named(tmp_path, capsys):
    for name, arrays in (("empty.npz", {}), ("no-val.npz", {
            "size": 64, "class_names": np.array(["a", "b"]), "split_names": np.array(["train"]),
            "train_blobs": np.zeros(0, np.uint8), "train_offsets": np.zeros(1, int),
            "train_labels": np.zeros(0, int), "train_files": np.array([], bytes)})):
        np.savez(tmp_path / name, **arrays)
        with pytest.raises(ValueError, match=rf"{name}: not a packed dataset \(no "):
            packs.unpack(tmp_path / name)
    (tmp_path / "one.npz").write_bytes(b"not a zip")
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "one.npz"), "--out", str(out),
                 *SMALL_RUN]) == 2
    assert error_line(capsys).startswith(f"error: {tmp_path / 'one.npz'}: not a packed dataset")
    assert not out.exists()


def test_every_validation_file_undecodable_is_one_line(tmp_path, capsys):
    broken = [str(corrupt_jpeg(tmp_path / "val" / name / "0.jpg")) for name in ("a", "b")]
    split = Split(broken, np.array([0, 1], "int32"), ["a", "b"], source="val/")
    with pytest.raises(ValueError, match=r"^val/: none of its 2 images could be decoded \("
                                         + broken[0]):
        batches.decode(split, SIZE)
    streamed = Split(broken, np.array([0, 1], "int32"), ["a", "b"], source="val/")
    with pytest.raises(tf.errors.OpError) as raised:  # raised inside the pipeline
        list(batches.evaluation(streamed, 2, SIZE))
    # the command line's one line: the pipeline's error in its own words
    assert shards.op_message(raised.value).startswith(
        f"val/: none of its 2 images could be decoded ({broken[0]}: not decodable")


def fake_run(run: Path, classes=("a", "b", "c")) -> Path:
    """A finished run's small files (config.json, history.csv, metrics.json) for
    ``classes``, without training: what ``report`` reads."""
    run.mkdir(parents=True)
    config = {**dataclasses.asdict(TrainConfig(data="no-such-dataset", image_size=SIZE)),
              "class_names": list(classes), "dataset_root": str(run / "nowhere")}
    (run / "config.json").write_text(json.dumps(config))
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(len(classes)), 12)
    metrics = evaluate.metrics_from_predictions(probabilities, np.arange(12) % len(classes),
                                                list(classes))
    assert metrics["top5"] is None  # fewer than five classes
    (run / "metrics.json").write_text(json.dumps(metrics))
    keys = ("epoch", "loss", "accuracy", "top5_accuracy", "val_loss", "val_accuracy",
            "val_top5_accuracy", "epoch_seconds", "learning_rate")
    with open(run / "history.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(keys)
        for epoch in range(2):
            writer.writerow([epoch, 1.0 - epoch / 10, 0.4, 1.0, 1.1, 0.4, 1.0, 3.0, 0.01])
    return run


def test_report_refuses_a_build_folder_it_did_not_make(tmp_path, capsys):
    run = fake_run(tmp_path / "run")
    mine = tmp_path / "out" / "build" / "report" / "notes.txt"
    mine.parent.mkdir(parents=True)
    mine.write_text("the user's\n")
    assert main(["report", str(run), "--project", str(PROJECT), "--out",
                 str(tmp_path / "out" / "AlexNet.pdf")]) == 2
    line = error_line(capsys)
    assert line.startswith(f"error: {mine.parent}: a folder the report did not make")
    assert mine.read_text() == "the user's\n"
    assert not (tmp_path / "out" / "AlexNet.pdf").exists()


@pytest.mark.slow
def test_report_on_a_run_of_three_classes(tmp_path, capsys):
    """Top-5 is None with five classes or fewer: the PDF is built all the same, and the
    user's files beside the build folder stay."""
    run = fake_run(tmp_path / "run")
    mine = tmp_path / "out" / "build" / "notes.txt"
    mine.parent.mkdir(parents=True)
    mine.write_text("the user's\n")
    argv = ["report", str(run), "--project", str(PROJECT), "--out",
            str(tmp_path / "out" / "AlexNet.pdf")]
    assert main(argv) == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "AlexNet.pdf").read_bytes().startswith(b"%PDF-")
    assert main(argv) == 0, capsys.readouterr().err  # its own build folder: replaced
    assert mine.read_text() == "the user's\n"


# 9. An image in a nested folder of a class is named, not ignored


def test_an_image_in_a_nested_folder_is_named_as_skipped(tmp_path, capsys):
    data = tree(tmp_path / "data")
    inner = write_image(data / "train" / "a" / "more" / "deeper" / "x.jpg", (72, 72))
    write_image(data / "train" / "a" / ".hidden" / "y.jpg", (72, 72))  # hidden: left out
    split = Dataset.open(data).split("train")
    assert len(split) == 6 and str(inner) not in split.files
    assert split.skipped == [(str(inner), "in a subfolder of its class folder, which is not "
                                          "read: move it up to use it")]
    err = capsys.readouterr().err
    assert f"{data / 'train'}: skipped 1 unusable file(s):" in err and str(inner) in err
    shutil.rmtree(data / "train" / "a" / "more")
    assert Dataset.open(data).split("train").skipped == []
