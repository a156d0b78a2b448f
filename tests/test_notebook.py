"""The committed AlexNet.ipynb as users open it (nbval re-executes it tiny in CI): its cells
are the generator's; its network cell is the package's ``bn``; it walks the command line's
core steps with the same Keras objects; it stands on the core alone and runs as a plain
script; its outputs are small, quiet and bilingual."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import math
import os
import re
import subprocess
import sys

import keras
import nbformat
import numpy as np
import pytest

from alexnet import training
from alexnet.harness import callbacks, train
from alexnet.models.alexnet import MEAN, STD, build
from alexnet.recipes import from_recipe
from conftest import PROJECT

NOTEBOOK = PROJECT / "AlexNet.ipynb"
# What executing the notebook may load of alexnet: 2,258 lines when this was written (the
# TFRecord shards' reader now in the harness), against the 2,000 issue 32 asks; a guard
# against growth meanwhile.
CORE_LINES = 2258


def generator():
    spec = importlib.util.spec_from_file_location(
        "make_notebook", PROJECT / "scripts" / "make_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cells(kind: str) -> list[nbformat.NotebookNode]:
    return [cell for cell in nbformat.read(NOTEBOOK, as_version=4).cells
            if cell.cell_type == kind]


def code() -> str:
    return "\n".join(cell.source for cell in cells("code"))


def cell_with(marker: str) -> str:
    return next(c.source for c in cells("code") if marker in c.source)


def test_the_notebook_is_its_generators():
    made = generator().cells("")
    assert [c.source for c in cells("code")] == [c.source for c in made
                                                 if c.cell_type == "code"], (
        "AlexNet.ipynb differs from scripts/make_notebook.py: regenerate and execute it")
    markdown = [c.source for c in made if c.cell_type == "markdown"]
    assert [c.source for c in cells("markdown")][1:] == markdown[1:]  # the first: the run's


def test_it_imports_the_core_only():
    imported = {node.module for node in ast.walk(ast.parse(code()))
                if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(ast.parse(code()))
                 if isinstance(node, ast.Import) for alias in node.names}
    assert not [name for name in imported if name.startswith("alexnet.harness")]
    assert "%" not in "".join(line[:1] for line in code().splitlines())  # no magics


def notebook_network(num_classes: int, image_size: int, dropout: float, decay: float):
    names = {"keras": keras, "layers": keras.layers, "MEAN": MEAN, "STD": STD}
    source = cell_with("def alexnet_bn(")
    exec(source.split("\n\nif config.variant")[0], names)  # noqa: S102  the notebook's cell
    return names["alexnet_bn"](num_classes, image_size, dropout, decay)


def test_its_network_cell_is_the_packages_bn():
    keras.utils.set_random_seed(3)
    mine = notebook_network(10, 96, 0.25, 5e-5)
    keras.utils.set_random_seed(3)
    package = build("bn", 10, 96, dropout=0.25, weight_decay=5e-5)
    assert [type(layer) for layer in mine.layers] == [type(layer) for layer in package.layers]
    assert [layer.output.shape for layer in mine.layers] == \
        [layer.output.shape for layer in package.layers]
    assert mine.count_params() == package.count_params()
    for a, b in zip(mine.get_weights(), package.get_weights(), strict=True):  # same seed
        np.testing.assert_array_equal(a, b)
    assert [layer.get_config().get("rate") for layer in mine.layers] == \
        [layer.get_config().get("rate") for layer in package.layers]


@pytest.fixture
def tiny_run(tmp_path, tiny_dataset):
    config = from_recipe("quick", data=str(tiny_dataset), image_size=64, batch_size=4,
                         epochs=2, out=str(tmp_path / "run"))
    run = train.start(config)
    train.load_data(run)
    yield run
    run.lock.release()


def unnamed(config):
    """A serialised config without the objects' names (Keras numbers a second optimizer's)."""
    if isinstance(config, dict):
        return {key: unnamed(value) for key, value in config.items() if key != "name"}
    if isinstance(config, list):
        return [unnamed(value) for value in config]
    return config


def test_its_compile_cell_is_the_command_lines(tiny_run):
    net = train.build_model(tiny_run)
    names = {"net": net, "train_data": tiny_run.train_data, "config": tiny_run.config,
             "math": math, "keras": keras, "training": training,
             "plots": type("NoPlots", (), {"schedule": staticmethod(lambda *a: None)})}
    exec(cell_with("net.compile("), names)  # noqa: S102  the notebook's cell
    by_notebook = unnamed(net.get_compile_config())
    train.compile_model(tiny_run)  # the same network, compiled as the command line does
    by_command_line = unnamed(net.get_compile_config())
    by_command_line.pop("jit_compile", None), by_notebook.pop("jit_compile", None)
    assert by_notebook == by_command_line


def test_its_callbacks_are_the_command_lines(tiny_run):
    names = {"run_dir": tiny_run.run_dir, "config": tiny_run.config, "keras": keras,
             "training": training}
    exec(cell_with("keras.callbacks.ModelCheckpoint("), names)  # noqa: S102

    def described(chosen):
        return [(type(c).__name__, getattr(c, "monitor", None), getattr(c, "patience", None),
                 getattr(c, "mode", None)) for c in chosen
                if not isinstance(c, keras.callbacks.CSVLogger)]  # the run writes its own

    assert described(names["callbacks"]) == described(
        callbacks.recipe_callbacks(tiny_run.config, tiny_run.run_dir / "best.keras"))
    assert any(isinstance(c, keras.callbacks.CSVLogger) for c in names["callbacks"])


def core_calls(source: str) -> set[str]:
    """``module.function`` calls of the core's data, training and evaluation steps."""
    steps = {"batches", "augment", "training", "evaluate"}
    return {f"{node.func.value.id}.{node.func.attr}" for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id in steps}


