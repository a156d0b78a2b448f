"""How TensorFlow loads under alexnet: its C++ log lines held back as TF_CPP_MIN_LOG_LEVEL
says (the user's value wins), no cuInit error on a machine without an NVIDIA driver, no
line twice."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from alexnet.harness import environment
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
def test_the_level_hides_as_tensorflow_means(level, kept):
    shown = [line for line in LOGGED if not environment.hidden(line, level)]
    assert len(shown) == kept and shown[-2:] == LOGGED[-2:]
    without_driver = [line for line in LOGGED if not environment.hidden(line, level, False)]
    assert not any("cuInit" in line for line in without_driver)


def test_filter_works_on_file_descriptor_2():
    """C++ writes to file descriptor 2, not to sys.stderr: the filter works there (in a
    child process, so that pytest's own capture is left alone)."""
    code = ("import os, sys\n"
            "from alexnet.harness import environment\n"
            "with environment.filtered_stderr(int(sys.argv[1])):\n"
            f"    os.write(2, {chr(10).join(LOGGED[:5]) + chr(10)!r}.encode())\n"
            "    print('python line', file=sys.stderr)\n")
    for level, expected in ((3, ["python line"]), (1, [LOGGED[2], LOGGED[3], "python line"]),
                            (0, [*LOGGED[:5], "python line"])):
        done = subprocess.run([sys.executable, "-c", code, str(level)], capture_output=True,
                              text=True, timeout=60, cwd=PROJECT)
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines() == expected, level


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
    """config.json's ``machine``: the GPU's name, or without one the processor and the
    cores this process may use."""
    name = environment.device_name()
    if environment.gpu_capability() is None:
        assert name.endswith(" cores") and name.split(", ")[-1].split()[0].isdigit()
    assert isinstance(environment.cpu_has_bfloat16(), bool)
