"""Images on disk through tf.data: read, decode, crop, augment and batch a ``Split``.

A split is raw image files or TFRecord shards (``prepare``); both become encoded bytes
and a label, then one parallel map decodes and transforms them. Every crop is a window
of the original image, resized to the crop size (the geometry and parameters are
augment.py's); a JPEG's window is decoded with ``tf.image.decode_and_crop_jpeg``,
so pixels outside it are never decoded. Pixels stay on the 0-255 scale (the model
normalises them). tf.data feeds every Keras backend.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf

from alexnet.data import failures
from alexnet.data.augment import (
    EIGENVALUES,
    EIGENVECTORS,
    RRC_RATIO,
    RRC_SCALE,
    Augmentation,
    crop_fraction,
    five_crop_corners,
    lookup,
    resize_size,
)
from alexnet.data.splits import Split

SHUFFLE_BUFFER = 4096  # shard records shuffled in memory (JPEGs of some 30 kB at 256 px)

# Evaluation datasets have no known length (an undecodable image is dropped, not
# replaced), and Keras then warns once per fit that validation "ran out of data"
# although every image was seen.
warnings.filterwarnings("ignore", message="Your input ran out of data", category=UserWarning)
# The crops and flips draw from the global seed keras.utils.set_random_seed sets, on
# purpose (a run is repeatable); TensorFlow warns about it whenever that seed is not 0.
warnings.filterwarnings("ignore", message="Seed .* from outer graph might be getting used",
                        category=UserWarning)


# Transforms of one image (TensorFlow ops, inside the tf.data graph).

def decode(contents: tf.Tensor) -> tf.Tensor:
    """Encoded JPEG/PNG/GIF/BMP bytes -> uint8 RGB (greyscale, CMYK, RGBA converted)."""
    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def resize_shorter(image: tf.Tensor, size: int) -> tf.Tensor:
    """Resizes so the shorter side is ``size``, keeping the aspect ratio (uint8 out)."""
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = size / tf.reduce_min(shape)
    new_shape = tf.cast(tf.round(shape * scale), tf.int32)
    return _to_uint8(tf.image.resize(image, new_shape, antialias=True))


def _to_uint8(image: tf.Tensor) -> tf.Tensor:
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


# Windows: functions of the image's (height, width) giving [y, x, h, w] int32 in it.

def _square_side(height: tf.Tensor, width: tf.Tensor, image_size: int) -> tf.Tensor:
    """Side of the window that becomes an ``image_size`` crop after the shorter side
    is resized to ``resize_size(image_size)``."""
    side = tf.round(tf.cast(tf.minimum(height, width), tf.float32)
                    * crop_fraction(image_size))
    return tf.maximum(tf.cast(side, tf.int32), 1)


def random_square(image_size: int):
    """A uniformly placed square: the paper's random crop."""
    def window(height, width):
        side = _square_side(height, width, image_size)
        y = tf.random.uniform([], 0, height - side + 1, tf.int32)
        x = tf.random.uniform([], 0, width - side + 1, tf.int32)
        return tf.stack([y, x, side, side])
    return window


