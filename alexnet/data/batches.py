"""From a split to the batches ``fit`` and ``evaluate`` take, as tf.data datasets.

Every image is decoded the same way, by Pillow (``decode_square``): the shorter side
resized to ``resize_size(image_size)``, the centre square cut, as uint8 RGB. A split that
fits in memory is decoded once (``decode``, in threads: Pillow decodes without the GIL,
and no worker process re-runs the user's script); a larger one is read and decoded each
epoch (``training`` and ``evaluation`` given a ``Split``). Either way the squares are
batched and each batch goes through augment.py's layers, one batch after another (each
draw comes from the layer's seed, so a seed gives the same crops on every run). A file
that cannot be decoded is named on standard error, listed in ``split.skipped`` and left
out, on every path.
"""

from __future__ import annotations

import io
import os
import stat
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from alexnet.data.augment import centre_and_mirror, centre_crop, resize_size, ten_crops
from alexnet.data.files import MAX_PIXELS
from alexnet.data.splits import Split


def decode_square(source: str | Path | bytes, side: int) -> np.ndarray:
    """An image file (or its bytes) as a ``side`` x ``side`` uint8 RGB square: shorter
    side resized, centre cut. 16-bit images keep their top 8 bits, every other mode
    becomes RGB. Raises ValueError with the reason for a file that is not a regular
    file, not an image, too large (over MAX_PIXELS, refused before decoding) or broken."""
    if not isinstance(source, bytes):
        try:
            mode = os.stat(source).st_mode
        except OSError as error:
            raise ValueError(f"unreadable ({error.strerror})") from None
        if not stat.S_ISREG(mode):
            raise ValueError("not a regular file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(source) if isinstance(source, bytes)
                            else source) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise ValueError(f"too large ({image.width}x{image.height} is over "
                                     f"{MAX_PIXELS:,} pixels)")
                image.draft("RGB", (side, side))  # JPEG: decode at the scale needed
                image.load()
                image = rgb(image)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ValueError(f"too large (over {MAX_PIXELS:,} pixels)") from None
    except (OSError, SyntaxError) as error:
        if isinstance(error, OSError) and error.errno is not None:  # the file system's
            raise ValueError(f"unreadable ({error.strerror})") from None
        raise ValueError(f"not decodable ({error})") from None
    scale = side / min(image.size)
    size = max(side, round(image.width * scale)), max(side, round(image.height * scale))
    image = image.resize(size, Image.BICUBIC, reducing_gap=3.0)
    left, top = (size[0] - side) // 2, (size[1] - side) // 2
    return np.asarray(image.crop((left, top, left + side, top + side)))


def rgb(image: Image.Image) -> Image.Image:
    """A decoded image as 8-bit RGB, the same way on every path (``prepare``'s too):
    16- or 32-bit greyscale keeps its top 8 bits, every other mode is converted."""
    if image.mode.startswith("I"):
        image = Image.fromarray((np.asarray(image, "uint32") >> 8).clip(0, 255)
                                .astype("uint8"))
    return image.convert("RGB")


def skip(split: Split, file: str, reason: str) -> None:
    """Names a file that cannot be used, once, and lists it in ``split.skipped``."""
    if file not in {f for f, _ in split.skipped}:
        split.skipped.append((file, reason))
        print(f"warning: {file}: {reason}; skipped", file=sys.stderr)


def _check_some_decode(split: Split) -> None:
    """One line naming the split and a file when none of its images could be decoded
    (in memory, or met while streaming: then raised inside the pipeline, whose error
    the command line reduces to this line)."""
    failed = dict(split.skipped)
    if all(file in failed for file in split.files):
        first = split.files[0] if split.files else None
        raise ValueError(f"{split.source or 'split'}: none of its {len(split.files)} images "
                         "could be decoded" + (f" ({first}: {failed[first]})" if first else ""))


@dataclass
class Squares:
    """A split decoded into memory: ``images`` (N, side, side, 3) uint8, integer
    ``labels``, and the ``split`` they came from (its files, classes, skipped files)."""

    images: np.ndarray
    labels: np.ndarray
    split: Split

    def __len__(self) -> int:
        return len(self.labels)


def decode(split: Split, image_size: int, workers: int | None = None) -> Squares:
    """Every image of ``split`` decoded once (``decode_square``), in threads, with a line
    when done; files that cannot be decoded are named and left out."""
    side, start = resize_size(image_size), time.perf_counter()

    def one(file):
        try:
            return decode_square(file, side)
        except ValueError as error:
            skip(split, file, str(error))
            return None

    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        images = list(pool.map(one, split.files))
    kept = np.array([image is not None for image in images], bool)
    if not kept.any():
        _check_some_decode(split)
    print(f"Decoded {kept.sum()} images into {side} px squares in "
          f"{time.perf_counter() - start:.0f} s", flush=True)
    images = np.stack([image for image in images if image is not None])
    return Squares(images, split.labels[kept].astype("int32"), split)


