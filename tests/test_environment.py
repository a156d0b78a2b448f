"""How TensorFlow loads under alexnet (``alexnet/__init__.py``, the one place): its C++ log
lines held back as TF_CPP_MIN_LOG_LEVEL says (the user's value wins), no cuInit error on a
machine without an NVIDIA driver, no line twice; and nothing else in the user's process
changes (matplotlib's backend, import hooks, warning filters)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import alexnet
from alexnet import training
from conftest import PROJECT

BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
LOGGED = [BANNER,
          "I0000 00:00:1796180964.052123   13572 port.cc:153] oneDNN custom operations are on.",
          "W0000 00:00:1796180964.052123   13572 computation_placer.cc:177] already registered",
          "E0000 00:00:1796180594.528855    4875 cuda_platform.cc:52] failed call to cuInit",
          "I1202 03:09:01.123456 12 cpu_feature_guard.cc:227] after absl::InitializeLog",
          "Traceback (most recent call last):",
          "UserWarning: not a C++ log line"]
TF_LINE = ("I0000", "W0000", "E0000", "absl::InitializeLog", "cuInit", "cuda drivers")


@pytest.mark.parametrize("level, kept", [(0, 7), (1, 4), (2, 3), (3, 2)])
def test_the_level_hides_as_tensorflow_means(level, kept, monkeypatch):
    real_exists = os.path.exists
    driver = "/proc/driver/nvidia"
    monkeypatch.setattr(os.path, "exists", lambda path: path == driver or real_exists(path))
    shown = [line for line in LOGGED if not alexnet._hidden(line, level)]
    assert len(shown) == kept and shown[-2:] == LOGGED[-2:]
    monkeypatch.setattr(os.path, "exists", lambda path: path != driver and real_exists(path))
    without_driver = [line for line in LOGGED if not alexnet._hidden(line, level)]
    assert not any("cuInit" in line for line in without_driver)


def test_importing_alexnet_filters_file_descriptor_2_during_the_import_only():
    """C++ writes to file descriptor 2, not to sys.stderr: TensorFlow's lines written there
    while alexnet loads it are held back; a line written after the import passes (in a
    child process, so that pytest's own capture is left alone)."""
    code = ("import os, sys\n"
            "import alexnet\n"
            "os.write(2, b'after the import\\n')\n")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=PROJECT, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.splitlines() == ["after the import"]


def test_importing_alexnet_changes_nothing_else_in_the_process():
    """Before and after ``import alexnet`` (a fresh process, matplotlib and TensorFlow's
    own imports aside): the same matplotlib backend, no new ``sys.meta_path`` finder, the
    same warning filters."""
    code = (
        "import json, sys, warnings\n"
        "import matplotlib\n"
        "import tensorflow, keras\n"  # what alexnet loads, so that its own effects show
        "def state():\n"
        "    return {'backend': matplotlib.get_backend(),\n"
        "            'meta_path': [repr(type(f)) for f in sys.meta_path],\n"
        "            'filters': [repr(f) for f in warnings.filters]}\n"
        "before = state()\n"
        "import alexnet, alexnet.models.alexnet, alexnet.data.augment, alexnet.data.batches\n"
        "import alexnet.plots, alexnet.evaluate, alexnet.training, alexnet.recipes\n"
        "print(json.dumps([before, state()]))\n")
    env = {**os.environ, "MPLBACKEND": "template"}  # a backend the user chose, not Agg
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=PROJECT, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    before, after = json.loads(done.stdout.splitlines()[-1])
    assert after["backend"] == before["backend"] == "template"
    assert after["meta_path"] == before["meta_path"]
    assert after["filters"] == before["filters"]


def run_with_tensorflow(level: str | None) -> subprocess.CompletedProcess:
    """A command that loads TensorFlow and makes a tensor, as a user would."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    if level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = level
    return subprocess.run([sys.executable, "-m", "alexnet", "summary", "--variant", "bn",
                           "--classes", "10", "--image-size", "96"], env=env,
                          capture_output=True, text=True, timeout=300, cwd=PROJECT)


def test_the_cli_prints_no_tensorflow_log_line_unless_asked():
    quiet = run_with_tensorflow(None)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    output = quiet.stdout + quiet.stderr
    assert "Multiply-accumulates per image" in output
    assert not [line for line in output.splitlines() if any(s in line for s in TF_LINE)]
    loud = run_with_tensorflow("0")  # the user's value wins
    assert loud.returncode == 0, loud.stderr[-2000:]
    assert any("I0000" in line for line in loud.stderr.splitlines())


def test_the_machine_is_named_for_the_record():
    """config.json's ``machine_details``: the GPU's name or None, the processor, the cores
    this process may use, and the CPU's bfloat16 units."""
    machine = training.machine()
    assert set(machine) == {"gpu", "cpu", "threads", "amx_bf16", "avx512_bf16"}
    assert isinstance(machine["cpu"], str) and machine["threads"] >= 1
    assert (machine["gpu"] is None) == (training.gpu_capability() is None)
    assert isinstance(machine["amx_bf16"], bool) and isinstance(machine["avx512_bf16"], bool)
    assert isinstance(training.cpu_flags(), set)