def centre_square(image_size: int):
    """The centre crop of evaluation."""
    def window(height, width):
        side = _square_side(height, width, image_size)
        return tf.stack([(height - side) // 2, (width - side) // 2, side, side])
    return window


def random_resized(scale=RRC_SCALE, ratio=RRC_RATIO):
    """Inception-style random-resized crop: a window of ``scale`` of the area (25-100 %)
    and aspect ratio ``ratio`` (3/4-4/3); the whole image when ten tries find none."""
    def window(height, width):
        begin, size, _ = tf.image.sample_distorted_bounding_box(
            tf.stack([height, width, 3]), tf.zeros([1, 0, 4]), min_object_covered=0.0,
            aspect_ratio_range=ratio, area_range=scale, max_attempts=10,
            use_image_if_no_bounding_boxes=True)
        return tf.stack([begin[0], begin[1], size[0], size[1]])
    return window


def ten_windows(image_size: int):
    """The paper's test crops: four corners and the centre (each flipped later)."""
    def windows(height, width):
        side = _square_side(height, width, image_size)
        corners = five_crop_corners(height - side, width - side)
        return tf.stack([tf.stack([y, x, side, side]) for y, x in corners])
    return windows


def crop(image: tf.Tensor, window: tf.Tensor, image_size: int) -> tf.Tensor:
    """The ``[y, x, h, w]`` window of a decoded image, resized to a square (uint8)."""
    part = image[window[0]:window[0] + window[2], window[1]:window[1] + window[3]]
    return _to_uint8(tf.image.resize(part, [image_size, image_size], antialias=True))


def _windowed(source: tf.Tensor, window_fn, image_size: int, encoded: bool) -> tf.Tensor:
    if encoded:
        return decode_crop(source, window_fn, image_size)
    shape = tf.shape(source)
    return crop(source, window_fn(shape[0], shape[1]), image_size)


def decode_crop(contents: tf.Tensor, window_fn, image_size: int) -> tf.Tensor:
    """Decodes only the window ``window_fn(height, width)`` chooses (JPEG; other
    formats whole) and resizes it to ``image_size`` square."""
    def jpeg():
        shape = tf.image.extract_jpeg_shape(contents)
        window = window_fn(shape[0], shape[1])
        part = tf.image.decode_and_crop_jpeg(contents, window, channels=3)
        return _to_uint8(tf.image.resize(part, [image_size, image_size], antialias=True))

    image = tf.cond(tf.io.is_jpeg(contents), jpeg,
                    lambda: _windowed(decode(contents), window_fn, image_size, False))
    image.set_shape([image_size, image_size, 3])
    return image


def lighting(image: tf.Tensor, std: float) -> tf.Tensor:
    """The paper's PCA colour augmentation: adds ``sum_i alpha_i lambda_i p_i`` to
    every pixel, alpha_i ~ N(0, std) drawn once per image (0-255 scale, float out)."""
    alpha = tf.random.normal([3], stddev=std)
    offset = tf.linalg.matvec(tf.constant(EIGENVECTORS), alpha * tf.constant(EIGENVALUES))
    return tf.cast(image, tf.float32) + 255.0 * offset


def train_transform(source: tf.Tensor, image_size: int, spec: Augmentation,
                    encoded: bool = False) -> tf.Tensor:
    """One training example augmented as ``spec`` says; float32, 0-255 scale.
    ``source`` is a decoded uint8 image, or the file's bytes when ``encoded``."""
    window_fn = {"square": random_square(image_size), "resized": random_resized(),
                 "centre": centre_square(image_size)}[spec.crop]
    image = _windowed(source, window_fn, image_size, encoded)
    if spec.flip:
        image = tf.image.random_flip_left_right(image)
    return lighting(image, spec.lighting) if spec.lighting else tf.cast(image, tf.float32)


def eval_transform(source: tf.Tensor, image_size: int, encoded: bool = False) -> tf.Tensor:
    """The centre crop (uint8); ``source`` as in ``train_transform``."""
    return _windowed(source, centre_square(image_size), image_size, encoded)


def ten_crop_transform(source: tf.Tensor, image_size: int, encoded: bool = False) -> tf.Tensor:
    """The paper's ten test crops ``(10, size, size, 3)``: corners and centre, then
    the same five flipped (uint8)."""
    image = decode(source) if encoded else source
    shape = tf.shape(image)
    windows = ten_windows(image_size)(shape[0], shape[1])
    crops = tf.stack([crop(image, windows[i], image_size) for i in range(5)])
    return tf.concat([crops, tf.reverse(crops, axis=[2])], axis=0)


def read_file(path: str | Path) -> tf.Tensor:
    """A file's bytes, for ``decode`` and the transforms' ``encoded=True``."""
    return tf.io.read_file(str(path))


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


def batches(split: Split, image_size: int, batch_size: int, training: bool,
            seed: int | None = None, cache: bool = False, augmentation: str = "basic",
            ten_crop: bool = False) -> tf.data.Dataset:
    """A batched ``(image, one-hot label)`` dataset of float32 images, 0-255.

    Training augments as ``augmentation`` names (augmentation.py); evaluation takes the
    centre crop, or with ``ten_crop`` the paper's ten crops (images then have shape
    ``(10, size, size, 3)``). Without ``cache``, JPEGs
    decode only their crop window. ``cache`` keeps the images decoded and resized to
    the shorter side in memory after the first epoch (about 0.2 MB each at 224 px).
    Unusable files are left out (see ``decoded``, ``data.list_split``) and listed
    in ``split.skipped``; in training another image takes a dropped one's place, so an
    epoch keeps its ``len(split)`` images.
    """
    spec = lookup(augmentation)
    if ten_crop and training:
        raise ValueError("ten_crop is for evaluation (training=False)")
    num_classes = len(split.class_names)
    ds = encoded(split, training and not cache, seed)
    if training:
        def transform(x):
            return train_transform(x, image_size, spec, encoded=not cache)
    elif ten_crop:
        def transform(x):
            return ten_crop_transform(x, image_size, encoded=not cache)
    else:
        def transform(x):
            return eval_transform(x, image_size, encoded=not cache)
    if cache:
        short_side = resize_size(image_size)
        ds = failures.decoded(ds, lambda x: resize_shorter(decode(x), short_side), split,
                     deterministic=True).cache()
        if training:
            ds = ds.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
        ds = ds.map(lambda x, y: (tf.cast(transform(x), tf.float32), y),
                    num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    else:
        ds = failures.decoded(ds, lambda x: tf.cast(transform(x), tf.float32), split,
                     deterministic=not training)
    if training:  # a dropped image is replaced by one from the next (reshuffled) pass
        ds = ds.repeat(2).take(len(split)).apply(
            tf.data.experimental.assert_cardinality(len(split)))  # Keras then knows the steps
    return (ds.map(lambda x, y: (x, tf.one_hot(y, num_classes)))
            .batch(batch_size).prefetch(tf.data.AUTOTUNE))


def examples(split: Split, image_size: int, count: int, training: bool,
             augmentation: str = "basic") -> tuple[np.ndarray, np.ndarray]:
    """``count`` images spread over the classes, as training (augmented) or evaluation
    sees them (uint8), and their integer labels: for plots."""
    images, one_hot = next(iter(batches(split.spread(count), image_size, count,
                                        training=training, augmentation=augmentation)))
    return (np.clip(np.asarray(images), 0, 255).astype("uint8"),
            np.argmax(np.asarray(one_hot), axis=-1))
