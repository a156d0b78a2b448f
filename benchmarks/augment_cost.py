"""CPU time per training image of the in-memory feed (the ``quick`` recipe's), three ways.

    python benchmarks/augment_cost.py [--images 4096] [--image-size 128] [--repeats 3]

The feed runs on the CPU beside training, so every millisecond it takes per image is
taken from the training step (on two cores, about 25 ms per image at 128 px in float32).
Measured on random squares in memory (``resize_size(image_size)`` px, uint8), batches of
128, each way in a process of its own, the ways taking turns repetition by repetition:

- ``keras_per_image`` (the reference): Keras' ``RandomCrop`` and ``RandomFlip`` on each
  image in turn (its ``RandomCrop`` draws one window per call, so per image), then batched;
- ``keras_flip``: the package's batches and ``RandomCropAndFlip``, then Keras'
  ``RandomFlip`` on each batch (the crop's own mirror, an index running backwards, costs
  next to nothing: this is the price of Keras' flip);
- ``ours``: the package's ``batches.training`` with ``augmentation("basic")``.

Prints, for each, images/s and milliseconds of CPU time (user and system, every thread of
the process) per image, and the ratio of CPU time to the reference's; writes a JSON record
(default: $OUT, else benchmarks/results/). Run it with ``alexnet`` importable.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import common  # benchmarks/common.py: this folder is on the path (the script's or pytest's)

WAYS = ("keras_per_image", "keras_flip", "ours")
BATCH_SIZE = 128


def worker(way: str, images: int, image_size: int, batches: int) -> dict:
    """One way's images/s and CPU ms per image over ``batches`` batches after two."""
    import alexnet  # noqa: F401, I001  first: how TensorFlow loads (alexnet/__init__.py)
    import keras
    import numpy as np
    import tensorflow as tf

    from alexnet.data import augment
    from alexnet.data import batches as feed
    from alexnet.data.splits import Split

    side = augment.resize_size(image_size)
    squares = np.random.default_rng(0).integers(0, 256, (images, side, side, 3), np.uint8)
    labels = np.arange(images, dtype="int32") % 10
    data = feed.Squares(squares, labels, Split([str(i) for i in range(images)], labels,
                                               [str(k) for k in range(10)]))
    exact = {"dtype": "float32"}
    if way == "ours":
        ds = feed.training(data, image_size, BATCH_SIZE,
                           augment.augmentation("basic", image_size, seed=0), seed=0)
    elif way == "keras_flip":
        crop = augment.RandomCropAndFlip(image_size, seed=0, **exact)
        flip = keras.layers.RandomFlip("horizontal", seed=0, **exact)
        ds = feed.training(data, image_size, BATCH_SIZE,
                           keras.layers.Pipeline([crop, flip]), seed=0)
    else:
        crop = keras.layers.RandomCrop(image_size, image_size, seed=0, **exact)
        flip = keras.layers.RandomFlip("horizontal", seed=0, **exact)
        ds = tf.data.Dataset.from_tensor_slices((squares, labels))
        ds = ds.shuffle(images, seed=0).map(lambda x, y: (flip(crop(x)), tf.one_hot(y, 10)))
        ds = ds.batch(BATCH_SIZE).prefetch(tf.data.AUTOTUNE)
    iterator = iter(ds.repeat())
    for _ in range(2):
        next(iterator)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(batches):
        next(iterator)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    count = batches * BATCH_SIZE
    return {"images_per_s": count / seconds, "cpu_ms_per_image": 1e3 * cpu / count}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=4096, help="squares in memory")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=40, help="batches timed per repetition")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="folder for the JSON record")
    parser.add_argument("--name", default="augment_cost.json", help="JSON file name")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.images, args.image_size, args.batches)))
        return
    runs = {way: [] for way in WAYS}
    for repeat in range(args.repeats):
        for way in WAYS:
            done = subprocess.run(
                [sys.executable, __file__, "--worker", way, "--images", str(args.images),
                 "--image-size", str(args.image_size), "--batches", str(args.batches)],
                capture_output=True, text=True, check=True)
            runs[way].append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"  round {repeat + 1}/{args.repeats}: " + ", ".join(
            f"{way} {runs[way][-1]['cpu_ms_per_image']:.3f} ms" for way in WAYS), flush=True)
    medians = {way: {key: statistics.median(run[key] for run in runs[way])
                     for key in ("images_per_s", "cpu_ms_per_image")} for way in WAYS}
    reference = medians[WAYS[0]]["cpu_ms_per_image"]
    print(f"{os.cpu_count()} CPU cores, {args.image_size} px, batches of {BATCH_SIZE}; "
          "medians of the repetitions")
    for way in WAYS:
        m = medians[way]
        print(f"  {way:16s} {m['images_per_s']:8.0f} images/s  {m['cpu_ms_per_image']:.3f} ms "
              f"CPU per image  {m['cpu_ms_per_image'] / reference:.2f}x the reference's")
    common.write_record({"command": "python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])]),
                         "settings": vars(args) | {"batch_size": BATCH_SIZE},
                         "machine": common.host_info(), "medians": medians, "runs": runs},
                        args.out, args.name)


if __name__ == "__main__":
    main()
