"""What defines a run: ``TrainConfig``, whose defaults are the ``modern`` recipe, and the
other recipes as overrides of it. No Keras here: the command line reads the choices.

One plain dataclass serves the command line and the notebook; it is checked when made (the
network's own settings, its image size and dropout, by the network's check when a run
starts: models/alexnet.py) and saved as the run folder's ``config.json`` (runfolder.py).
Nothing in the package changes a config after it is made.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from alexnet.data.splits import check_split_settings
from alexnet.models import DEFAULT_IMAGE_SIZE, INITS, VARIANTS

SCHEDULES = ("plateau", "cosine")
STRATEGIES = ("mirrored", "multiworker")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
JIT_COMPILE = ("auto", "on", "off")
CHOICES = {"variant": VARIANTS, "init": INITS,
           "augmentation": ("basic", "paper", "rrc", "none"),  # data/augment.py's, by name
           "schedule": SCHEDULES, "strategy": STRATEGIES, "precision": PRECISIONS,
           "jit_compile": JIT_COMPILE}


@dataclass
class TrainConfig:
    """Everything that defines a run. The defaults are the ``modern`` recipe: what a
    practitioner would train AlexNet with today (BatchNorm, He initialisation, random-
    resized crops, label smoothing, warm-up then cosine decay), sized for a GPU."""

    data: str = "imagenette"        # a dataset folder, a dataset name, or a packed .npz
    variant: str = "bn"             # paper | owt | bn (models/alexnet.py)
    image_size: int | None = None   # None: the variant's own (224, or 227 for paper)
    epochs: int = 80
    batch_size: int = 256
    lr: float = 0.05                # the peak, after the warm-up
    momentum: float = 0.9
    weight_decay: float = 5e-5      # added to the gradient, as in the paper (train.PaperSGD)
    schedule: str = "cosine"        # cosine: warm-up then cosine decay | plateau: lr / 10
    warmup_epochs: int = 5          # linear warm-up before the cosine decay
    lr_patience: int = 3            # plateau: epochs without val_loss progress before lr / 10
    patience: int = 10              # epochs without val_accuracy progress before stopping
    label_smoothing: float = 0.1
    dropout: float = 0.5
    init: str = "he"                # he | glorot | paper (models/alexnet.py)
    augmentation: str = "rrc"       # basic | paper | rrc | none (data/augment.py)
    cache: bool = False             # keep decoded images in memory after the first epoch
    in_memory: bool = False         # decode all images into RAM once, augment on the device
    mixup: float = 0.0              # MixUp's Beta alpha (0: off); in-memory data only
    cutmix: float = 0.0             # CutMix's Beta alpha in (0, 1] (0: off); in-memory only
    limit: int | None = None        # images per class, for quick runs
    train_fraction: float | None = None  # train on this seeded fraction of each class
    val_dir: str | None = None      # held-out folder; None: val/, validation/ or test/
    validation_split: float | None = None  # or hold out this fraction of train/ (per class)
    time_limit: float | None = None  # minutes; stop after the epoch that passes it
    seed: int = 0
    out: str | None = None          # the run folder; default checkpoints/<run-name>
    strategy: str | None = None     # None (one device) | mirrored | multiworker
    precision: str = "auto"         # auto: mixed on GPUs and bfloat16 CPUs (devices.py)
    jit_compile: str = "auto"       # auto | on | off: XLA (devices.py)
    recipe: str | None = None       # the recipe the settings started from, for the record

    def __post_init__(self):
        check(self)
        if self.image_size is None:
            self.image_size = DEFAULT_IMAGE_SIZE[self.variant]

    @property
    def in_memory_arrays(self) -> bool:
        """Whether the data is held in memory and augmented on the device: asked for with
        ``in_memory``, and always for a packed ``.npz``."""
        return self.in_memory or str(self.data).endswith(".npz")


# The other recipes: what they change of TrainConfig's defaults (the modern recipe).
RECIPES = {
    "modern": {},
    # A real result on a laptop CPU in about 20 minutes (docs/results.md#quick): the
    # modern network at 128 px, batches of 128 (the CPU's best throughput), a short
    # schedule, crops and flips only (random-resized crops over-regularise a short run),
    # images decoded once into memory; what we would choose for any ten-class photo set
    # of this size.
    "quick": dict(image_size=128, epochs=12, batch_size=128, lr=0.02, warmup_epochs=2,
                  augmentation="basic", in_memory=True, patience=5),
    # Krizhevsky et al. 2012, sec. 5, as far as a small dataset allows: SGD 0.01, weight
    # decay 5e-4, lr / 10 when validation stalls, crops + flips + PCA lighting, batch 128.
    # One change: He initialisation, with which it trains (with the paper's N(0, 0.01) it
    # diverged on Imagenette: docs/results.md).
    "paper": dict(variant="paper", lr=0.01, weight_decay=5e-4, batch_size=128,
                  schedule="plateau", warmup_epochs=0, label_smoothing=0.0,
                  augmentation="paper", patience=20),
}
GPU_RECIPE, CPU_RECIPE = "modern", "quick"  # what `train` uses without --recipe


def check(config: TrainConfig) -> None:
    """Every training setting at its bounds, with one line naming the flag: the one check,
    for the command line and the notebook alike."""
    for name, choices in CHOICES.items():
        value = getattr(config, name)
        if not (value in choices or (name == "strategy" and value is None)):
            raise ValueError(f"unknown --{flag(name)} {value!r}: choose one of "
                             f"{', '.join(choices)}")
    for name in ("epochs", "batch_size", "patience", "lr_patience"):
        if getattr(config, name) < 1:
            raise ValueError(f"--{flag(name)} {getattr(config, name)}: must be at least 1")
    if config.limit is not None and config.limit < 1:
        raise ValueError(f"--limit {config.limit}: must be at least 1 (images per class)")
    if config.train_fraction is not None and not 0 < config.train_fraction < 1:
        raise ValueError(f"--train-fraction {config.train_fraction}: must be a fraction "
                         "between 0 and 1, e.g. 0.1")
    if config.train_fraction is not None and str(config.data).endswith(".npz"):
        raise ValueError("--train-fraction thins a dataset folder, not a packed .npz")
    if config.batch_size > 4096:
        raise ValueError(f"--batch-size {config.batch_size}: at most 4096")
    if not 0 < config.lr <= 10:
        raise ValueError(f"--lr {config.lr}: must be above 0 (and at most 10)")
    if not 0 <= config.momentum < 1:
        raise ValueError(f"--momentum {config.momentum}: must be in [0, 1)")
    if not 0 <= config.weight_decay < 1:
        raise ValueError(f"--weight-decay {config.weight_decay}: must be in [0, 1)")
    if not 0 <= config.label_smoothing < 1:
        raise ValueError(f"--label-smoothing {config.label_smoothing}: must be in [0, 1)")
    if config.warmup_epochs < 0:
        raise ValueError(f"--warmup-epochs {config.warmup_epochs}: must be at least 0")
    if config.time_limit is not None and config.time_limit <= 0:
        raise ValueError(f"--time-limit {config.time_limit}: must be above 0 minutes")
    if config.strategy and config.in_memory_arrays:
        raise ValueError("--strategy reads files through tf.data: drop --in-memory")
    for name in ("mixup", "cutmix"):
        if getattr(config, name) < 0:
            raise ValueError(f"--{name} must be at least 0 (0: off)")
        if getattr(config, name) > 0 and not config.in_memory_arrays:
            raise ValueError(f"--{name} mixes in-memory batches: add --in-memory")
    if config.cutmix > 1:
        raise ValueError("--cutmix must be at most 1 (Keras' CutMix draws its Beta "
                         "parameter from (0, 1])")
    check_split_settings(config.val_dir, config.validation_split)


def flag(name: str) -> str:
    return name.replace("_", "-")


def from_recipe(recipe: str = GPU_RECIPE, **settings) -> TrainConfig:
    """The settings of ``recipe``, each overridden by ``settings`` given and not None."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}: choose one of {', '.join(RECIPES)}")
    given = {name: value for name, value in settings.items() if value is not None}
    return TrainConfig(**{**RECIPES[recipe], **given, "recipe": recipe})


def default_recipe(gpu: bool, settings: dict) -> tuple[str, dict, str]:
    """What ``train`` runs without --recipe: ``modern`` on a machine with a GPU, ``quick``
    without, with ``settings`` over it, and a note for the user. ``quick`` holds the images
    in memory, which a --strategy cannot share out (its replicas read files through
    tf.data): given a --strategy and no --in-memory, the recipe reads the files instead."""
    recipe = GPU_RECIPE if gpu else CPU_RECIPE
    if (settings.get("strategy") and settings.get("in_memory") is None
            and RECIPES[recipe].get("in_memory")):
        return recipe, {**settings, "in_memory": False}, (
            f"; reading the files, not holding them in memory: --strategy "
            f"{settings['strategy']} shares them out")
    return recipe, settings, ""


def fields() -> set[str]:
    return {field.name for field in dataclasses.fields(TrainConfig)}
