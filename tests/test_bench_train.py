"""The training benchmark runs on a tiny configuration and writes valid JSON, Keras and
the PyTorch reference each in a process of its own (the precision/XLA settings it uses:
tests/training/test_precision.py). No timing assertions."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import subprocess
import sys

import keras
import pytest

from conftest import PROJECT

SCRIPT = PROJECT / "benchmarks" / "train_throughput.py"
TINY = ["--variant", "owt", "--batch-size", "2", "--image-size", "96", "--classes", "10",
        "--warmup", "0", "--steps", "1", "--repeats", "1"]
CPP_LOG = re.compile(r"^([IWEF]\d{4} \d\d:\d\d:|WARNING: All log messages before absl)", re.M)


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("train_throughput", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_result(result: dict, names: set[str], repeats: int = 1) -> None:
    assert set(result["images_per_s"]) == names | {"matmul"}
    for name, value in result["images_per_s"].items():
        assert math.isfinite(value) and value > 0, name
        assert len(result["runs"][name]) == repeats
    references = {"torch_train", "torch_inference"}
    compared = names - references - {"input"} if names & references else set()
    assert set(result["vs_torch"]) == compared
    assert all(0 < f < 10 for f in result["roofline_fraction"].values())
    assert result["train_gflop_per_image"] > 0
    # Keras, the reference and the matmul probe: each a process of its own, not this one
    kinds = ["keras", "torch", "matmul"] if names & references else ["keras", "matmul"]
    assert list(result["processes"]) == kinds
    pids = [process["pid"] for process in result["processes"].values()]
    assert len(set(pids)) == len(pids) and os.getpid() not in pids
    if names & references:
        assert result["reference"]["process"] == "separate"
        assert result["reference"]["pid"] == result["processes"]["torch"]["pid"]
    else:
        assert result["reference"] is None


def test_all_parts_on_a_tiny_tree(bench, tiny_dataset, tmp_path):
    path = bench.main([*TINY, "--data", str(tiny_dataset), "--out", str(tmp_path),
                       "--name", "bench.json"])
    record = json.loads(path.read_text())
    assert path == tmp_path / "bench.json" and "error" not in record
    assert record["machine"]["keras_backend"] == keras.backend.backend()
    assert record["data"] == str(tiny_dataset) and record["skipped"] == []
    (result,) = record["results"]
    assert (result["variant"], result["batch_size"], result["image_size"]) == ("owt", 2, 96)
    check_result(result, {"synthetic", "input", "pipeline", "inference", "torch_train",
                          "torch_inference"})
    assert keras.mixed_precision.global_policy().name == "float32"  # untouched here


def test_command_line_run_is_quiet_and_separates_the_reference(tmp_path):
    """The script as users run it (alexnet from PYTHONPATH): no TensorFlow C++ log lines
    by default, two repetitions alternating between processes, the reference never
    importing TensorFlow."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env |= {"PYTHONPATH": str(PROJECT), "KERAS_BACKEND": "tensorflow"}
    tiny = [*TINY[:-1], "2", "--parts", "synthetic", "--out", str(tmp_path), "--name", "b.json"]
    done = subprocess.run([sys.executable, str(SCRIPT), *tiny], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not CPP_LOG.search(done.stdout + done.stderr), done.stderr[-3000:]
    assert "round 2/2" in done.stdout
    record = json.loads((tmp_path / "b.json").read_text())
    (result,) = record["results"]
    check_result(result, {"synthetic", "torch_train"}, repeats=2)
    assert "tensorflow" not in result["reference"] and "torch" in result["reference"]
    assert record["machine"]["tensorflow"] and record["machine"]["torch"]


def test_synthetic_part_runs_without_tensorflow(tmp_path):
    """The part gpu.sh runs where there is no TensorFlow (there on JAX, here on torch):
    a sitecustomize module blocks it in the script and in its workers alike."""
    (tmp_path / "block").mkdir()
    (tmp_path / "block" / "sitecustomize.py").write_text(
        "import importlib.abc, importlib.machinery, sys\n\n\n"
        "class Block(importlib.abc.MetaPathFinder, importlib.abc.Loader):\n"
        "    # import tensorflow: ModuleNotFoundError, as where it is not installed\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'tensorflow' or name.startswith('tensorflow.'):\n"
        "            return importlib.machinery.ModuleSpec(name, self)\n\n"
        "    def create_module(self, spec):\n"
        "        return None\n\n"
        "    def exec_module(self, module):\n"
        "        raise ModuleNotFoundError(f'No module named {module.__name__!r}',\n"
        "                                  name=module.__name__)\n\n\n"
        "sys.meta_path.insert(0, Block())\n")
    env = {**os.environ, "KERAS_BACKEND": "torch",
           "PYTHONPATH": os.pathsep.join([str(tmp_path / "block"), str(PROJECT)])}
    done = subprocess.run([sys.executable, str(SCRIPT), *TINY, "--parts", "synthetic",
                           "--no-reference", "--out", str(tmp_path), "--name", "bench.json"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads((tmp_path / "bench.json").read_text())
    assert record["machine"]["keras_backend"] == "torch"
    assert "tensorflow" not in record["machine"]
    check_result(record["results"][0], {"synthetic"})


def test_missing_dataset_fails_before_anything_runs(bench, tmp_path):
    missing = tmp_path / "no"
    with pytest.raises(FileNotFoundError, match=f"--data {missing}: no such folder"):
        bench.main([*TINY, "--data", str(missing), "--out", str(tmp_path)])
    assert not list(tmp_path.glob("*.json"))


@pytest.mark.parametrize("flag", ["--steps", "--batch-size"])
def test_bad_counts_are_refused(bench, flag):
    with pytest.raises(SystemExit):
        bench.parse_args([flag, "0"])


