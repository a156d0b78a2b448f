"""Input-pipeline throughput: decode + training augmentation + batching, in images/s.

    python benchmarks/input_pipeline.py [--images 1500] [--workers 2]

Measured on the full-size JPEGs of ``../shared/datasets/imagenet-samples``
(repeated), all in one run, against a reference: PIL decode, random-resized crop,
flip and conversion to a float array in a ``multiprocessing`` pool, batches
collated in the workers (what a torchvision DataLoader does). Then the tf.data
pipelines, from raw JPEG files and from ``prepare``'s shards (made here in a
temporary folder), and what one training step of AlexNet consumes. Prints each
rate and its ratio to the reference. The reference runs first, before TensorFlow
is imported, so its forked workers are plain Python processes. Run it with ``alexnet``
importable (``pip install -e .``, or ``PYTHONPATH=<project root>``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "imagenet-samples"





def reference_batch(job: tuple[list[str], int, int]) -> np.ndarray:
    """One batch as torchvision would make it: RandomResizedCrop (scale 0.08-1, ratio
    3/4-4/3), RandomHorizontalFlip, ToTensor (float32 in 0-1), then collate."""
    files, size, seed = job
    rng = np.random.default_rng(seed)
    out = np.empty((len(files), size, size, 3), np.float32)
    for i, file in enumerate(files):
        image = Image.open(file).convert("RGB")
        width, height = image.size
        box = (0, 0, width, height)
        for _ in range(10):
            area = width * height * rng.uniform(0.08, 1.0)
            aspect = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
            w, h = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
            if 0 < w <= width and 0 < h <= height:
                x, y = rng.integers(0, width - w + 1), rng.integers(0, height - h + 1)
                box = (x, y, x + w, y + h)
                break
        image = image.resize((size, size), Image.Resampling.BILINEAR, box=box)
        if rng.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        out[i] = np.asarray(image, np.float32) / 255
    return out


def measure(batches, count: int) -> float:
    """Images per second over ``count`` images after one warm-up batch."""
    iterator = iter(batches)
    next(iterator)
    seen, start = 0, time.perf_counter()
    while seen < count:
        seen += len(next(iterator))
    return seen / (time.perf_counter() - start)


def reference(files: list[str], count: int, batch_size: int, size: int, workers: int) -> float:
    jobs = [([files[(i * batch_size + k) % len(files)] for k in range(batch_size)], size, i)
            for i in range(count // batch_size + 3)]
    with get_context("fork").Pool(workers) as pool:
        batches = pool.imap(reference_batch, jobs)
        rate = measure(batches, count)
        for _ in batches:  # finish the queued jobs: terminating a pool with work left can hang
            pass
    return rate


def tf_rate(split, count: int, batch_size: int, size: int, augmentation: str) -> float:
    from alexnet.data import augment, batches

    ds = batches.training(split, size, batch_size,
                          augment.augmentation(augmentation, size, seed=0), seed=0)
    return measure((images for images, _ in ds.repeat()), count)


def training_rate(variant: str, size: int, batch_size: int, steps: int) -> float:
    """Images per second one SGD step of the model takes (random data, 1000 classes)."""
    import keras

    from alexnet.models.alexnet import build
    from alexnet.recipes import TrainConfig
    from alexnet.training import compile_network

    net = compile_network(build(variant, 1000, size), TrainConfig(variant=variant), 1)
    images = np.random.default_rng(0).normal(size=(batch_size, size, size, 3)).astype("float32")
    labels = keras.utils.to_categorical(np.arange(batch_size) % 1000, 1000)
    net.train_on_batch(images, labels)
    start = time.perf_counter()
    for _ in range(steps):
        net.train_on_batch(images, labels)
    return steps * batch_size / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=1500, help="images timed per pipeline")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--workers", type=int, default=2, help="reference pool processes")
    parser.add_argument("--variant", default="bn", help="model for the training-step rate")
    parser.add_argument("--train-steps", type=int, default=3, help="0 skips the model")
    parser.add_argument("--samples", type=int, help="use the first N sample JPEGs (default all)")
    args = parser.parse_args(argv)
    files = sorted(str(p) for p in SAMPLES.glob("*.JPEG"))[:args.samples]
    if not files:
        sys.exit(f"error: no JPEGs in {SAMPLES}")
    sizes = [Image.open(f).size for f in files]
    print(f"{len(files)} ImageNet JPEGs (median {int(np.median([w for w, _ in sizes]))}x"
          f"{int(np.median([h for _, h in sizes]))}), repeated; {args.images} images timed per "
          f"line; batch {args.batch_size}, {args.image_size} px; {os.cpu_count()} CPU cores")
    rates = {f"reference: PIL + RRC + flip, {args.workers}-process pool":
             reference(files, args.images, args.batch_size, args.image_size, args.workers)}

    from alexnet.data.splits import Split
    from alexnet.harness import shards

    repeats = -(-args.images * 2 // len(files)) + 1
    raw = Split(files * repeats, np.zeros(len(files) * repeats, "int32"), ["x"])
    for augmentation in ("rrc", "paper"):
        rates[f"tf.data raw JPEGs, {augmentation}"] = tf_rate(
            raw, args.images, args.batch_size, args.image_size, augmentation)
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "raw" / "train"
        for file in files:
            (tree / Path(file).name.split("_")[0]).mkdir(parents=True, exist_ok=True)
            os.symlink(file, tree / Path(file).name.split("_")[0] / Path(file).name)
        with open(os.devnull, "w") as quiet:  # prepare's progress bar
            stdout, sys.stdout = sys.stdout, quiet
            try:
                shards.prepare(tree.parent, Path(tmp) / "shards", shard_size=64)
            finally:
                sys.stdout = stdout
        sharded = shards.open_dataset(Path(tmp) / "shards").folder("train")
        sharded.files, sharded.records = sharded.files * repeats, len(files) * repeats
        for augmentation in ("rrc", "paper"):
            rates[f"tf.data shards (shorter side 256), {augmentation}"] = tf_rate(
                sharded, args.images, args.batch_size, args.image_size, augmentation)
    base = next(iter(rates.values()))
    for name, rate in rates.items():
        print(f"{name:48s} {rate:8.1f} images/s  {rate / base:5.2f}x reference")
    if args.train_steps:
        step = training_rate(args.variant, args.image_size, args.batch_size, args.train_steps)
        print(f"{'training step, AlexNet ' + args.variant:48s} {step:8.1f} images/s")
        for name, rate in list(rates.items())[1:]:
            print(f"  {name:46s} feeds {rate / step:5.1f}x what training consumes")


if __name__ == "__main__":
    main()
