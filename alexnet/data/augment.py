"""Data augmentation, one implementation: the same layers for training, for the
notebook's figure of it, and for evaluation.

Every image is decoded once as a square (batches.py): its shorter side resized to
``resize_size(image_size)`` and the centre square cut, as the paper did ("rescaled the
image such that the shorter side was of length 256, and then cropped out the central
256x256 patch", sec. 2). From a batch of those squares, each image its own draw:

- ``basic``: ``RandomCropAndFlip``, the paper's training patches: an ``image_size`` window
  at a random place, mirrored half of the time (sec. 4.1);
- ``paper``: ``basic``, then ``PCALighting``: sec. 4.1's colour noise, std 0.1;
- ``rrc``: ``RandomResizedCrop`` (Inception's crops: 25-100 % of the area, aspect ratio
  3/4 to 4/3), mirrored half of the time;
- ``none``: Keras' ``CenterCrop``, no flip: the no-augmentation ablation.

Evaluation takes ``CenterCrop``, the centre crop and its mirror image (``centre_and_mirror``,
a test-time flip), or the paper's ten crops (``ten_crops``): functions, as Keras has none.
The three training layers are ours: Keras has neither the PCA lighting nor random-resized
crops, its ``RandomCrop`` draws one window per batch (called image by image instead, it
slowed training on two cores), and its ``RandomFlip`` computes the whole mirrored batch
to select from, where a crop's index can run backwards for nothing (the CPU time of each:
benchmarks/augment_cost.py, docs/performance.md). Pixels stay on the 0-255 scale, as
float32: the model normalises them.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

# The training augmentations, and what each does in words (for the figures and the PDF).
WORDS = {"basic": "random crops and horizontal flips",
         "paper": "random crops, horizontal flips and PCA colour augmentation",
         "rrc": "random-resized crops and horizontal flips",
         "none": "centre crops only (no augmentation)"}
AUGMENTATIONS = tuple(WORDS)
RRC_SCALE, RRC_RATIO = (0.25, 1.0), (3 / 4, 4 / 3)  # random-resized crops: area, aspect
# ImageNet's RGB covariance on the 0-1 scale (eigenvalues, eigenvectors as columns), as
# fb.resnet.torch and torchvision's reference scripts use for the paper's "fancy PCA".
EIGENVALUES = (0.2175, 0.0188, 0.0045)
EIGENVECTORS = ((-0.5675, 0.7192, 0.4009),
                (-0.5808, -0.0045, -0.8140),
                (-0.5836, -0.6948, 0.4203))
PAPER_LIGHTING = 0.1  # the paper's standard deviation of the PCA weights


def resize_size(image_size: int) -> int:
    """Side of the square the crops are taken from: the paper's 256 for its 224 and 227
    crops, in proportion (256/224) for other sizes."""
    return 256 if 224 <= image_size <= 227 else round(image_size * 256 / 224)


def augmentation(name: str, image_size: int, seed: int | None = None) -> layers.Pipeline:
    """The training augmentation called ``name``, for batches of squares (B, side, side,
    3): every image gets its own crop, flip and lighting."""
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {name!r}: choose one of "
                         f"{', '.join(AUGMENTATIONS)}")
    exact = {"dtype": "float32"}  # pixels, whatever the model's mixed-precision policy
    if name == "none":
        steps = [centre_crop(image_size)]
    elif name == "rrc":
        steps = [RandomResizedCrop(image_size, seed=seed, **exact)]
    else:
        steps = [RandomCropAndFlip(image_size, seed=seed, **exact)]
        if name == "paper":
            steps.append(PCALighting(PAPER_LIGHTING, seed=seed, **exact))
    return layers.Pipeline(steps, name=name)


def centre_crop(image_size: int) -> layers.CenterCrop:
    """Evaluation's crop: the centre ``image_size`` square of the decoded square."""
    return layers.CenterCrop(image_size, image_size, dtype="float32")


def centre_and_mirror(squares, image_size: int):
    """The centre crop of each square of a batch and its mirror image, (B, 2, size, size,
    3): the test-time flip, two of the paper's ten crops."""
    start = (ops.shape(squares)[1] - image_size) // 2
    crop = squares[:, start:start + image_size, start:start + image_size, :]
    return ops.stack([crop, ops.flip(crop, axis=2)], axis=1)


