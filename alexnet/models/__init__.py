"""AlexNet's variants and their layers: ``alexnet.py`` (the networks), ``layers.py`` (what
Keras lacks: LRN, grouped convolutions), ``fast.py`` (CPU swap-ins), ``summary.py``
(MACs, where each layer sits), ``port.py`` (torchvision weights).

This file loads no Keras, so that the command line can offer the choices below quickly.
"""

VARIANTS = ("paper", "owt", "bn")
INITS = ("glorot", "he", "paper")
DEFAULT_IMAGE_SIZE = {"paper": 227, "owt": 224, "bn": 224}
# Smallest inputs that survive every pooling (pool5 at least 1x1); the largest we accept:
# twice ImageNet's 227, which already takes about 8 GB a batch of 128 in training.
MIN_IMAGE_SIZE = {"paper": 67, "owt": 63, "bn": 63}
MAX_IMAGE_SIZE = 512


def check(variant: str, image_size: int | None = None, init: str = "he",
          num_classes: int = 10, dropout: float = 0.5) -> int:
    """Raises a ValueError naming the setting out of bounds; returns the image size
    (the variant's default for None). The one check, for ``build`` and ``TrainConfig``."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: choose one of {', '.join(VARIANTS)}")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}: choose one of {', '.join(INITS)}")
    size = DEFAULT_IMAGE_SIZE[variant] if image_size is None else image_size
    if not MIN_IMAGE_SIZE[variant] <= size <= MAX_IMAGE_SIZE:
        raise ValueError(f"--image-size {size}: variant {variant!r} takes "
                         f"{MIN_IMAGE_SIZE[variant]} to {MAX_IMAGE_SIZE} pixels")
    if num_classes < 2:
        raise ValueError(f"{num_classes} class(es): a classifier needs at least 2")
    if not 0 <= dropout < 1:
        raise ValueError(f"--dropout {dropout}: must be in [0, 1)")
    return size
