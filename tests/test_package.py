"""The package as a whole: importing alexnet turns on TensorFlow's oneDNN CPU kernels,
unless told otherwise; the core never imports the harness; the code is ruff clean.
(The committed notebook against its generator: tests/test_notebook.py.)"""

from __future__ import annotations

import ast
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


def test_code_is_ruff_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:]


def test_importing_the_package_loads_tensorflow_once_and_quietly():
    """``import alexnet`` loads TensorFlow itself (alexnet/__init__.py), with its load-time
    C++ log lines held back: the one thing importing the package does."""
    code = ("import sys\nimport alexnet.recipes\n"
            "print('tensorflow' in sys.modules)")
    done = run(code)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True"
    assert "oneDNN custom operations" not in done.stderr and "cuda drivers" not in done.stderr


def test_every_subpackage_is_installed():
    """A non-editable install (a wheel) holds what setuptools finds with pyproject.toml's
    settings: every folder of alexnet/ with an ``__init__.py``, not the top package alone
    (a fixed ``packages`` list left alexnet.models and the rest out)."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = set(setuptools.find_packages(str(ROOT), **settings["packages"]["find"]))
    on_disk = {".".join(init.parent.relative_to(ROOT).parts)
               for init in (ROOT / "alexnet").rglob("__init__.py")}
    assert found == on_disk and {"alexnet.models", "alexnet.data", "alexnet.harness",
                                 "alexnet.harness.report"} < found


def imported_modules(path) -> set[str]:
    """Every module a source file imports (at its top or inside functions), absolute."""
    tree = ast.parse(path.read_text(), str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's package upwards
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return names


def test_the_core_never_imports_the_harness():
    """DESIGN.md's arrow: notebook -> core, cli -> harness -> core. No module of the core
    (alexnet/ outside alexnet/harness/ and the command line's __main__.py) imports
    alexnet.harness; alexnet/data imports nothing of the training or run-folder side."""
    core = [path for path in sorted((ROOT / "alexnet").rglob("*.py"))
            if "harness" not in path.relative_to(ROOT).parts and path.name != "__main__.py"]
    assert core and any(path.parent.name == "data" for path in core)
    offending = {str(path.relative_to(ROOT)): sorted(name for name in imported_modules(path)
                                                    if name.startswith("alexnet.harness"))
                 for path in core}
    assert not {path: names for path, names in offending.items() if names}
    data_side = {str(path.relative_to(ROOT)): sorted(
        name for name in imported_modules(path)
        if name.startswith(("alexnet.harness", "alexnet.training", "alexnet.recipes",
                            "alexnet.runs")))
        for path in core if path.parent.name == "data"}
    assert not {path: names for path, names in data_side.items() if names}
    # the scan sees imports: the harness's own files do import the core
    assert "alexnet.data.batches" in imported_modules(ROOT / "alexnet/harness/train.py")