def _streamed(split: Split, image_size: int, shuffle: bool, seed: int | None):
    """``(square, label)`` for each readable image of a split on disk, decoded in parallel
    each time it is iterated. Its files, or what its own ``sources(shuffle, seed)`` gives:
    ``(encoded image, label, name)`` (the harness's TFRecord shards)."""
    side, encoded = resize_size(image_size), hasattr(split, "sources")
    if encoded:
        ds = split.sources(shuffle, seed)
    else:
        ds = tf.data.Dataset.from_tensor_slices((split.files, split.labels))
        if shuffle:
            ds = ds.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
        ds = ds.map(lambda f, y: (f, y, f))

    def load(source, name):
        name = name.decode()
        try:
            return decode_square(source if encoded else name, side), True
        except ValueError as error:
            skip(split, name, str(error))
            if not encoded and len(split.skipped) >= len(split.files):
                _check_some_decode(split)
            return np.zeros((side, side, 3), "uint8"), False

    def decoded(source, label, name):
        image, ok = tf.numpy_function(load, [source, name], (tf.uint8, tf.bool))
        image.set_shape((side, side, 3))
        return image, label, ok

    ds = ds.map(decoded, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.filter(_readable).map(_image_and_label)


def _readable(image, label, ok):
    return ok


def _image_and_label(image, label, ok):
    return image, label


def _pairs(data: Squares | Split, image_size: int, shuffle: bool, seed: int | None,
           cache: bool = False):
    if isinstance(data, Squares):  # in order: training gathers its shuffled batches itself
        return tf.data.Dataset.from_tensor_slices((data.images, data.labels))
    ds = _streamed(data, image_size, shuffle and not cache, seed)
    if cache:  # decoded squares kept after the first pass
        ds = ds.cache()
        if shuffle:
            ds = ds.shuffle(len(data), seed=seed, reshuffle_each_iteration=True)
    return ds


def training(data: Squares | Split, image_size: int, batch_size: int,
             augment: keras.layers.Layer, seed: int | None = None, cache: bool = False):
    """Shuffled ``(images, one-hot labels)`` batches, each batch of squares through
    ``augment`` (augment.py's ``augmentation``) in turn; an epoch is ``len(data)``
    images. ``data``: squares in memory (a batch gathered from them by shuffled index), or
    a split read from disk (then ``cache`` keeps the decoded squares after the first
    epoch)."""
    split = data.split if isinstance(data, Squares) else data
    classes = len(split.class_names)
    if isinstance(data, Squares):
        images, labels = tf.convert_to_tensor(data.images), tf.convert_to_tensor(data.labels)
        ds = tf.data.Dataset.range(len(data)).shuffle(len(data), seed=seed,
                                                      reshuffle_each_iteration=True)
        ds = ds.batch(batch_size).map(lambda rows: (tf.gather(images, rows),
                                                    tf.gather(labels, rows)))
    else:  # an image left out is replaced by one of the next pass
        ds = _pairs(data, image_size, True, seed, cache).repeat(2).take(len(data))
        ds = ds.apply(tf.data.experimental.assert_cardinality(len(data))).batch(batch_size)
    ds = ds.map(lambda x, y: (augment(x), tf.one_hot(y, classes)))
    return ds.prefetch(tf.data.AUTOTUNE)


def evaluation(data: Squares | Split, batch_size: int, image_size: int,
               crops: str = "centre", cache: bool = False):
    """``(images, one-hot labels)`` batches in order: the centre crop of each image
    (``crops="centre"``), or several crops of each, shape (B, n, size, size, 3): the centre
    crop and its mirror image (``"flip"``, n = 2) or the paper's ten crops (``"ten"``)."""
    several = {"flip": centre_and_mirror, "ten": ten_crops}
    if crops != "centre" and crops not in several:
        raise ValueError(f"unknown crops {crops!r}: choose 'centre', 'flip' or 'ten'")
    split = data.split if isinstance(data, Squares) else data
    classes, crop = len(split.class_names), several.get(crops)
    centre = centre_crop(image_size)
    ds = _pairs(data, image_size, False, None, cache).batch(batch_size)
    return ds.map(lambda x, y: (
        crop(tf.cast(x, "float32"), image_size) if crop else centre(x),
        tf.one_hot(y, classes))).prefetch(tf.data.AUTOTUNE)


def examples(data: Squares | Split, image_size: int, count: int):
    """``count`` images spread through the data (so across its classes) as evaluation
    sees them (centre crops, 0-255 float32), and their integer labels: for figures."""
    if not isinstance(data, Squares):
        data = decode(data.spread(count), image_size)
    rows = np.linspace(0, len(data) - 1, min(count, len(data))).astype(int)
    return (np.asarray(centre_crop(image_size)(data.images[rows])),
            data.labels[rows])
