"""What the benchmark scripts share, free of heavy imports so that their ``--help`` is quick:
alexnet's choices without importing Keras, the results folder, the host's description.
TensorFlow's start-up (quiet C++ logs, oneDNN) is alexnet's: each script imports alexnet
before anything that loads TensorFlow (alexnet/__init__.py).

benchmarks/ is a folder of scripts, not a package: each imports this file as ``common``
(a script's own folder is on the import path, and pytest's ``pythonpath`` adds it for the
tests). They import ``alexnet`` as installed (``pip install -e .``).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
from pathlib import Path

from alexnet.models import DEFAULT_IMAGE_SIZE, VARIANTS  # noqa: F401  (no Keras loads)
from alexnet.recipes import JIT_COMPILE, PRECISIONS  # noqa: F401

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def host_info() -> dict:
    """The machine, for the JSON record (what any process on it would say)."""
    info = {"platform": platform.platform(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "python": platform.python_version()}
    try:
        info["load_average"] = os.getloadavg()
    except OSError:
        pass
    return info


def alternate(trains: dict, batch_size: int, steps: int, repeats: int) -> dict[str, list[float]]:
    """Images/s of each ``trains[name](steps) -> seconds``, the names taking turns each
    repetition, so that a busy machine slows all alike."""
    runs = {name: [] for name in trains}
    for r in range(repeats):
        for name, train in trains.items():
            runs[name].append(batch_size * steps / train(steps))
        print(f"  round {r + 1}/{repeats}: "
              + ", ".join(f"{n} {v[-1]:.1f} img/s" for n, v in runs.items()), flush=True)
    return runs


def paired_ratio(runs: dict[str, list[float]], treatment: str, reference: str) -> dict:
    """Medians of each, the ratio of the medians and the median of the paired ratios."""
    medians = {name: statistics.median(values) for name, values in runs.items()}
    paired = [t / r for t, r in zip(runs[treatment], runs[reference], strict=True)]
    return {"images_per_s": medians, "runs": runs,
            "ratio": medians[treatment] / medians[reference],
            "paired_ratio_median": statistics.median(paired)}


def write_record(record: dict, out: str | None, name: str) -> Path:
    """The JSON record in ``out`` (default: $OUT, else benchmarks/results/)."""
    folder = Path(out or os.environ.get("OUT") or RESULTS_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"Wrote {path}")
    return path
