"""benchmarks/time_to_accuracy.py on finished run folders: the curve of (minutes, top-1)
per epoch, and the estimate before training held against the real minutes. No timing
assertions: the folders are written here."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from conftest import PROJECT

SCRIPT = PROJECT / "benchmarks" / "time_to_accuracy.py"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(SCRIPT.parent))  # it imports benchmarks/common.py
    spec = importlib.util.spec_from_file_location("time_to_accuracy", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(SCRIPT.parent))


def run_folder(folder, estimate=None):
    folder.mkdir()
    config = {"recipe": "quick", "seed": 1, "image_size": 128, "machine": "a CPU"}
    if estimate:
        config["estimate"] = {"epoch_seconds": estimate}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "history.csv").write_text("epoch,epoch_seconds,val_accuracy\n"
                                        "0,60,0.5\n1,90,0.7\n")
    return folder


def test_curves_and_the_estimate_against_real_minutes(bench, tmp_path, capsys):
    record = bench.curve(run_folder(tmp_path / "timed", estimate=60.0))
    assert record["minutes"] == [1.0, 2.5] and record["val_top1"] == [0.5, 0.7]
    assert record["estimated_minutes"] == 2.0  # two epochs of 60 s expected
    assert bench.curve(run_folder(tmp_path / "untimed"))["estimated_minutes"] is None

    bench.main(["--runs", str(tmp_path / "timed"), "--out", str(tmp_path / "out")])
    assert "70.0% top-1 after 2.5 min (2 epochs); estimated 2.0 min (-20%)" in (
        capsys.readouterr().out)
    assert json.loads((tmp_path / "out" / "timed.json").read_text())["estimated_minutes"] == 2.0
    assert (tmp_path / "out" / "time_to_accuracy.png").is_file()
