"""What the benchmark scripts share, free of heavy imports so that their ``--help`` is quick:
alexnet's choices without importing Keras, the results folder, the host's description, and
TensorFlow's C++ log lines kept quiet while TensorFlow loads.

benchmarks/ is a folder of scripts, not a package: each script loads this file by path
(its ``sibling`` function) and none edits ``sys.path``. They import ``alexnet`` as
installed (``pip install -e .``) or from ``PYTHONPATH=<project root>``.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import sys
import tempfile
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"

# As alexnet.model.VARIANTS and .DEFAULT_IMAGE_SIZE, alexnet.precision.PRECISIONS and
# .JIT_COMPILE (tests/test_bench_train.py checks): those modules import Keras, which
# imports TensorFlow, seconds that --help should not wait for.
VARIANTS = ("paper", "owt", "bn")
DEFAULT_IMAGE_SIZE = {"paper": 227, "owt": 224, "bn": 224}
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
JIT_COMPILE = ("auto", "on", "off")

# A line of absl's log format: severity letter, date, time, thread, file:line]; before
# absl::InitializeLog the date is 0000 and the time 00:00:<seconds since 1970>.
ABSL_LINE = re.compile(r"([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]\s]+:\d+\] ")
ABSL_BANNER = "WARNING: All log messages before absl::InitializeLog() is called"


def hidden(line: str, level: int) -> bool:
    """Whether TF_CPP_MIN_LOG_LEVEL ``level`` hides this stderr line: 1 hides INFO, 2 also
    WARNING, 3 also ERROR (TensorFlow's meaning), and 1 or more absl's banner about them."""
    if line.startswith(ABSL_BANNER):
        return level >= 1
    match = ABSL_LINE.match(line)
    return bool(match) and "IWEF".index(match.group(1)) < level


@contextlib.contextmanager
def quiet_tensorflow_load():
    """Import TensorFlow (or Keras on it) inside this block to hold back the C++ log lines
    TF_CPP_MIN_LOG_LEVEL asks to hide.

    TensorFlow 2.19 and later log while their shared libraries load (oneDNN is on, no
    CUDA driver, ...: ``I0000 ... port.cc:153] ...``), through absl before TensorFlow
    has applied the level (tensorflow/tensorflow#100442, open), so the variable alone does
    not hide them. Meanwhile stderr goes to a temporary file (file descriptor 2, so C++
    output too); at the end of the block every line is passed on but those the level
    hides. Output in the block shows only at its end."""
    value = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0").strip()
    level = int(value) if value.isdigit() else 0
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as held:
            os.dup2(held.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                held.seek(0)
                lines = held.read().decode(errors="replace").splitlines(keepends=True)
                sys.stderr.write("".join(line for line in lines if not hidden(line, level)))
                sys.stderr.flush()
    finally:
        os.close(saved)


def host_info() -> dict:
    """The machine, for the JSON record (what any process on it would say)."""
    info = {"platform": platform.platform(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "python": platform.python_version()}
    try:
        info["load_average"] = os.getloadavg()
    except OSError:
        pass
    return info
