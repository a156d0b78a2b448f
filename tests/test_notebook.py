"""The committed AlexNet.ipynb as users open it (nbval re-executes it tiny in CI): its code is
the generator's, it teaches the Keras steps in its own cells, and its outputs are small and
free of TensorFlow's log lines."""

from __future__ import annotations

import importlib.util
import re

import nbformat

from conftest import PROJECT

NOTEBOOK = PROJECT / "AlexNet.ipynb"


def code_cells() -> list[nbformat.NotebookNode]:
    return [cell for cell in nbformat.read(NOTEBOOK, as_version=4).cells
            if cell.cell_type == "code"]


def test_the_notebook_is_its_generators():
    spec = importlib.util.spec_from_file_location(
        "make_notebook", PROJECT / "scripts" / "make_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    generated = [text for kind, text in module.CELLS if kind == "code"]
    assert [cell.source for cell in code_cells()] == generated, (
        "AlexNet.ipynb differs from scripts/make_notebook.py: regenerate and execute it")


def test_its_cells_build_the_optimizer_and_callbacks_and_call_fit():
    code = "\n".join(cell.source for cell in code_cells())
    for construct in ("PaperSGD(learning_rate=", "BestCheckpoint(",
                      "keras.callbacks.EarlyStopping(", "keras.callbacks.ReduceLROnPlateau(",
                      ".fit(", ".evaluate(", "train.prepare(config", "time.strftime"):
        assert construct in code, construct


def test_committed_outputs_are_small_and_quiet():
    assert NOTEBOOK.stat().st_size < 2 * 2**20
    text = "\n".join(output.get("text", "") for cell in code_cells()
                     for output in cell.outputs if output.output_type == "stream")
    assert "Epoch 1/" in text  # it was executed
    assert not re.search(r"^(WARNING|[IWEF]\d{4} )|tensorflow/core", text, re.M)
