"""Where a Keras-on-TensorFlow training step spends its time, op type by op type.

    TF_NUM_INTEROP_THREADS=1 python benchmarks/profile_step.py --variant bn --batch-size 64

Trains a few steps on random data under TensorFlow's profiler and sums the duration of
each op type (and of the slowest single ops) over ``--steps`` profiled steps, as
milliseconds per step. With one inter-op thread, ops run one after another and the
figures add up to the step; with more, overlapping ops each count their whole time.
Code that XLA compiles (``--jit-compile``) runs outside these ops and is not listed.
Run it with ``alexnet`` importable (``pip install -e .``, or ``PYTHONPATH=<project root>``).
"""

from __future__ import annotations

import argparse
import collections
import os
import tempfile
from pathlib import Path

import common  # benchmarks/common.py: this folder is on the path (the script's or pytest's)

# Keras and TensorFlow are imported in main, after the arguments are parsed, so that
# --help answers at once.


def op_times(logdir: Path, steps: int) -> tuple[collections.Counter, collections.Counter]:
    """(ms per step by op type, ms per step by op name) from the profiler's XSpace file."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2  # TensorFlow's own protobuf

    by_type, by_name = collections.Counter(), collections.Counter()
    for path in logdir.rglob("*.xplane.pb"):
        space = xplane_pb2.XSpace.FromString(path.read_bytes())
        for plane in space.planes:
            names = {key: meta.name for key, meta in plane.event_metadata.items()}
            for line in plane.lines:
                if not line.name.startswith("tf_Compute"):  # the executor's op events
                    continue
                for event in line.events:
                    name = names.get(event.metadata_id, "?")
                    if ":" not in name or "::" in name:  # executor bookkeeping, not an op
                        continue
                    ms = event.duration_ps / 1e9 / steps
                    by_type[name.rsplit(":", 1)[1]] += ms
                    by_name[name.rsplit(":", 1)[0].split("/", 1)[-1]] += ms
    return by_type, by_name


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", choices=common.VARIANTS, default="bn")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, help="default: the variant's")
    parser.add_argument("--steps", type=int, default=2, help="profiled steps")
    parser.add_argument("--top", type=int, default=15, help="slowest single ops to list")
    args = parser.parse_args(argv)
    import alexnet  # noqa: F401, I001  first: how TensorFlow loads (alexnet/__init__.py)
    import keras
    import tensorflow as tf
    import numpy as np

    from alexnet.models.alexnet import build
    from alexnet.recipes import TrainConfig
    from alexnet.training import compile_network

    config = TrainConfig(variant=args.variant, image_size=args.image_size)
    net = compile_network(build(args.variant, 1000, config.image_size), config, 1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch_size, config.image_size, config.image_size, 3),
                            dtype=np.float32)
    y = keras.utils.to_categorical(np.arange(args.batch_size) % 1000, 1000)
    batches = tf.data.Dataset.from_tensors((x, y)).repeat()
    net.fit(batches, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)  # compile
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        net.fit(batches, steps_per_epoch=args.steps, epochs=1, verbose=0, shuffle=False)
        tf.profiler.experimental.stop()
        by_type, by_name = op_times(Path(logdir), args.steps)
    total = sum(by_type.values())
    print(f"{args.variant}, {config.image_size} px, batch {args.batch_size}: ops sum to "
          f"{total:.0f} ms per step (inter-op threads: "
          f"{os.environ.get('TF_NUM_INTEROP_THREADS', 'default')})")
    for title, counter, count in (("op type", by_type, len(by_type)),
                                  ("single op", by_name, args.top)):
        print(f"\nms per step by {title}:")
        for name, ms in counter.most_common(count):
            if ms >= 0.001 * total:  # leave out the many tiny ones
                print(f"  {ms:8.1f}  {ms / total:6.1%}  {name}")


if __name__ == "__main__":
    main()
