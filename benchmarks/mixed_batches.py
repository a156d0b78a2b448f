"""MixUp and CutMix batches: Keras' layers on the device against the host NumPy path they
replaced, in ms per batch.

    python benchmarks/mixed_batches.py [--batch-size 256] [--image-size 224] [--repeats 5]

With in-memory data (``--in-memory``) each training batch is mixed before the model's
``Augment`` layer crops it. ``inputs.ArrayBatches`` mixes with ``keras.layers.MixUp`` and
``CutMix``, which run where Keras puts tensors (the GPU on a GPU machine, the CPU here).
The reference is the host path it replaced (``augment_layers.MixedBatches`` until
2026-12-02, copied below): NumPy, MixUp in 16-bit fixed point 16 images at a time, CutMix
as a pasted box. Both make whole batches (gather, partner, mix, labels) of random uint8
images, each in a process of its own, one after the other repetition by repetition, so a
busy machine slows them alike; medians over ``--repeats``. Prints ms per batch and the
speed ratio to the reference; a JSON file goes to ``--out`` (default: $OUT, else
benchmarks/results/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PATHS = ("host", "keras")
KINDS = {"mixup": 0.2, "cutmix": 1.0}


# The reference: the host path as it was (gather, partner, mix, labels).

def host_blend(images: np.ndarray, partner: np.ndarray, weight: int) -> np.ndarray:
    out = np.empty_like(images)
    for i in range(0, len(images), 16):
        mixed = images[i:i + 16].astype(np.uint16) * weight
        mixed += partner[i:i + 16].astype(np.uint16) * (256 - weight) + 128
        out[i:i + 16] = mixed >> 8
    return out


def host_batch(images, one_hot, rows, kind: str, rng) -> tuple[np.ndarray, np.ndarray]:
    x, y = images[rows], one_hot[rows]
    partner_x, partner_y = np.roll(x, 1, axis=0), np.roll(y, 1, axis=0)
    lam = rng.beta(KINDS[kind], KINDS[kind])
    if kind == "mixup":
        weight = round(lam * 256)
        return host_blend(x, partner_x, weight), weight / 256 * y + (1 - weight / 256) * partner_y
    height, width = x.shape[1:3]
    cut_h, cut_w = round(height * np.sqrt(1 - lam)), round(width * np.sqrt(1 - lam))
    cy, cx = rng.integers(height), rng.integers(width)
    top, bottom = np.clip([cy - cut_h // 2, cy + cut_h - cut_h // 2], 0, height)
    left, right = np.clip([cx - cut_w // 2, cx + cut_w - cut_w // 2], 0, width)
    x = x.copy()
    x[:, top:bottom, left:right] = partner_x[:, top:bottom, left:right]
    kept = 1 - (bottom - top) * (right - left) / (height * width)
    return x, kept * y + (1 - kept) * partner_y


def worker(path: str, kind: str, images: int, batch_size: int, image_size: int,
           calls: int) -> float:
    """Seconds per batch of ``path`` (after one warm-up batch), in this process."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (images, image_size, image_size, 3), dtype=np.uint8)
    one_hot = np.eye(10, dtype=np.float32)[rng.integers(0, 10, images)]
    if path == "host":
        def batch(i):
            rows = np.sort(rng.permutation(images)[:batch_size])
            return host_batch(pixels, one_hot, rows, kind, rng)
    else:
        from alexnet.data.ondevice import ArrayBatches  # Keras: loaded only in this worker

        dataset = ArrayBatches(pixels, one_hot, batch_size, shuffle=True, seed=0,
                               **{kind: KINDS[kind]})

        def batch(i):
            x, y = dataset[i % len(dataset)]
            return np.asarray(x), np.asarray(y)  # the results exist, wherever they were made
    batch(0)
    start = time.perf_counter()
    for i in range(calls):
        batch(i + 1)
    return (time.perf_counter() - start) / calls


def main(argv: list[str] | None = None) -> Path | None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=1024, help="images held in memory")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--calls", type=int, default=4, help="batches per timing")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or RESULTS_DIR))
    parser.add_argument("--worker", nargs=2, metavar=("PATH", "KIND"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = (args.images, args.batch_size, args.image_size, args.calls)
    if args.worker:
        print(json.dumps(worker(*args.worker, *sizes)))
        return None
    if args.images < args.batch_size:
        raise SystemExit(f"--images {args.images}: need at least --batch-size")
    times = {(path, kind): [] for kind in KINDS for path in PATHS}
    command = [sys.executable, __file__, "--images", str(args.images), "--batch-size",
               str(args.batch_size), "--image-size", str(args.image_size), "--calls",
               str(args.calls)]
    for _ in range(args.repeats):
        for path, kind in times:
            out = subprocess.run([*command, "--worker", path, kind], capture_output=True,
                                 text=True, check=True).stdout
            times[path, kind].append(json.loads(out.splitlines()[-1]))

    print(f"{args.batch_size} images of {args.image_size} px per batch; medians of "
          f"{args.repeats} repeats, each path in a process of its own, {os.cpu_count()} cores")
    print(f"{'':<34} {'ms per batch':>12}  speed against the host path")
    results = {}
    for kind in KINDS:
        reference = statistics.median(times["host", kind])
        for path in PATHS:
            median = statistics.median(times[path, kind])
            name = f"{kind}, {'host NumPy (reference)' if path == 'host' else 'Keras layer'}"
            results[name] = {"ms_per_batch": 1000 * median, "ratio": reference / median,
                             "repeats_ms": [1000 * t for t in times[path, kind]]}
            print(f"{name:<34} {1000 * median:12.1f}  {reference / median:5.2f}x")
    record = {"machine": {"platform": platform.platform(), "processor": platform.processor(),
                          "cpu_count": os.cpu_count(), "load_average": os.getloadavg()},
              "settings": {k: v for k, v in vars(args).items() if k not in ("out", "worker")},
              "results": results}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"mixed-batches-{args.batch_size}x{args.image_size}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
