"""The scripts run on tiny configurations: the first-steps script of a recipe, the
per-op profile of a training step, the BatchNorm statistics check, and the GPU
recipes' driver (here on the CPU, so that a GPU session spends no time on its bugs).
No timing assertions."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alexnet.data.datasets import Dataset
from alexnet.harness import packs as arrays
from alexnet.models.alexnet import build
from conftest import PROJECT as ROOT

pytestmark = pytest.mark.slow  # each runs a script end to end


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_first_steps_reports_one_finite_loss_per_step(tiny_dataset, capsys):
    first_steps = load(ROOT / "scripts" / "first_steps.py")
    losses = first_steps.main(["--recipe", "modern", "--steps", "2", "--batch-size", "4",
                               "--image-size", "64", "--data", str(tiny_dataset)])
    assert len(losses) == 2 and all(math.isfinite(loss) and loss > 0 for loss in losses)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step")]
    assert len(lines) == 2 and "most predicted class" in lines[0]


def test_profile_lists_the_convolutions_of_a_step(capsys):
    profile = load(ROOT / "benchmarks" / "profile_step.py")
    profile.main(["--variant", "owt", "--batch-size", "2", "--image-size", "64",
                  "--steps", "1", "--top", "3"])
    out = capsys.readouterr().out
    assert "ms per step by op type" in out
    op_types = out.split("ms per step by op type:")[1].split("ms per step by single op")[0]
    assert "Conv2D" in op_types and "MatMul" in op_types


def test_bn_statistics_compares_moving_and_batch_statistics(tiny_dataset, tmp_path, capsys):
    import keras

    keras.utils.set_random_seed(0)  # the offsets depend on the initial weights
    net = build("bn", 3, 64)  # fresh: moving means 0 and variances 1 ...
    conv3 = net.get_layer("conv3_bn")
    conv3.moving_mean.assign(conv3.moving_mean + 5.0)  # ... but conv3's 5 std off
    net.save(tmp_path / "best.keras")
    script = load(ROOT / "scripts" / "bn_statistics.py")
    result = script.main([str(tmp_path), "--data", str(tiny_dataset), "--batch-size", "6"])
    assert 0 <= result["moving statistics"] <= 1 and 0 <= result["batch statistics"] <= 1
    offsets = {k: v for k, v in result.items() if k.endswith("_bn")}
    assert len(offsets) == 7 and all(v >= 0 for v in offsets.values())
    assert offsets["conv3_bn"] == pytest.approx(5.0, abs=1.0) and offsets["conv1_bn"] < 1
    assert "validation accuracy with batch statistics" in capsys.readouterr().out


def test_gpu_driver_trains_recipes_from_a_pack_in_parts(tiny_dataset, tmp_path):
    train, val = Dataset.open(tiny_dataset).splits()
    arrays.pack({"train": train, "val": val}, tmp_path / "tiny.npz", 72, root=tiny_dataset,
                workers=1, parts=2)
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_ENABLE_ONEDNN_OPTS": "1",
           "PYTHONPATH": str(ROOT), "RUN_COMMAND": "PACK_SIZE=72 bash gpu_imagenette.sh"}
    recipes = {"modern:image_size=64:weight_decay=1e-4": "modern-image_size64-weight_decay1e-4",
               "paper:image_size=67": "paper-image_size67"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gpu_imagenette.py"), "--data",
         str(tmp_path / "tiny.npz"), "--out", str(tmp_path / "out"), "--epochs", "1",
         "--recipes", ",".join(recipes)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for spec, name in recipes.items():
        out = tmp_path / "out" / name
        assert sorted(p.name for p in out.iterdir()) == sorted([
            "config.json", "history.csv", "metrics.json", "predictions.npz",
            "conv1_filters.npy", "neighbours.json"])
        config = json.loads((out / "config.json").read_text())
        assert config["recipe"] == spec and config["command"] == env["RUN_COMMAND"]
        assert "cores" in config["machine"]  # no GPU here: the processor and its cores
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["examples"] == len(val) and metrics["ten_crop"]["examples"] == len(val)
    modern = json.loads((tmp_path / "out" / recipes["modern:image_size=64:weight_decay=1e-4"]
                         / "config.json").read_text())
    assert modern["image_size"] == 64 and modern["weight_decay"] == 1e-4
