"""Augmentation, the one home: names, parameters, constants and crop geometry, and the
on-device implementation (a Keras layer, ``keras.ops`` only).

Four training augmentations, by name (``--augmentation``):

- ``basic``: a random square crop (the paper's 224 of 256: the shorter side resized to
  ``resize_size(image_size)``, then a random ``image_size`` square) and a horizontal flip;
- ``paper``: ``basic`` plus the paper's PCA colour ("lighting") noise, std 0.1;
- ``rrc``: random-resized crops (Inception, torchvision) covering 25-100 % of the image
  area, aspect ratio 3/4-4/3, and a horizontal flip;
- ``none``: the evaluation crop (centre square), no flip: the no-augmentation ablation.

Evaluation takes the centre square, or the paper's ten crops (four corners and the
centre, each also mirrored). Pixels stay on the 0-255 scale: the model normalises them.

Two implementations read this spec: pipeline.py crops files while decoding them
(TensorFlow ops, in tf.data on the host) and ``arrays.Augment`` crops batches of
in-memory squares on the accelerator (any Keras backend). No Keras here, so the command
line can offer the names without loading it.
"""

from __future__ import annotations

from dataclasses import dataclass

# ImageNet's RGB covariance on the 0-1 scale (eigenvalues, eigenvectors as columns), as
# fb.resnet.torch and torchvision's reference scripts use for the paper's "fancy PCA".
EIGENVALUES = (0.2175, 0.0188, 0.0045)
EIGENVECTORS = ((-0.5675, 0.7192, 0.4009),
                (-0.5808, -0.0045, -0.8140),
                (-0.5836, -0.6948, 0.4203))
# Random-resized crops: area range and aspect ratios. Inception's and torchvision's 8 %
# lower bound is harsh for small images; 25 % is what our reported runs used.
RRC_SCALE = (0.25, 1.0)
RRC_RATIO = (3 / 4, 4 / 3)
PAPER_LIGHTING = 0.1  # the paper's standard deviation of the PCA weights


@dataclass(frozen=True)
class Augmentation:
    """One training augmentation: ``crop`` is ``square`` (the paper's random crop),
    ``resized`` (random-resized) or ``centre``; ``lighting`` the PCA noise std (0: off);
    ``words`` what it does, for people."""

    name: str
    crop: str
    flip: bool
    lighting: float
    words: str


AUGMENTATIONS = {
    "basic": Augmentation("basic", "square", True, 0.0, "random crops and horizontal flips"),
    "paper": Augmentation("paper", "square", True, PAPER_LIGHTING,
                          "random crops, horizontal flips and PCA colour augmentation"),
    "rrc": Augmentation("rrc", "resized", True, 0.0,
                        "random-resized crops and horizontal flips"),
    "none": Augmentation("none", "centre", False, 0.0, "centre crops only (no augmentation)"),
}


def lookup(name: str) -> Augmentation:
    """The augmentation called ``name``; the one place names are checked."""
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {name!r}: choose one of "
                         f"{', '.join(AUGMENTATIONS)}")
    return AUGMENTATIONS[name]


def resize_size(image_size: int) -> int:
    """Shorter side the crops are taken from: the paper's 256 for its 224 and 227
    crops, in proportion (256/224) for other sizes."""
    return 256 if 224 <= image_size <= 227 else round(image_size * 256 / 224)


def crop_fraction(image_size: int) -> float:
    """The side of the square and centre crops as a fraction of the shorter side."""
    return image_size / resize_size(image_size)


def five_crop_corners(bottom, right) -> list[tuple]:
    """(top, left) of the paper's five test crops in an image where a crop can start at
    most ``bottom`` rows down and ``right`` columns in: four corners, then the centre.
    Works on Python ints and on tensors."""
    return [(0, 0), (0, right), (bottom, 0), (bottom, right), (bottom // 2, right // 2)]
