"""The recipes, as plain data: ``TrainConfig``, whose defaults are the ``modern`` recipe,
and the others as what they change of it. No Keras here: the command line reads them.

One dataclass serves the notebook and the command line (whose ``train`` flags are made
from its fields) and is saved as a run's ``config.json``. It checks the training settings
when it is made (``check``); the network checks its own (models/alexnet.py). Nothing in
the package changes a config after it is made.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from alexnet.data.splits import check_split_settings
from alexnet.models import DEFAULT_IMAGE_SIZE, INITS, VARIANTS

SCHEDULES = ("plateau", "cosine")
STRATEGIES = ("mirrored", "multiworker")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
JIT_COMPILE = ("auto", "on", "off")
CHOICES = {"variant": VARIANTS, "init": INITS,
           "augmentation": ("basic", "paper", "rrc", "none"),  # data/augment.py's
           "schedule": SCHEDULES, "strategy": STRATEGIES, "precision": PRECISIONS,
           "jit_compile": JIT_COMPILE}


def setting(default, help: str, **flag):
    """A field of ``TrainConfig`` with what its command-line flag says (``help``, and
    argparse's ``metavar`` where wanted): the flags are made from these fields."""
    return field(default=default, metadata={"help": help, **flag})


@dataclass
class TrainConfig:
    """Everything that defines a run. The defaults are the ``modern`` recipe: what a
    practitioner would train AlexNet with today (BatchNorm, He initialisation, random-
    resized crops, label smoothing, warm-up then cosine decay), sized for a GPU."""

    data: str = setting("imagenette", "a dataset folder, a dataset name to find or "
                        "download, or a packed .npz")
    variant: str = setting("bn", "the network: paper (2012) | owt (torchvision) | bn "
                           "(owt with BatchNorm): alexnet/models/alexnet.py")
    image_size: int | None = setting(None, "crop size in pixels (default: the variant's, "
                                     "224; paper 227)")
    epochs: int = setting(80, "epochs of training")
    batch_size: int = setting(256, "images per step")
    lr: float = setting(0.05, "peak learning rate, after the warm-up")
    momentum: float = setting(0.9, "SGD momentum")
    weight_decay: float = setting(5e-5, "L2 decay of the kernels, in the gradient before "
                                  "momentum as in the paper")
    schedule: str = setting("cosine", "cosine: warm-up then cosine decay | plateau: lr / 10 "
                            "when val_loss stalls")
    warmup_epochs: int = setting(5, "linear warm-up before the cosine decay")
    lr_patience: int = setting(3, "plateau: epochs without val_loss progress before lr / 10")
    patience: int = setting(10, "epochs without val_accuracy progress before stopping")
    label_smoothing: float = setting(0.1, "label smoothing of the cross-entropy")
    dropout: float = setting(0.5, "dropout rate before fc6 and fc7")
    init: str = setting("he", "weight initialisation: he | glorot | paper (N(0, 0.01))")
    augmentation: str = setting("rrc", "basic: crops and flips | paper: and PCA lighting | "
                                "rrc: random-resized crops and flips | none: centre crops "
                                "(alexnet/data/augment.py)")
    cache: bool = setting(False, "keep the decoded images in memory after the first epoch")
    in_memory: bool = setting(False, "decode every image into memory once, before training")
    mixup: float = setting(0.0, "MixUp's Beta(ALPHA, ALPHA), e.g. 0.2 (0: off)",
                           metavar="ALPHA")
    cutmix: float = setting(0.0, "CutMix's Beta(ALPHA, ALPHA) in (0, 1], e.g. 1.0 (0: off)",
                            metavar="ALPHA")
    limit: int | None = setting(None, "images per class, for quick runs")
    train_fraction: float | None = setting(None, "train on a seeded fraction F of each class "
                                           "(validation stays whole), e.g. 0.1",
                                           metavar="F")
    val_dir: str | None = setting(None, "folder of the held-out images (default: val/, "
                                  "validation/ or test/, the first there is)", metavar="NAME")
    validation_split: float | None = setting(None, "hold out a seeded fraction F of each "
                                             "class of train/, e.g. 0.2", metavar="F")
    time_limit: float | None = setting(None, "stop after the epoch that passes this many "
                                       "minutes", metavar="MINUTES")
    seed: int = setting(0, "seed of the weights, the shuffles and the augmentation")
    out: str | None = setting(None, "the run folder (default: checkpoints/<run-name>)")
    strategy: str | None = setting(None, "mirrored: every local GPU | multiworker: the "
                                   "machines TF_CONFIG names (default: one device)")
    precision: str = setting("auto", "auto: mixed on GPUs and on CPUs with bfloat16 units, "
                             "else float32")
    jit_compile: str = setting("auto", "XLA; auto: on for GPUs, off for TensorFlow on a CPU")
    recipe: str | None = setting(None, "the recipe the settings started from")

    def __post_init__(self):
        check(self)
        if self.image_size is None:
            self.image_size = DEFAULT_IMAGE_SIZE[self.variant]



# The other recipes: what they change of TrainConfig's defaults (the modern recipe).
RECIPES = {
    "modern": {},
    # A real result on a 2-core CPU in 10 (bfloat16) to 21 (float32) minutes
    # (docs/results.md): the modern network at 128 px, batches of 128 (the CPU's best
    # throughput), eight epochs of a short warm-up then cosine, crops and flips only
    # (random-resized crops over-regularise a short run), dropout 0.25 (0.5 held a short
    # run back 2 points), images decoded once into memory.
    "quick": dict(image_size=128, epochs=8, batch_size=128, lr=0.02, warmup_epochs=2,
                  dropout=0.25, augmentation="basic", in_memory=True, patience=5),
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
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"--{flag(item.name)} {value}: must be a finite number")
    if not 0 <= config.seed < 2**32:
        raise ValueError(f"--seed {config.seed}: must be in [0, 2**32)")
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
    if config.time_limit is not None and config.time_limit <= 0:
        raise ValueError(f"--time-limit {config.time_limit}: must be above 0 minutes")
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
    for name in ("mixup", "cutmix"):
        if getattr(config, name) < 0:
            raise ValueError(f"--{name} must be at least 0 (0: off)")
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


def default_recipe(gpu: bool) -> str:
    """What ``train`` runs without --recipe: ``modern`` on a machine with a GPU, ``quick``
    without."""
    return GPU_RECIPE if gpu else CPU_RECIPE


def fields() -> set[str]:
    return {field.name for field in dataclasses.fields(TrainConfig)}
