"""Resume: a real ``python -m alexnet train`` killed with SIGKILL mid-epoch continues
from its last completed epoch, as if it had never stopped, when the same command is
run again with ``--resume`` added; flags given with ``--resume`` must equal the saved
settings, except ``--epochs``, ``--strategy`` and ``--time-limit``."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from conftest import PROJECT, stub_training

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "",
       "PYTHONUNBUFFERED": "1"}
STEPS = 5  # --limit 2: 20 training images, --batch-size 4


def history(run: Path) -> list[dict]:
    with open(run / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


def expected_counters(rows: list[dict], lr: float, lr_patience: int) -> dict:
    """What ReduceLROnPlateau (min_delta 1e-4), EarlyStopping and the best checkpoint
    hold after these epochs, replaying Keras' rules on the logged values; with the
    learning rate of every epoch."""
    rates, lr_best, lr_wait, es_best, es_wait, best_epoch = [], float("inf"), 0, None, 0, 0
    for row in rows:
        rates.append(lr)
        val_loss, val_acc = float(row["val_loss"]), float(row["val_accuracy"])
        if val_loss < lr_best - 1e-4:
            lr_best, lr_wait = val_loss, 0
        else:
            lr_wait += 1
            if lr_wait >= lr_patience:
                lr, lr_wait = lr * 0.1, 0
        es_wait += 1
        if es_best is None or val_acc > es_best:
            es_best, es_wait, best_epoch = val_acc, 0, int(row["epoch"])
    return {"rates": rates, "lr": lr, "ReduceLROnPlateau": {"wait": lr_wait, "best": lr_best},
            "EarlyStopping": {"wait": es_wait, "best": es_best, "best_epoch": best_epoch},
            "ModelCheckpoint": {"best": es_best}}


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume(imagenette_like, tmp_path):
    run = tmp_path / "run"
    args = [sys.executable, "-m", "alexnet", "train", "--data", str(imagenette_like),
            "--limit", "2", "--schedule", "plateau", "--lr", "0.01",
            "--image-size", "95", "--batch-size", "4", "--epochs", "2", "--lr-patience", "1",
            "--out", str(run)]
    log = open(tmp_path / "first.log", "w")
    first = subprocess.Popen(args, cwd=PROJECT, env=ENV, stdout=log, stderr=subprocess.STDOUT)
    state_file = run / "state" / "state.json"
    deadline = time.monotonic() + 300
    while first.poll() is None and time.monotonic() < deadline and not (
            state_file.is_file() and "Epoch 2/2" in (tmp_path / "first.log").read_text()):
        time.sleep(0.1)
    time.sleep(0.5)  # into epoch 2's batches (with its validation and saves, it takes longer)
    first.send_signal(signal.SIGKILL)
    first.wait()
    log.close()
    assert first.returncode == -signal.SIGKILL, (tmp_path / "first.log").read_text()[-3000:]
    state = json.loads(state_file.read_text())
    assert state["epoch"] == 1, "killed after epoch 2 had finished: the kill came too late"
    assert [row["epoch"] for row in history(run)] == ["0"]

    # the same command with --resume added: its flags equal the saved settings
    resumed = subprocess.run(args + ["--resume", str(run)], cwd=PROJECT, env=ENV,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert f"Resuming {run} after epoch 1" in resumed.stdout

    rows = history(run)
    assert [row["epoch"] for row in rows] == ["0", "1"]  # each epoch exactly once
    assert rows[0] == history_row_of(state, 0)  # the epoch before the kill is kept as it was
    state = json.loads(state_file.read_text())
    assert state["epoch"] == 2 and sorted(p.name for p in (run / "state").iterdir()) == [
        "epoch-0002.weights.h5", "state.json"]
    expected = expected_counters(rows, lr=0.01, lr_patience=1)
    assert [float(row["learning_rate"]) for row in rows] == pytest.approx(expected["rates"])
    assert state["learning_rate"] == pytest.approx(expected["lr"])
    for name in ("ReduceLROnPlateau", "EarlyStopping", "ModelCheckpoint"):
        for key, value in expected[name].items():
            assert state["callbacks"][name][key] == pytest.approx(value), (name, key)
    with h5py.File(run / "state" / "epoch-0002.weights.h5") as weights:
        assert int(weights["optimizer/vars/0"][()]) == 2 * STEPS  # SGD's iteration count
        assert float(weights["optimizer/vars/1"][()]) == pytest.approx(expected["lr"])
    assert (run / "metrics.json").is_file() and (run / "best.keras").is_file()
    assert not list(run.rglob("*.tmp*"))
    config = json.loads((run / "config.json").read_text())  # the command that started it
    assert config["command"] == "python -m alexnet " + " ".join(args[3:])


def history_row_of(state: dict, epoch: int) -> dict:
    """A state's logged epoch as csv.DictReader reads history.csv."""
    row = next(row for row in state["history"] if row["epoch"] == epoch)
    return {key: str(value) for key, value in row.items()}


