"""What the benchmark scripts share: --help without TensorFlow, Keras or PyTorch, the
package's choices copied without importing Keras, and TensorFlow's C++ log lines held back
as TF_CPP_MIN_LOG_LEVEL says."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from alexnet import model, precision
from conftest import PROJECT

BENCHMARKS = PROJECT / "benchmarks"
SCRIPTS = sorted(path.name for path in BENCHMARKS.glob("*.py") if path.name != "common.py")
HEAVY = {"tensorflow", "keras", "torch", "jax"}


@pytest.fixture(scope="module")
def common():
    spec = importlib.util.spec_from_file_location("common", BENCHMARKS / "common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_script_is_covered():
    assert {"train_throughput.py", "kernel_gradient.py", "profile_step.py",
            "input_pipeline.py", "mixed_batches.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_imports_no_framework(script):
    """--help answers without loading TensorFlow, Keras, PyTorch or JAX (seconds each):
    ``-X importtime`` lists every module the interpreter imported."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    done = subprocess.run([sys.executable, "-X", "importtime", str(BENCHMARKS / script), "--help"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage:")
    imported = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:") and "|" in line}
    assert len(imported) > 20  # the list was read
    assert not {name for name in imported if name.split(".")[0] in HEAVY}


def test_choices_are_the_packages(common):
    assert common.VARIANTS == model.VARIANTS
    assert common.DEFAULT_IMAGE_SIZE == model.DEFAULT_IMAGE_SIZE
    assert common.PRECISIONS == precision.PRECISIONS
    assert common.JIT_COMPILE == precision.JIT_COMPILE


BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
LOGGED = [BANNER,
          "I0000 00:00:1796180964.052123   13572 port.cc:153] oneDNN custom operations are on.",
          "W0000 00:00:1796180964.052123   13572 computation_placer.cc:177] already registered",
          "E0000 00:00:1796180594.528855    4875 cuda_platform.cc:52] failed call to cuInit",
          "I1202 03:09:01.123456 12 cpu_feature_guard.cc:227] after absl::InitializeLog",
          "Traceback (most recent call last):",
          "UserWarning: not a C++ log line"]


@pytest.mark.parametrize("level, kept", [(0, 7), (1, 4), (2, 3), (3, 2)])
def test_the_level_hides_as_tensorflow_means(common, level, kept):
    shown = [line for line in LOGGED if not common.hidden(line, level)]
    assert len(shown) == kept and shown[-2:] == LOGGED[-2:]


def test_quiet_load_filters_file_descriptor_2(common, tmp_path):
    """C++ writes to file descriptor 2, not to sys.stderr: the filter works there (in a
    child process, so that pytest's own capture is left alone)."""
    code = ("import importlib.util, os, sys\n"
            "spec = importlib.util.spec_from_file_location("
            f"'common', {str(BENCHMARKS / 'common.py')!r})\n"
            "common = importlib.util.module_from_spec(spec)\n"
            "spec.loader.exec_module(common)\n"
            "with common.quiet_tensorflow_load():\n"
            f"    os.write(2, {chr(10).join(LOGGED[:5]) + chr(10)!r}.encode())\n"
            "    print('python line', file=sys.stderr)\n")
    for value, expected in (("3", ["python line"]), ("1", [LOGGED[2], LOGGED[3], "python line"]),
                            (None, [*LOGGED[:5], "python line"])):
        env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
        if value is not None:
            env["TF_CPP_MIN_LOG_LEVEL"] = value
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines() == expected, value

