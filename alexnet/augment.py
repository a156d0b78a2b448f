"""Image transforms in TensorFlow ops, run inside the tf.data graph.

Training follows the paper: resize the shorter side (256 for 224 crops), take a
random crop and flip it horizontally; evaluation takes the centre crop. Both
end with ImageNet's per-channel mean/std normalisation.
"""

from __future__ import annotations

import tensorflow as tf

from alexnet.data import MEAN, STD


def resize_size(image_size: int) -> int:
    """Shorter side to resize to before cropping: 256 for 224, in proportion otherwise."""
    return round(image_size * 256 / 224)


def resize_shorter(image: tf.Tensor, size: int) -> tf.Tensor:
    """Resizes so the shorter side is ``size``, keeping the aspect ratio (uint8 out)."""
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = size / tf.reduce_min(shape)
    new_shape = tf.cast(tf.round(shape * scale), tf.int32)
    resized = tf.image.resize(image, new_shape, antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def train_transform(image: tf.Tensor, image_size: int) -> tf.Tensor:
    """Random ``image_size`` crop and horizontal flip."""
    image = tf.image.random_crop(image, [image_size, image_size, 3])
    return tf.image.random_flip_left_right(image)


def eval_transform(image: tf.Tensor, image_size: int) -> tf.Tensor:
    """Centre ``image_size`` crop."""
    return tf.image.resize_with_crop_or_pad(image, image_size, image_size)


def normalize(image: tf.Tensor) -> tf.Tensor:
    """uint8 RGB -> float32, zero mean and unit variance per channel."""
    return (tf.cast(image, tf.float32) - MEAN) / STD
