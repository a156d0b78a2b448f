"""tf.data input pipelines: decode, augment and batch a ``data.Split``.

tf.data feeds every Keras backend; the transforms themselves are in augment.py.
"""

from __future__ import annotations

import tensorflow as tf

from alexnet import augment
from alexnet.data import Split


def decode(path: tf.Tensor) -> tf.Tensor:
    """Reads a JPEG/PNG/GIF/BMP file as a uint8 RGB image (greyscale and RGBA converted)."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def batches(split: Split, image_size: int, batch_size: int, training: bool,
             seed: int | None = None, cache: bool = False,
            augmentation: str = "basic") -> tf.data.Dataset:
    """A batched ``(image, one-hot label)`` dataset.

    Training: shuffle each epoch, decode, resize the shorter side, random crop,
    flip. Evaluation: resize the shorter side, centre crop. Both normalise with
    ImageNet's per-channel mean and std. ``cache`` keeps the decoded, resized
    images in memory after the first epoch (about 0.2 MB each at 224 px).
    """
    if augmentation != "basic":
        raise ValueError(f"augmentation {augmentation!r} is not in the tf.data pipeline yet; "
                         "use --in-memory")
    num_classes = len(split.class_names)
    short_side = augment.resize_size(image_size)
    ds = tf.data.Dataset.from_tensor_slices((split.files, split.labels))
    if training and not cache:  # shuffle names, not decoded images: a small buffer
        ds = ds.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda f, y: (augment.resize_shorter(decode(f), short_side), y),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    if cache:
        ds = ds.cache()
        if training:
            ds = ds.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    transform = augment.train_transform if training else augment.eval_transform
    ds = ds.map(lambda x, y: (augment.normalize(transform(x, image_size)),
                              tf.one_hot(y, num_classes)),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
