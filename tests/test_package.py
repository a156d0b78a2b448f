"""The package as a whole: importing alexnet turns on TensorFlow's oneDNN CPU kernels,
unless told otherwise, and warns when it comes too late to do so; the code is ruff clean.
(The committed notebook against its generator: tests/test_notebook.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import setuptools

from conftest import PROJECT as ROOT


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


def test_the_layout_imports_light_where_it_says():
    """The modules the command line reads before parsing (choices, recipes, augmentation
    names, model bounds) load no Keras or TensorFlow, so --help answers at once; nor do
    finding a dataset and listing its splits."""
    code = ("import sys\n"
            "import alexnet.models, alexnet.recipes\n"
            "import alexnet.data.datasets, alexnet.data.splits\n"
            "from alexnet.__main__ import parser\n"
            "parser()\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'keras', 'tensorflow'}))")
    done = run(code)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_every_subpackage_is_installed():
    """A non-editable install (a wheel) holds what setuptools finds with pyproject.toml's
    settings: every folder of alexnet/ with an ``__init__.py``, not the top package alone
    (a fixed ``packages`` list left alexnet.models and the rest out)."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = set(setuptools.find_packages(str(ROOT), **settings["packages"]["find"]))
    on_disk = {".".join(init.parent.relative_to(ROOT).parts)
               for init in (ROOT / "alexnet").rglob("__init__.py")}
    assert found == on_disk and {"alexnet.models", "alexnet.data", "alexnet.training",
                                 "alexnet.report"} < found
