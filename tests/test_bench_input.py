"""The input-pipeline benchmark runs end to end (tiny counts) and prints its ratios."""

from __future__ import annotations

import importlib.util
import re
import sys

from conftest import IMAGENET_SAMPLES, PROJECT, skip_without


def test_benchmark_prints_rates_and_ratios(capsys, monkeypatch):
    skip_without(IMAGENET_SAMPLES, "ImageNet samples")  # the benchmark reads the real ones
    spec = importlib.util.spec_from_file_location(
        "input_pipeline", PROJECT / "benchmarks" / "input_pipeline.py")
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "input_pipeline", bench)  # the pool pickles by name
    spec.loader.exec_module(bench)
    bench.main(["--images", "16", "--batch-size", "8", "--image-size", "96", "--samples", "12",
                "--train-steps", "0"])
    out = capsys.readouterr().out
    rates = dict(re.findall(r"^(\S.*?)\s+([\d.]+) images/s", out, re.MULTILINE))
    assert len(rates) == 5 and all(float(rate) > 0 for rate in rates.values())
    assert "1.00x reference" in out and len(re.findall(r"x reference", out)) == 5
    assert any(name.startswith("tf.data shards") for name in rates)
