"""Data augmentation, one implementation: Keras preprocessing layers, the same for
training, for the notebook's figure of it, and for evaluation.

Every image is decoded once as a square (batches.py): its shorter side resized to
``resize_size(image_size)`` and the centre square cut, as the paper did ("rescaled the
image such that the shorter side was of length 256, and then cropped out the central
256x256 patch", sec. 2). From that square, one image at a time:

- ``basic``: ``RandomCrop`` to ``image_size`` and ``RandomFlip("horizontal")`` (sec. 4.1);
- ``paper``: ``basic``, then ``PCALighting``: sec. 4.1's colour noise, std 0.1;
- ``rrc``: ``RandomResizedCrop`` (Inception's crops: 25-100 % of the area, aspect ratio
  3/4 to 4/3) and the flip;
- ``none``: ``CenterCrop``, no flip: the no-augmentation ablation.

Evaluation takes ``CenterCrop``, or the paper's ten crops (``ten_crops``). Keras has the
crops and the flip; ours are what it lacks: the PCA lighting and random-resized crops
(layers), and the ten crops (a function). Pixels stay on the 0-255 scale, as float32:
the model normalises them.
"""

from __future__ import annotations

import keras
import numpy as np
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
    """The training augmentation called ``name``, for one square image at a time (a
    batch would share one crop window: Keras' ``RandomCrop`` draws one per call)."""
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {name!r}: choose one of "
                         f"{', '.join(AUGMENTATIONS)}")
    exact = {"dtype": "float32"}  # pixels, whatever the model's mixed-precision policy
    if name == "none":
        return layers.Pipeline([centre_crop(image_size)], name="none")
    crop = (RandomResizedCrop(image_size, seed=seed, **exact) if name == "rrc"
            else layers.RandomCrop(image_size, image_size, seed=seed, **exact))
    steps = [crop, layers.RandomFlip("horizontal", seed=seed, **exact)]
    if name == "paper":
        steps.append(PCALighting(PAPER_LIGHTING, seed=seed, **exact))
    return layers.Pipeline(steps, name=name)


def centre_crop(image_size: int) -> layers.CenterCrop:
    """Evaluation's crop: the centre ``image_size`` square of the decoded square."""
    return layers.CenterCrop(image_size, image_size, dtype="float32")


def ten_crops(squares, image_size: int):
    """The paper's ten test crops of a batch of squares, (B, 10, size, size, 3): the four
    corners and the centre, then the same five mirrored (sec. 4.1)."""
    last = ops.shape(squares)[1] - image_size
    corners = [(0, 0), (0, last), (last, 0), (last, last), (last // 2, last // 2)]
    crops = [squares[:, top:top + image_size, left:left + image_size, :]
             for top, left in corners]
    return ops.stack(crops + [ops.flip(crop, axis=2) for crop in crops], axis=1)


@keras.saving.register_keras_serializable(package="alexnet")
class PCALighting(layers.Layer):
    """The paper's colour augmentation: adds ``sum_i alpha_i lambda_i p_i`` (ImageNet's
    RGB eigenvalues and eigenvectors, alpha_i ~ N(0, ``std``) drawn per image) to every
    pixel of an image on the 0-255 scale. Keras has no such layer."""

    def __init__(self, std: float = PAPER_LIGHTING, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.std, self.seed = std, seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, image):
        alpha = keras.random.normal((3,), stddev=self.std, seed=self.generator)
        offset = ops.matmul(np.array(EIGENVECTORS, "float32"),
                            alpha * np.array(EIGENVALUES, "float32"))
        return ops.cast(image, "float32") + 255.0 * offset

    def get_config(self):
        return {**super().get_config(), "std": self.std, "seed": self.seed}


@keras.saving.register_keras_serializable(package="alexnet")
class RandomResizedCrop(layers.Layer):
    """A random window of ``scale`` of the image's area (aspect ratio within ``ratio``),
    resized to ``size`` square: Inception's crops, torchvision's RandomResizedCrop, which
    Keras lacks. Its 8 % lower bound is harsh for small images; 25 % is ours."""

    def __init__(self, size: int, scale=RRC_SCALE, ratio=RRC_RATIO,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.size, self.scale, self.ratio, self.seed = size, tuple(scale), tuple(ratio), seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, image):
        side = ops.cast(ops.shape(image)[0], "float32")

        def uniform(low, high):
            return keras.random.uniform((), low, high, seed=self.generator)

        area, log_ratio = uniform(*self.scale), uniform(*np.log(self.ratio))
        width = ops.minimum(ops.sqrt(area * ops.exp(log_ratio)), 1.0) * side
        height = ops.minimum(ops.sqrt(area / ops.exp(log_ratio)), 1.0) * side
        left, top = uniform(0.0, 1.0) * (side - width), uniform(0.0, 1.0) * (side - height)
        # output pixel (x, y) -> input (left + x * width / size, top + y * height / size)
        zero = ops.zeros(())
        transform = ops.stack([width / self.size, zero, left, zero, height / self.size,
                               top, zero, zero])
        x = ops.image.affine_transform(ops.cast(image, "float32")[None], transform[None],
                                       interpolation="bilinear", fill_mode="reflect")
        return x[0, :self.size, :self.size, :]

    def compute_output_shape(self, input_shape):
        return (self.size, self.size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "size": self.size, "scale": self.scale,
                "ratio": self.ratio, "seed": self.seed}
