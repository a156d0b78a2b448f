"""Host cost of MixUp and CutMix batches (augment_layers.MixedBatches), in ms per batch.

    python benchmarks/mixed_batches.py [--batch-size 256] [--image-size 224] [--threads 1,8]

With in-memory data the host mixes each batch while the accelerator trains on the one
before, so what matters is whether mixing keeps up with the training step. Measured on
random uint8 images, all in one run, against a reference: the same MixUp done the plain
way, in float32 on the whole batch at once; against it ``blend`` (16-bit fixed point,
16 images at a time) and CutMix's ``paste_box``. Then whole ``MixedBatches`` batches
(gather, partner, mix, labels) made by 1 and more threads at once, as its workers do,
against one thread. Repetitions alternate between the candidates, so a busy machine slows
them alike; medians over ``--repeats``. Prints ms per batch and the speed ratio to each
part's reference; a JSON file goes to ``--out`` (default: $OUT, else benchmarks/results/).
Run it with ``alexnet`` importable (``pip install -e .``, or ``PYTHONPATH=<project root>``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

# TensorFlow's C++ log lines: quiet unless the user set a level.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def sibling(name: str):
    """benchmarks/<name>.py, loaded by path: benchmarks/ holds scripts, not a package."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    spec.loader.exec_module(module := importlib.util.module_from_spec(spec))
    return module


# alexnet.augment_layers imports Keras, and with it TensorFlow: imported in main, after the
# arguments are parsed, so that --help answers at once.
common = sibling("common")
RESULTS_DIR = common.RESULTS_DIR


def plain_mixup(images: np.ndarray, partner: np.ndarray, lam: float) -> np.ndarray:
    """The reference: ``lam * a + (1 - lam) * b`` in float32 over the whole batch."""
    mixed = lam * images.astype(np.float32) + (1 - lam) * partner.astype(np.float32)
    return np.rint(mixed).astype(np.uint8)


def seconds(function, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def threaded(dataset, threads: int, batches: int) -> float:
    """Seconds per batch when ``threads`` threads make ``batches`` batches together."""
    with ThreadPoolExecutor(threads) as pool:
        start = time.perf_counter()
        list(pool.map(dataset.__getitem__, [i % len(dataset) for i in range(batches)]))
        return (time.perf_counter() - start) / batches


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=2048, help="images held in memory")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--threads", default=f"1,{min(8, os.cpu_count() or 1)}",
                        help="comma-separated thread counts for whole batches (1 is always in)")
    parser.add_argument("--calls", type=int, default=4, help="batches per timing")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or RESULTS_DIR))
    args = parser.parse_args(argv)
    with common.quiet_tensorflow_load():
        from alexnet.augment_layers import MixedBatches, blend, paste_box

    rng = np.random.default_rng(0)
    shape = (args.images, args.image_size, args.image_size, 3)
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    one_hot = np.eye(10, dtype=np.float32)[rng.integers(0, 10, args.images)]
    batch, partner = images[:args.batch_size], images[args.batch_size:2 * args.batch_size]
    if len(partner) < len(batch):
        raise SystemExit(f"--images {args.images}: need at least 2 x --batch-size")
    datasets = {kind: MixedBatches(images, one_hot, args.batch_size, seed=0, workers=1,
                                   **{kind: alpha})
                for kind, alpha in (("mixup", 0.2), ("cutmix", 1.0))}
    candidates = {
        "plain float32 MixUp (reference)": lambda: seconds(
            lambda: plain_mixup(batch, partner, 0.3), args.calls),
        "blend (16-bit fixed point)": lambda: seconds(
            lambda: blend(batch, partner, 77), args.calls),
        "paste_box (CutMix)": lambda: seconds(
            lambda: paste_box(batch, partner, 0.7, rng), args.calls),
    }
    for kind, dataset in datasets.items():
        for threads in sorted({1, *(int(t) for t in args.threads.split(","))}):
            candidates[f"MixedBatches {kind}, {threads} thread(s)"] = (
                lambda d=dataset, t=threads: threaded(d, t, args.calls * t))
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(args.repeats):
        for name, measure in candidates.items():
            times[name].append(measure())

    print(f"{args.batch_size} images of {args.image_size} px per batch; medians of "
          f"{args.repeats} repeats, {os.cpu_count()} cores")
    results, reference = {}, None
    for name, values in times.items():
        median = statistics.median(values)
        if reference is None or name.endswith(", 1 thread(s)"):
            reference = median  # each part's first row
            print(f"{'':<40} {'ms per batch':>12}  against {name}")
        results[name] = {"ms_per_batch": 1000 * median, "ratio": reference / median}
        print(f"{name:<40} {1000 * median:12.1f}  {reference / median:5.2f}x")
    record = {"machine": {"platform": platform.platform(), "processor": platform.processor(),
                          "cpu_count": os.cpu_count(), "numpy": np.__version__,
                          "load_average": os.getloadavg()},
              "settings": vars(args) | {"out": str(args.out)}, "results": results}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"mixed-batches-{args.batch_size}x{args.image_size}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
