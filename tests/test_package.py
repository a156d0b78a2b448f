"""The package as a whole: importing alexnet turns on TensorFlow's oneDNN CPU kernels,
unless told otherwise, and warns when it comes too late to do so; the code is ruff clean;
the committed notebook holds the cells its generator writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(code: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, env={**environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env})


def test_import_turns_onednn_on_unless_the_user_chose():
    code = "import alexnet, os; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])"
    assert run(code).stdout.strip() == "1"
    assert run(code, TF_ENABLE_ONEDNN_OPTS="0").stdout.strip() == "0"


def test_tensorflow_loaded_first_gets_a_warning():
    code = ("import warnings\n"
            "warnings.filterwarnings('error', message='TensorFlow was imported before')\n"
            "import tensorflow\nimport alexnet")
    late = run(code)
    assert late.returncode != 0 and "Import alexnet first" in late.stderr
    chosen = run(code, TF_ENABLE_ONEDNN_OPTS="0")
    assert chosen.returncode == 0, chosen.stderr


def test_code_is_ruff_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:]


def test_notebook_cells_are_the_generators():
    """AlexNet.ipynb is written by scripts/make_notebook.py: an edit to one without the
    other (then a re-execution) would leave the committed notebook stale."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("make_notebook",
                                                  ROOT / "scripts" / "make_notebook.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    cells = json.loads((ROOT / "AlexNet.ipynb").read_text())["cells"]
    committed = [("md" if c["cell_type"] == "markdown" else "code", "".join(c["source"]))
                 for c in cells]
    assert committed == [(kind, text.strip("\n")) for kind, text in generator.CELLS], (
        "run python scripts/make_notebook.py, then re-execute the notebook (README)")