def ten_crops(squares, image_size: int):
    """The paper's ten test crops of a batch of squares, (B, 10, size, size, 3): the four
    corners and the centre, then the same five mirrored (sec. 4.1)."""
    last = ops.shape(squares)[1] - image_size
    corners = [(0, 0), (0, last), (last, 0), (last, last), (last // 2, last // 2)]
    crops = [squares[:, top:top + image_size, left:left + image_size, :]
             for top, left in corners]
    return ops.stack(crops + [ops.flip(crop, axis=2) for crop in crops], axis=1)


@keras.saving.register_keras_serializable(package="alexnet")
class RandomCropAndFlip(layers.Layer):
    """The paper's training patches (sec. 4.1): a ``size`` square window at a random place
    of each image of a batch, mirrored with probability 1/2. Two gathers cut it; a
    mirrored image's column index runs backwards, so the flip costs nothing."""

    def __init__(self, size: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.size, self.seed = size, seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images):
        _check_batch(self, images)
        if None not in images.shape[1:3] and min(images.shape[1:3]) < self.size:
            raise ValueError(f"{self.name}: images of {images.shape[1]}x{images.shape[2]} "
                             f"are smaller than the {self.size} px crop")
        batch, height, width = ops.shape(images)[0], ops.shape(images)[1], ops.shape(images)[2]

        def draw(high, shape=None):  # integers in [0, high), one per image
            return keras.random.randint(shape or (batch,), 0, high, seed=self.generator)

        window = ops.arange(self.size)
        rows = draw(height - self.size + 1)[:, None] + window
        mirrored = draw(2, (batch, 1)) == 1
        columns = draw(width - self.size + 1)[:, None] + ops.where(
            mirrored, self.size - 1 - window, window)
        patches = tf.gather(images, rows, axis=1, batch_dims=1)  # (B, size, width, 3)
        patches = tf.gather(patches, columns, axis=2, batch_dims=1)  # (B, size, size, 3)
        return ops.cast(patches, "float32")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "size": self.size, "seed": self.seed}


def _check_batch(layer: layers.Layer, images) -> None:
    if len(images.shape) != 4:
        raise ValueError(f"{layer.name} takes a batch of images (B, height, width, "
                         f"channels), not shape {tuple(images.shape)}")


@keras.saving.register_keras_serializable(package="alexnet")
class PCALighting(layers.Layer):
    """The paper's colour augmentation: adds ``sum_i alpha_i lambda_i p_i`` (ImageNet's
    RGB eigenvalues and eigenvectors, alpha_i ~ N(0, ``std``) drawn per image) to every
    pixel of each image of a batch on the 0-255 scale. Keras has no such layer."""

    def __init__(self, std: float = PAPER_LIGHTING, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.std, self.seed = std, seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images):
        _check_batch(self, images)
        alpha = keras.random.normal((ops.shape(images)[0], 3), stddev=self.std,
                                    seed=self.generator)
        offsets = ops.matmul(alpha * np.array(EIGENVALUES, "float32"),
                             np.array(EIGENVECTORS, "float32").T)
        return ops.cast(images, "float32") + 255.0 * offsets[:, None, None, :]

    def get_config(self):
        return {**super().get_config(), "std": self.std, "seed": self.seed}


@keras.saving.register_keras_serializable(package="alexnet")
class RandomResizedCrop(layers.Layer):
    """A random window of ``scale`` of the image's area (aspect ratio within ``ratio``),
    resized to ``size`` square and mirrored with probability 1/2, for each image of a
    batch: Inception's crops, torchvision's RandomResizedCrop, which Keras lacks. Its 8 %
    lower bound is harsh for small images; 25 % is ours."""

    def __init__(self, size: int, scale=RRC_SCALE, ratio=RRC_RATIO,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.size, self.scale, self.ratio, self.seed = size, tuple(scale), tuple(ratio), seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images):
        _check_batch(self, images)
        batch, side = ops.shape(images)[0], ops.cast(ops.shape(images)[1], "float32")

        def uniform(low, high):
            return keras.random.uniform((batch,), low, high, seed=self.generator)

        area, log_ratio = uniform(*self.scale), uniform(*np.log(self.ratio))
        width = ops.minimum(ops.sqrt(area * ops.exp(log_ratio)), 1.0) * side
        height = ops.minimum(ops.sqrt(area / ops.exp(log_ratio)), 1.0) * side
        left, top = uniform(0.0, 1.0) * (side - width), uniform(0.0, 1.0) * (side - height)
        # output pixel (x, y) -> input (left + x * width / size, top + y * height / size);
        # mirrored: x -> left + (size - 1 - x) * width / size
        step = width / self.size
        mirrored = uniform(0.0, 1.0) < 0.5
        x_step = ops.where(mirrored, -step, step)
        x_start = ops.where(mirrored, left + (self.size - 1) * step, left)
        zero = ops.zeros((batch,))
        transforms = ops.stack([x_step, zero, x_start, zero, height / self.size, top,
                                zero, zero], axis=1)
        x = ops.image.affine_transform(ops.cast(images, "float32"), transforms,
                                       interpolation="bilinear", fill_mode="reflect")
        return x[:, :self.size, :self.size, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "size": self.size, "scale": self.scale,
                "ratio": self.ratio, "seed": self.seed}
