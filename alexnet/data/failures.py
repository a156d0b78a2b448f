"""A failed read in the input pipeline: a broken image skipped and named with its true
reason (``decoded``), a TensorFlow op error in one line of its own words, a damaged
TFRecord shard named with how to mend it."""

from __future__ import annotations

import errno
import re
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from alexnet.data import files
from alexnet.data.splits import Split


def decoded(ds: tf.data.Dataset, fn, split: Split, deterministic: bool) -> tf.data.Dataset:
    """``(fn(bytes), label)`` for each ``(bytes, label, file)``, in parallel. Where ``fn``
    fails, Pillow decodes the file to tell why: a file that really is broken is dropped,
    named on stderr with its reason and added to ``split.skipped`` (an epoch never stops
    for one); a file Pillow reads whole means the failure was TensorFlow's (memory, most
    likely), and the run stops naming it."""
    def one(contents, label, name):
        good = tf.data.Dataset.from_tensors((contents, label)).map(
            lambda x, y: (fn(x), y, True, name)).ignore_errors()
        spec = good.element_spec[0]
        empty = tf.zeros([d or 0 for d in spec.shape], spec.dtype)
        bad = tf.data.Dataset.from_tensors((empty, label, False, name))
        return good.concatenate(bad).take(1)

    def report(name: tf.Tensor, contents: tf.Tensor) -> bool:
        file = name.numpy().decode()
        # Pillow reads past some corrupt JPEG data with a warning where TensorFlow refuses
        # it: a whole decode by TensorFlow that fails on the data says broken too
        reason = files.decode_problem(contents.numpy()) or data_problem(contents)
        if reason is None:
            raise RuntimeError(f"{file}: a valid image that TensorFlow failed to decode and "
                               "crop (out of memory? try a smaller --image-size or "
                               "--batch-size)")
        if file not in {f for f, _ in split.skipped}:
            split.skipped.append((file, reason))
            print(f"warning: {file}: {reason}; skipped", file=sys.stderr)
        return False

    def keep(image, label, ok, name, contents):
        return tf.cond(ok, lambda: True, lambda: tf.py_function(report, [name, contents], tf.bool))

    def with_bytes(contents, label, name):
        return one(contents, label, name).map(lambda i, y, ok, n: (i, y, ok, n, contents))

    ds = ds.interleave(with_bytes, cycle_length=tf.data.AUTOTUNE,
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    return ds.filter(keep).map(lambda image, label, ok, name, contents: (image, label))


def data_problem(contents: tf.Tensor) -> str | None:
    """Why TensorFlow cannot decode an encoded image whole (its data is invalid), or None
    when it can; a failure of another kind (memory) is not the file's and raises."""
    try:
        tf.io.decode_image(contents, channels=3, expand_animations=False)
    except tf.errors.InvalidArgumentError as error:
        return f"not decodable ({op_message(error)})"
    return None


def op_message(error: Exception) -> str:
    """A TensorFlow op error in one line, its own words without the graph's around them:
    the message of a Python error raised inside the pipeline (``report``), else the line
    that says what went wrong (``truncated record at 5222 ...``), without node names."""
    text = getattr(error, "message", str(error))
    raised = re.findall(r"^\w+(?:Error|Exception): (.+)$", text, re.MULTILINE)
    if raised:
        return raised[-1].strip()
    said = [line for line in text.splitlines() if line.strip() and not line[0].isspace()
            and not line.startswith(("Graph execution error", "Detected at node",
                                     "<stack traces", "Traceback"))]
    line = said[-1] if said else text.strip()
    line = re.sub(r"\{\{[^}]*\}\}\s*", "", line)  # {{function_node ...}}
    return re.sub(r"\s*(\[\[.*\]\]|\[Op:[^\]]*\]).*$", "", line).strip() or text.strip()


def damaged_shards(split: Split) -> list[str]:
    """The TFRecord shards of ``split`` that do not read to their end (truncated or
    corrupt records); none for a split of image files."""
    damaged = []
    for shard in split.files if split.records is not None else []:
        try:
            tf.data.TFRecordDataset(shard).reduce(np.int64(0), lambda count, _: count + 1)
        except tf.errors.DataLossError:
            damaged.append(shard)
    return damaged


def shard_error(error: Exception, *splits: Split | None) -> OSError:
    """The one line for a ``DataLossError`` met reading ``splits``: the damaged shards
    by name, and how to mend them."""
    splits = [split for split in splits if split is not None and split.records is not None]
    damaged = [shard for split in splits for shard in damaged_shards(split)]
    if not damaged:  # it reads whole now (the disk, the network)
        folders = sorted({str(Path(shard).parent) for split in splits for shard in split.files})
        return OSError(errno.EIO, f"{', '.join(folders) or 'shards'}: a shard could not be "
                                  f"read ({op_message(error)})")
    return OSError(errno.EIO, f"{', '.join(damaged)}: damaged TFRecord shard "
                              f"({op_message(error)}); delete it and run prepare SRC DEST "
                              "again, which rewrites missing shards")
