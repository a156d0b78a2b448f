"""The augmentation-cost benchmark runs end to end (tiny counts) and writes its record."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest

from conftest import PROJECT


def bench():
    spec = importlib.util.spec_from_file_location(
        "augment_cost", PROJECT / "benchmarks" / "augment_cost.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("way", ["keras_per_image", "keras_flip", "ours"])
def test_each_way_feeds_and_is_timed(way):
    figures = bench().worker(way, images=256, image_size=64, batches=2)
    assert figures["images_per_s"] > 0 and figures["cpu_ms_per_image"] > 0


@pytest.mark.slow
def test_it_compares_the_ways_each_in_its_process(tmp_path, capsys):
    bench().main(["--images", "256", "--image-size", "64", "--batches", "2", "--repeats", "1",
                  "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "1.00x the reference's" in out
    assert len(re.findall(r"ms CPU per image", out)) == 3
    record = json.loads((tmp_path / "augment_cost.json").read_text())
    assert set(record["medians"]) == {"keras_per_image", "keras_flip", "ours"}
