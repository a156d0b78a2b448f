"""tf.data input pipelines: read, decode, augment and batch a ``data.Split``.

A split is raw image files or TFRecord shards (``prepare``); both become encoded
bytes and a label, then one parallel map decodes and transforms them
(augment.py). tf.data feeds every Keras backend.
"""

from __future__ import annotations

import tensorflow as tf

from alexnet import augment
from alexnet.data import Split

SHUFFLE_BUFFER = 4096  # shard records shuffled in memory (about 100 kB each)


def decode(path: tf.Tensor) -> tf.Tensor:
    """Reads a JPEG/PNG/GIF/BMP file as a uint8 RGB image (greyscale, CMYK and RGBA
    converted)."""
    return augment.decode(tf.io.read_file(path))


def _parse(record: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    features = tf.io.parse_single_example(record, {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64)})
    return features["image"], tf.cast(features["label"], tf.int32)


def encoded(split: Split, training: bool, seed: int | None = None) -> tf.data.Dataset:
    """``(encoded image bytes, label)`` pairs, shuffled each epoch when training.
    Files are shuffled by name (a small buffer); shards by order and a record buffer."""
    if split.records is None:
        ds = tf.data.Dataset.from_tensor_slices((split.files, split.labels))
        if training:
            ds = ds.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
        return ds.map(lambda f, y: (tf.io.read_file(f), y), num_parallel_calls=tf.data.AUTOTUNE,
                      deterministic=not training)
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
    An image that still fails to decode is dropped with a logged warning rather than
    stopping the epoch; listing the split (``data.list_split``) leaves out and reports
    the unusable files it can find without decoding.
    """
    if augmentation not in augment.AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {augmentation!r}: choose one of "
                         f"{', '.join(augment.AUGMENTATIONS)}")
    if ten_crop and training:
        raise ValueError("ten_crop is for evaluation (training=False)")
    num_classes = len(split.class_names)
    ds = encoded(split, training and not cache, seed)
    if cache:
        short_side = augment.resize_size(image_size)
        ds = ds.map(lambda x, y: (augment.resize_shorter(augment.decode(x), short_side), y),
                    num_parallel_calls=tf.data.AUTOTUNE).ignore_errors(log_warning=True).cache()
        if training:
            ds = ds.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    raw = not cache
    if training:
        def transform(x):
            return augment.train_transform(x, image_size, augmentation, encoded=raw)
    elif ten_crop:
        def transform(x):
            return augment.ten_crop(x, image_size, encoded=raw)
    else:
        def transform(x):
            return augment.eval_transform(x, image_size, encoded=raw)
    ds = ds.map(lambda x, y: (augment.normalize(transform(x)), tf.one_hot(y, num_classes)),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    return ds.ignore_errors(log_warning=True).batch(batch_size).prefetch(tf.data.AUTOTUNE)
