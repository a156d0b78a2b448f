"""The MixUp/CutMix benchmark runs end to end (tiny sizes) and prints its ratios; its host
reference mixes as the Keras path does."""

from __future__ import annotations

import importlib.util
import json
import re

import numpy as np
import pytest

from conftest import PROJECT


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "mixed_batches", PROJECT / "benchmarks" / "mixed_batches.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_prints_times_and_ratios(bench, tmp_path, capsys):
    path = bench.main(["--images", "8", "--batch-size", "4", "--image-size", "24",
                       "--calls", "1", "--repeats", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    rows = dict(re.findall(r"^(\S.*?)\s+([\d.]+)\s+[\d.]+x$", out, re.MULTILINE))
    assert set(rows) == {"mixup, host NumPy (reference)", "mixup, Keras layer",
                         "cutmix, host NumPy (reference)", "cutmix, Keras layer"}
    assert len(re.findall(r" 1\.00x$", out, re.MULTILINE)) >= 2  # each kind's reference
    results = json.loads(path.read_text())["results"]
    assert set(results) == set(rows)
    assert all(r["ms_per_batch"] > 0 and r["ratio"] > 0 for r in results.values())
    assert results["cutmix, host NumPy (reference)"]["ratio"] == 1.0


def test_host_reference_mixes_images_and_labels_alike(bench):
    """The reference is a real MixUp/CutMix: each label weight is its image's share."""
    rng = np.random.default_rng(1)
    images = np.broadcast_to((np.arange(6) * 40).astype("uint8")[:, None, None, None],
                             (6, 10, 10, 3))
    one_hot = np.eye(6, dtype="float32")
    for kind in ("mixup", "cutmix"):
        x, y = bench.host_batch(images, one_hot, np.arange(6), kind, rng)
        np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-6)
        for pixels, weights in zip(x, y, strict=True):
            classes = np.flatnonzero(weights)
            if kind == "mixup":
                assert abs(pixels.mean() - 40 * classes @ weights[classes]) <= 0.5
            else:
                for k in classes:
                    assert np.mean(pixels == 40 * k) == pytest.approx(weights[k])
