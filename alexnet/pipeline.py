"""tf.data input pipelines: read, decode, augment and batch a ``data.Split``.

A split is raw image files or TFRecord shards (``prepare``); both become encoded
bytes and a label, then one parallel map decodes and transforms them
(augment.py). tf.data feeds every Keras backend.
"""

from __future__ import annotations

import sys
import warnings

import tensorflow as tf

from alexnet import augment
from alexnet.data import Split

SHUFFLE_BUFFER = 4096  # shard records shuffled in memory (JPEGs of some 30 kB at 256 px)

# Evaluation datasets have no known length (an undecodable image is dropped, not
# replaced), and Keras then warns once per fit that validation "ran out of data"
# although every image was seen.
warnings.filterwarnings("ignore", message="Your input ran out of data", category=UserWarning)


def decode(path: tf.Tensor) -> tf.Tensor:
    """Reads a JPEG/PNG/GIF/BMP file as a uint8 RGB image (greyscale, CMYK and RGBA
    converted)."""
    return augment.decode(tf.io.read_file(path))


def _parse(record: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    features = tf.io.parse_single_example(record, {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64),
        "file": tf.io.FixedLenFeature([], tf.string)})
    return features["image"], tf.cast(features["label"], tf.int32), features["file"]


def encoded(split: Split, training: bool, seed: int | None = None) -> tf.data.Dataset:
    """``(encoded image bytes, label, file name)``, shuffled each epoch when training.
    Files are shuffled by name (a small buffer); shards by order and a record buffer."""
    if split.records is None:
        ds = tf.data.Dataset.from_tensor_slices((split.files, split.labels))
        if training:
            ds = ds.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
        return ds.map(lambda f, y: (tf.io.read_file(f), y, f),
                      num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    files = tf.data.Dataset.from_tensor_slices(split.files)
    if training:
        files = files.shuffle(len(split.files), seed=seed, reshuffle_each_iteration=True)
        ds = files.interleave(tf.data.TFRecordDataset, cycle_length=tf.data.AUTOTUNE,
                              num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    else:
        ds = tf.data.TFRecordDataset(files)
    ds = ds.take(len(split))
    if training:
        ds = ds.shuffle(min(SHUFFLE_BUFFER, len(split)), seed=seed,
                        reshuffle_each_iteration=True)
    return ds.map(_parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)


def decoded(ds: tf.data.Dataset, fn, split: Split, deterministic: bool) -> tf.data.Dataset:
    """``(fn(bytes), label)`` for each ``(bytes, label, file)``, in parallel. Where ``fn``
    fails (a corrupt file that listing could not spot), the example is dropped, and its
    file is reported on stderr and added to ``split.skipped``: an epoch never stops."""
    def one(contents, label, name):
        good = tf.data.Dataset.from_tensors((contents, label)).map(
            lambda x, y: (fn(x), y, True, name)).ignore_errors()
        spec = good.element_spec[0]
        empty = tf.zeros([d or 0 for d in spec.shape], spec.dtype)
        bad = tf.data.Dataset.from_tensors((empty, label, False, name))
        return good.concatenate(bad).take(1)

    def report(name: tf.Tensor) -> bool:
        file = name.numpy().decode()
        if file not in {f for f, _ in split.skipped}:
            split.skipped.append((file, "cannot be decoded"))
            print(f"warning: {file}: cannot be decoded; skipped", file=sys.stderr)
        return False

    def keep(image, label, ok, name):
        return tf.cond(ok, lambda: True, lambda: tf.py_function(report, [name], tf.bool))

    ds = ds.interleave(one, cycle_length=tf.data.AUTOTUNE, num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=deterministic)
    return ds.filter(keep).map(lambda image, label, ok, name: (image, label))


def batches(split: Split, image_size: int, batch_size: int, training: bool,
            seed: int | None = None, cache: bool = False, augmentation: str = "basic",
            ten_crop: bool = False) -> tf.data.Dataset:
    """A batched ``(image, one-hot label)`` dataset of normalised float32 images.

    Training crops with ``augmentation`` (``paper``: random square crop, flip, PCA
    lighting; ``basic``: the same without lighting; ``rrc``: random-resized crop and
    flip); evaluation takes the centre crop, or with ``ten_crop`` the paper's ten
    crops (images then have shape ``(10, size, size, 3)``). Without ``cache``, JPEGs
    decode only their crop window. ``cache`` keeps the images decoded and resized to
    the shorter side in memory after the first epoch (about 0.2 MB each at 224 px).
    Unusable files are left out (see ``decoded``, ``data.list_split``) and listed
    in ``split.skipped``; in training another image takes a dropped one's place, so an
    epoch keeps its ``len(split)`` images.
    """
    if augmentation not in augment.AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {augmentation!r}: choose one of "
                         f"{', '.join(augment.AUGMENTATIONS)}")
    if ten_crop and training:
        raise ValueError("ten_crop is for evaluation (training=False)")
    num_classes = len(split.class_names)
    ds = encoded(split, training and not cache, seed)
    if training:
        def transform(x):
            return augment.train_transform(x, image_size, augmentation, encoded=not cache)
    elif ten_crop:
        def transform(x):
            return augment.ten_crop(x, image_size, encoded=not cache)
    else:
        def transform(x):
            return augment.eval_transform(x, image_size, encoded=not cache)
    if cache:
        short_side = augment.resize_size(image_size)
        ds = decoded(ds, lambda x: augment.resize_shorter(augment.decode(x), short_side), split,
                     deterministic=True).cache()
        if training:
            ds = ds.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
        ds = ds.map(lambda x, y: (augment.normalize(transform(x)), y),
                    num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    else:
        ds = decoded(ds, lambda x: augment.normalize(transform(x)), split,
                     deterministic=not training)
    if training:  # a dropped image is replaced by one from the next (reshuffled) pass
        ds = ds.repeat(2).take(len(split)).apply(
            tf.data.experimental.assert_cardinality(len(split)))  # Keras then knows the steps
    return (ds.map(lambda x, y: (x, tf.one_hot(y, num_classes)))
            .batch(batch_size).prefetch(tf.data.AUTOTUNE))