@pytest.fixture
def saved_run(tmp_path) -> Path:
    """A run folder whose config.json was saved by ``train ... --batch-size 4 --limit 2
    --image-size 95 --lr 0.01 --recipe paper`` (no training needed to check flags)."""
    from alexnet.recipes import RECIPES, TrainConfig

    run = tmp_path / "run"
    run.mkdir()
    config = TrainConfig(**{**RECIPES["paper"], "batch_size": 4, "limit": 2, "image_size": 95,
                            "lr": 0.01}, data=str(tmp_path / "data"), recipe="paper",
                         out=str(run))
    (tmp_path / "data").mkdir()
    (run / "config.json").write_text(json.dumps({**dataclasses.asdict(config),
                                                 "dataset_root": str(tmp_path / "data"),
                                                 "class_names": ["a", "b"]}))
    return run


def resume_with(run: Path, *flags: str, monkeypatch):
    """``train --resume RUN FLAGS`` in-process, the training steps stubbed: (exit status,
    config)."""
    from alexnet import __main__ as cli

    calls = stub_training(monkeypatch, run)
    status = cli.main(["train", "--no-estimate", *flags, "--resume", str(run)])
    return status, calls[0] if calls else None


def test_resume_accepts_flags_equal_to_the_saved_ones(saved_run, monkeypatch):
    data_dir = saved_run.parent / "data"
    status, config = resume_with(saved_run, monkeypatch=monkeypatch)  # --resume alone
    assert status == 0 and config.batch_size == 4 and config.epochs == 80
    # the command that started the run, again (--data spelt another way: the same folder)
    status, config = resume_with(saved_run, "--recipe", "paper", "--data", f"{data_dir}/",
                                 "--batch-size", "4", "--limit", "2", "--image-size", "95",
                                 "--lr", "0.01", "--out", str(saved_run), monkeypatch=monkeypatch)
    assert status == 0, "equal flags must be accepted"
    assert (config.batch_size, config.limit, config.out) == (4, 2, str(saved_run))
    status, config = resume_with(saved_run, "--batch-size", "4", "--epochs", "90",
                                 "--strategy", "mirrored", "--time-limit", "30",
                                 monkeypatch=monkeypatch)
    assert status == 0  # these may change
    assert (config.epochs, config.strategy, config.time_limit) == (90, "mirrored", 30.0)


def test_resume_refuses_differing_flags_naming_saved_and_given(saved_run, monkeypatch, capsys):
    status, config = resume_with(saved_run, "--batch-size", "8", "--lr", "0.01", "--limit", "3",
                                 monkeypatch=monkeypatch)
    assert status == 2 and config is None
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "--batch-size: saved 4, given 8" in error and "--limit: saved 2, given 3" in error
    assert "--lr" not in error and "only --epochs, --strategy and --time-limit may change" in error
    status, _ = resume_with(saved_run, "--recipe", "modern", monkeypatch=monkeypatch)
    assert status == 2 and "--recipe: saved paper, given modern" in capsys.readouterr().err
    status, _ = resume_with(saved_run, "--validation-split", "0.2", monkeypatch=monkeypatch)
    assert status == 2 and "--validation-split: saved None, given 0.2" in capsys.readouterr().err


def test_a_run_folder_from_before_the_split_settings_resumes_and_evaluates(imagenette_like,
                                                                           tmp_path):
    """config.json files written before val_dir/validation_split (and the other settings
    added since) existed: the run still continues and evaluates, with the defaults."""
    from alexnet.__main__ import main

    run = tmp_path / "run"
    assert main(["train", "--data", str(imagenette_like), "--epochs", "1", "--limit", "2",
                 "--image-size", "64", "--batch-size", "10", "--out", str(run)]) == 0
    saved = json.loads((run / "config.json").read_text())
    for newer in ("val_dir", "validation_split"):
        del saved[newer]
    (run / "config.json").write_text(json.dumps(saved))
    assert main(["train", "--resume", str(run), "--epochs", "2"]) == 0
    assert len(history(run)) == 2
    assert main(["evaluate", "--model", str(run / "best.keras"), "--out",
                 str(tmp_path / "eval")]) == 0
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["examples"] == metrics["ten_crop"]["examples"] == 50
