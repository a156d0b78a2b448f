"""The MixUp/CutMix benchmark runs end to end (tiny sizes) and prints its ratios."""

from __future__ import annotations

import importlib.util
import json
import re

import numpy as np
import pytest

from alexnet.augment_layers import blend
from conftest import PROJECT


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "mixed_batches", PROJECT / "benchmarks" / "mixed_batches.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_prints_times_and_ratios(bench, tmp_path, capsys):
    path = bench.main(["--images", "16", "--batch-size", "4", "--image-size", "24",
                       "--threads", "2", "--calls", "1", "--repeats", "1",
                       "--out", str(tmp_path)])
    out = capsys.readouterr().out
    rows = dict(re.findall(r"^(\S.*?)\s+([\d.]+)\s+[\d.]+x$", out, re.MULTILINE))
    assert len(rows) == 7  # 3 mixing functions, 2 kinds x (1 and 2 threads)
    assert "MixedBatches mixup, 1 thread(s)" in rows and "MixedBatches cutmix, 2 thread(s)" in rows
    assert len(re.findall(r" 1\.00x$", out, re.MULTILINE)) >= 3  # each part's reference
    results = json.loads(path.read_text())["results"]
    assert set(results) == set(rows)
    assert all(r["ms_per_batch"] > 0 and r["ratio"] > 0 for r in results.values())
    assert results["plain float32 MixUp (reference)"]["ratio"] == 1.0


def test_blend_and_the_reference_mix_alike(bench):
    rng = np.random.default_rng(1)
    a, b = (rng.integers(0, 256, (20, 5, 5, 3), dtype=np.uint8) for _ in range(2))
    for weight in (0, 1, 77, 128, 255, 256):
        fixed = blend(a, b, weight).astype(int)
        plain = bench.plain_mixup(a, b, weight / 256).astype(int)
        assert np.abs(fixed - plain).max() <= 1  # the same MixUp, to rounding