def test_the_notebook_and_the_command_line_walk_the_same_core_steps():
    notebook, command_line = core_calls(code()), core_calls(inspect.getsource(train))
    for step in ("batches.decode", "augment.augmentation", "batches.training",
                 "batches.evaluation", "evaluate.evaluate_split"):
        assert step in notebook and step in command_line
    # compile: the notebook writes it out over the recipe's schedule, the command line
    # calls the core's compile_network (test_its_compile_cell_is_the_command_lines)
    assert "training.learning_rate" in notebook and "training.compile_network" in command_line


@pytest.mark.slow
def test_as_a_script_it_runs_on_the_core_alone(tmp_path, tiny_dataset):
    """``jupyter nbconvert --to script``, then plain ``python``: it runs to the end (no
    worker process re-runs it), loads no harness module and at most CORE_LINES lines."""
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "script",
                    str(NOTEBOOK), "--output-dir", str(tmp_path)], check=True,
                   capture_output=True)
    script = tmp_path / "AlexNet.py"
    script.write_text(script.read_text() + (
        "\nimport sys as _sys\n"
        "print('LOADED', sorted((n, m.__file__) for n, m in _sys.modules.items()"
        " if n.startswith('alexnet') and getattr(m, '__file__', None)))\n"))
    env = {**os.environ, "ALEXNET_NB_DATA": str(tiny_dataset), "MPLBACKEND": "Agg"}
    # the root conftest.py has set the tiny ALEXNET_NB_* settings in os.environ
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = ast.literal_eval(done.stdout.rsplit("LOADED ", 1)[1].strip())
    assert not [name for name, _ in loaded if name.startswith("alexnet.harness")]
    lines = sum(len(open(path).read().splitlines()) for _, path in loaded)
    assert lines <= CORE_LINES, f"{lines} lines of alexnet loaded: {loaded}"


def test_committed_outputs_are_small_quiet_and_bilingual():
    assert NOTEBOOK.stat().st_size < 2 * 2**20
    outputs = [output for cell in cells("code") for output in cell.outputs]
    text = "\n".join(output.get("text", "") for output in outputs
                     if output.output_type == "stream")
    assert "Epoch 1/" in text  # it was executed
    assert not re.search(r"^(WARNING|[IWEF]\d{4} )|tensorflow/core|\x1b\[|\r", text, re.M)
    assert not any(output.output_type == "error" for output in outputs)
    markdown = cells("markdown")
    both = [cell for cell in markdown
            if re.search("[가-힣]", cell.source) and re.search("[A-Za-z]{4}", cell.source)]
    assert len(both) >= 0.8 * len(markdown)
