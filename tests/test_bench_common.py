"""What the benchmark and other scripts share: --help without TensorFlow, Keras or PyTorch,
and the package's choices copied without importing Keras."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from alexnet import models as model
from alexnet import recipes as config
from conftest import PROJECT

BENCHMARKS = PROJECT / "benchmarks"
SCRIPTS = sorted(path.name for path in BENCHMARKS.glob("*.py") if path.name != "common.py")
OTHER_SCRIPTS = sorted(path.name for path in (PROJECT / "scripts").glob("*.py")
                       if path.name != "make_notebook.py")  # nbformat, no framework
HEAVY = {"tensorflow", "keras", "torch", "jax"}


@pytest.fixture(scope="module")
def common():
    spec = importlib.util.spec_from_file_location("common", BENCHMARKS / "common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_script_is_covered():
    assert {"train_throughput.py", "profile_step.py", "input_pipeline.py",
            "time_to_accuracy.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", [*(BENCHMARKS / s for s in SCRIPTS),
                                    *(PROJECT / "scripts" / s for s in OTHER_SCRIPTS)],
                         ids=lambda path: f"{path.parent.name}/{path.name}")
def test_help_imports_no_framework(script):
    """--help answers without loading PyTorch (TensorFlow, and with it what it imports,
    comes with ``import alexnet``): ``-X importtime`` lists every imported module."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    done = subprocess.run([sys.executable, "-X", "importtime", str(script), "--help"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage:")
    imported = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:") and "|" in line}
    assert len(imported) > 20  # the list was read
    assert not {name for name in imported if name.split(".")[0] == "torch"}


def test_choices_are_the_packages(common):
    assert common.VARIANTS == model.VARIANTS
    assert common.DEFAULT_IMAGE_SIZE == model.DEFAULT_IMAGE_SIZE
    assert common.PRECISIONS == config.PRECISIONS
    assert common.JIT_COMPILE == config.JIT_COMPILE
