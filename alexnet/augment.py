"""Image transforms in TensorFlow ops, run inside the tf.data graph.

Every crop is a window of the original image, resized to the crop size: a random
square (``paper``/``basic``: the same as resizing the shorter side to 256 and
cropping 224), a random-resized crop (``rrc``), the centre, or the paper's ten
crops. A JPEG's window is decoded with ``tf.image.decode_and_crop_jpeg``, so
pixels outside it are never decoded; other formats are decoded whole. Training
adds horizontal flips and, for ``paper``, PCA colour augmentation. Everything
ends with ImageNet's per-channel mean/std normalisation.
"""

from __future__ import annotations

import tensorflow as tf

from alexnet.data import (
    AUGMENTATIONS,
    EIGENVALUES,
    EIGENVECTORS,
    MEAN,
    RRC_SCALE,
    STD,
    resize_size,
)


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
    side = tf.round(tf.cast(tf.minimum(height, width), tf.float32) * image_size
                    / resize_size(image_size))
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


def random_resized(scale=RRC_SCALE, ratio=(3 / 4, 4 / 3)):
    """Inception-style random-resized crop: a window of 8-100% of the area and aspect
    ratio 3/4-4/3 (the whole image when ten tries find none)."""
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
        bottom, right = height - side, width - side
        corners = [(0, 0), (0, right), (bottom, 0), (bottom, right),
                   (bottom // 2, right // 2)]
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


def lighting(image: tf.Tensor, std: float = 0.1) -> tf.Tensor:
    """The paper's PCA colour augmentation: adds ``sum_i alpha_i lambda_i p_i`` to
    every pixel, alpha_i ~ N(0, std) drawn once per image (0-255 scale, float out)."""
    alpha = tf.random.normal([3], stddev=std)
    offset = tf.linalg.matvec(tf.constant(EIGENVECTORS), alpha * tf.constant(EIGENVALUES))
    return tf.cast(image, tf.float32) + 255.0 * offset


def train_transform(source: tf.Tensor, image_size: int, augmentation: str = "basic",
                    encoded: bool = False) -> tf.Tensor:
    """One training example: crop (``random_square``, or ``random_resized`` for
    ``rrc``), random horizontal flip, PCA lighting for ``paper``; float32, 0-255 scale.
    ``source`` is a decoded uint8 image, or the file's bytes when ``encoded``."""
    if augmentation not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {augmentation!r}: choose one of "
                         f"{', '.join(AUGMENTATIONS)}")
    if augmentation == "none":  # the ablation: what evaluation sees, no randomness
        return tf.cast(eval_transform(source, image_size, encoded), tf.float32)
    window_fn = random_resized() if augmentation == "rrc" else random_square(image_size)
    image = tf.image.random_flip_left_right(_windowed(source, window_fn, image_size, encoded))
    return lighting(image) if augmentation == "paper" else tf.cast(image, tf.float32)


def eval_transform(source: tf.Tensor, image_size: int, encoded: bool = False) -> tf.Tensor:
    """The centre crop (uint8); ``source`` as in ``train_transform``."""
    return _windowed(source, centre_square(image_size), image_size, encoded)


def ten_crop(source: tf.Tensor, image_size: int, encoded: bool = False) -> tf.Tensor:
    """The paper's ten test crops ``(10, size, size, 3)``: corners and centre, then
    the same five flipped (uint8)."""
    image = decode(source) if encoded else source
    shape = tf.shape(image)
    windows = ten_windows(image_size)(shape[0], shape[1])
    crops = tf.stack([crop(image, windows[i], image_size) for i in range(5)])
    return tf.concat([crops, tf.reverse(crops, axis=[2])], axis=0)


def normalize(image: tf.Tensor) -> tf.Tensor:
    """uint8 (or float) RGB on the 0-255 scale -> float32, zero mean and unit variance
    per channel."""
    return (tf.cast(image, tf.float32) - MEAN) / STD
