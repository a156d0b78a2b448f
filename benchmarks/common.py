"""What the benchmark scripts share, free of heavy imports so that their ``--help`` is quick:
alexnet's choices without importing Keras, the results folder, the host's description.
TensorFlow's start-up (quiet C++ logs, oneDNN) is alexnet's: each script imports alexnet
before anything that loads TensorFlow (alexnet/environment.py).

benchmarks/ is a folder of scripts, not a package: each imports this file as ``common``
(a script's own folder is on the import path, and pytest's ``pythonpath`` adds it for the
tests). They import ``alexnet`` as installed (``pip install -e .``).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"

# As alexnet.model.VARIANTS and .DEFAULT_IMAGE_SIZE, alexnet.precision.PRECISIONS and
# .JIT_COMPILE (tests/test_bench_train.py checks): those modules import Keras, which
# imports TensorFlow, seconds that --help should not wait for.
VARIANTS = ("paper", "owt", "bn")
DEFAULT_IMAGE_SIZE = {"paper": 227, "owt": 224, "bn": 224}
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
JIT_COMPILE = ("auto", "on", "off")

def host_info() -> dict:
    """The machine, for the JSON record (what any process on it would say)."""
    info = {"platform": platform.platform(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "python": platform.python_version()}
    try:
        info["load_average"] = os.getloadavg()
    except OSError:
        pass
    return info
