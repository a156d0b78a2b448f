"""The committed AlexNet.ipynb as users open it (nbval re-executes it tiny in CI): its cells
are the generator's, they walk the command line's training steps in the same order with
the same Keras objects, and its outputs are small, quiet and bilingual."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import math
import re

import keras
import nbformat
import pytest

from alexnet.harness import commands, plots
from alexnet.harness import callbacks as run_callbacks
from alexnet.harness import train
from alexnet.recipes import from_recipe
from conftest import PROJECT

NOTEBOOK = PROJECT / "AlexNet.ipynb"


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
    """The code cells without IPython's magics (``%matplotlib``), as Python."""
    return "\n".join(line for cell in cells("code") for line in cell.source.splitlines()
                     if not line.startswith("%"))


def test_the_notebook_is_its_generators():
    made = generator().cells("")
    assert [c.source for c in cells("code")] == [c.source for c in made
                                                 if c.cell_type == "code"], (
        "AlexNet.ipynb differs from scripts/make_notebook.py: regenerate and execute it")
    markdown = [c.source for c in made if c.cell_type == "markdown"]
    assert [c.source for c in cells("markdown")][1:] == markdown[1:]  # the first: the run's


def test_it_shows_the_model_file_as_it_is():
    source = (PROJECT / "alexnet" / "models" / "alexnet.py").read_text()
    assert any(source in cell.source for cell in cells("markdown"))
    assert "inspect.getsource" not in code() and "NBVAL" not in code()


def step_calls(source: str) -> list[str]:
    """The names of ``train.<step>`` calls, and of the Keras calls the notebook makes in
    their place, in the order the source makes them."""
    stand_ins = {"compile": "compile_model", "fit": "fit"}
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in STEPS:  # train.py's own calls
            found.append((node.lineno, node.col_offset, node.func.id))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if isinstance(node.func.value, ast.Name) and node.func.value.id == "train":
                found.append((node.lineno, node.col_offset, name))
            elif name in stand_ins and isinstance(node.func.value, ast.Name) \
                    and node.func.value.id == "net":
                found.append((node.lineno, node.col_offset, stand_ins[name]))
    return [name for *_, name in sorted(found) if name in STEPS]


STEPS = ("start", "load_data", "build_model", "compile_model", "make_callbacks", "fit",
         "finish")


def test_the_notebook_and_the_command_line_walk_the_same_steps():
    cli = [node.func.attr for node in ast.walk(ast.parse(inspect.getsource(commands.cmd_train)))
           if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
           and isinstance(node.func.value, ast.Name) and node.func.value.id == "train"]
    assert cli == ["train"]  # the command line runs train.train, which walks the steps
    assert step_calls(inspect.getsource(train.train)) == list(STEPS)
    assert step_calls(code()) == list(STEPS)


def namespace_after(cell_marker: str, names: dict) -> dict:
    """Runs the notebook's code cell that contains ``cell_marker`` in ``names``."""
    cell = next(c.source for c in cells("code") if cell_marker in c.source)
    exec(cell, names)  # noqa: S102  the project's own notebook cell
    return names


@pytest.fixture
def tiny_run(tmp_path, tiny_dataset):
    config = from_recipe("quick", data=str(tiny_dataset), image_size=64, batch_size=4,
                         epochs=2, out=str(tmp_path / "run"))
    run = train.start(config)
    train.load_data(run)
    yield run
    run.lock.release()


def test_its_compile_cell_is_compile_model(tiny_run):
    net = train.build_model(tiny_run)
    namespace_after("net.compile(", {"net": net, "inputs": tiny_run.inputs,
                                     "config": tiny_run.config, "math": math, "keras": keras,
                                     "train": train, "PaperSGD": train.PaperSGD,
                                     "plots": plots})
    by_notebook = unnamed(net.get_compile_config())
    train.compile_model(tiny_run)  # the same network, compiled as the command line does
    assert by_notebook == unnamed(net.get_compile_config())


def unnamed(config):
    """A serialised config without the objects' names (Keras numbers a second optimizer's)."""
    if isinstance(config, dict):
        return {key: unnamed(value) for key, value in config.items() if key != "name"}
    if isinstance(config, list):
        return [unnamed(value) for value in config]
    return config


def test_its_callbacks_are_the_recipes(tiny_run):
    train.build_model(tiny_run)
    names = namespace_after("keras.callbacks.ModelCheckpoint(", {
        "run": tiny_run, "config": tiny_run.config, "keras": keras, "train": train})
    mine = [(type(c).__name__, c.monitor, getattr(c, "patience", None), getattr(c, "mode", None))
            for c in names["chosen"]]
    recipe = [(type(c).__name__, c.monitor, getattr(c, "patience", None),
               getattr(c, "mode", None))
              for c in run_callbacks.recipe_callbacks(tiny_run.config,
                                                      tiny_run.run_dir / "best.keras")]
    assert mine == recipe
    assert tiny_run.config.patience < tiny_run.config.epochs or tiny_run.config.epochs <= 2


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
