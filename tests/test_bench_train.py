"""The training benchmark runs on a tiny configuration and writes valid JSON; the
precision/XLA settings resolve and reject bad values. No timing assertions."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from alexnet import precision
from alexnet.train import TrainConfig, compile_model

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "train_throughput.py"
TINY = ["--variant", "owt", "--batch-size", "2", "--image-size", "96", "--classes", "10",
        "--warmup", "0", "--steps", "1", "--repeats", "1"]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("train_throughput", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_result(result: dict, names: set[str]) -> None:
    assert set(result["images_per_s"]) == names | {"matmul"}
    for name, value in result["images_per_s"].items():
        assert math.isfinite(value) and value > 0, name
        assert len(result["runs"][name]) == 1
    references = {"torch_train", "torch_inference"}
    compared = names - references - {"input"} if names & references else set()
    assert set(result["vs_torch"]) == compared
    assert all(0 < f < 10 for f in result["roofline_fraction"].values())
    assert result["train_gflop_per_image"] > 0


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
    assert keras.mixed_precision.global_policy().name == "float32"  # restored


def test_synthetic_part_runs_without_tensorflow(tmp_path):
    """The part gpu.sh runs where there is no TensorFlow (there on JAX, here on torch)."""
    blocked = ("import runpy, sys; sys.modules['tensorflow'] = None; "
               f"sys.argv = ['x', *{[*TINY, '--parts', 'synthetic', '--no-reference']!r}, "
               f"'--out', {str(tmp_path)!r}, '--name', 'bench.json']; "
               f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')")
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    done = subprocess.run([sys.executable, "-c", blocked], env=env, capture_output=True,
                          text=True, timeout=300)
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


def test_precision_and_xla_settings():
    if precision.gpu_capability() is None:
        assert precision.resolve_precision("auto") == "float32"
    assert precision.resolve_precision("mixed_bfloat16") == "mixed_bfloat16"
    settings = [precision.resolve_jit_compile(s) for s in ("auto", "on", "off")]
    assert settings == ["auto", True, False]
    with pytest.raises(ValueError, match="--precision 'fp8'"):
        TrainConfig(precision="fp8")
    with pytest.raises(ValueError, match="--jit-compile 'yes'"):
        TrainConfig(jit_compile="yes")


def test_set_precision_sets_the_global_policy():
    try:
        assert precision.set_precision("mixed_bfloat16") == "mixed_bfloat16"
        layer = keras.layers.Dense(2)
    finally:
        precision.set_precision("float32")
    assert (layer.compute_dtype, layer.variable_dtype) == ("bfloat16", "float32")
    assert keras.layers.Dense(2).compute_dtype == "float32"


def test_compile_model_applies_xla_setting():
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(10, activation="softmax")])
    compile_model(net, TrainConfig(jit_compile="off"))
    assert net.jit_compile is False
    compile_model(net, TrainConfig(jit_compile="on"))
    assert net.jit_compile is True


def test_kernel_gradient_benchmark_on_a_tiny_model(tmp_path):
    """Both models train, the JSON holds both figures and their ratio, and the switch the
    benchmark forces while tracing is put back."""
    from alexnet import layers

    spec = importlib.util.spec_from_file_location(
        "kernel_gradient", SCRIPT.parent / "kernel_gradient.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    switch = layers.kernel_gradient_by_matmuls
    path = module.main(["--variant", "owt", "--batch-size", "2", "--image-size", "96",
                        "--classes", "10", "--warmup", "0", "--steps", "1", "--repeats", "2",
                        "--out", str(tmp_path), "--name", "kg.json"])
    record = json.loads(path.read_text())
    assert set(record["images_per_s"]) == set(module.NAMES.values())
    assert all(len(runs) == 2 and min(runs) > 0 for runs in record["runs"].values())
    assert math.isclose(record["ratio"], record["images_per_s"]["matmul_kernel_gradient"]
                        / record["images_per_s"]["backend_kernel_gradient"])
    assert layers.kernel_gradient_by_matmuls is switch
