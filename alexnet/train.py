"""Training: one config dataclass, the SGD recipe, the callbacks, and a run folder.

A run folder (``checkpoints/<run-name>/`` by default) holds everything a run
made: ``config.json`` (this config plus the class names), ``best.keras`` (best
validation accuracy), ``history.csv``, and, after evaluation, ``metrics.json``
and the plots.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import keras

from alexnet import data, evaluate, model, pipeline, plots, recipe
from alexnet.recipe import compile_model

CHECKPOINT_DIR = data.PROJECT_DIR / "checkpoints"


@dataclass
class TrainConfig:
    """Everything that defines a run; saved as ``config.json`` beside its checkpoints."""

    data: str = "imagenette"        # a dataset folder, or a dataset name to locate/download
    variant: str = "bn"             # paper | owt | bn (see model.py)
    image_size: int | None = None   # None: the variant's own (224, or 227 for paper)
    epochs: int = 30
    batch_size: int = 64
    lr: float = 0.01                # the paper's initial learning rate
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_patience: int = 3            # epochs without val_loss improvement before lr /= 10
    patience: int = 8               # epochs without val_accuracy improvement before stopping
    dropout: float = 0.5
    init: str = "he"                # he | paper
    limit: int | None = None        # images per class, for quick runs
    cache: bool = False             # keep decoded images in memory after the first epoch
    seed: int = 0
    out: str | None = None          # the run folder; default checkpoints/<run-name>
    precision: str = "auto"         # auto | float32 | mixed_float16 | mixed_bfloat16 (recipe.py)
    jit_compile: str = "auto"       # auto | on | off: XLA (recipe.py)

    def __post_init__(self):
        if self.variant not in model.VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}: choose one of "
                             f"{', '.join(model.VARIANTS)}")
        self.image_size = self.image_size or model.DEFAULT_IMAGE_SIZE[self.variant]
        if self.image_size < model.MIN_IMAGE_SIZE[self.variant]:
            raise ValueError(f"--image-size {self.image_size} is too small for variant "
                             f"{self.variant!r} (minimum {model.MIN_IMAGE_SIZE[self.variant]})")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        recipe.check(self.precision, self.jit_compile)

    def run_dir(self) -> Path:
        if self.out:
            return Path(self.out)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return CHECKPOINT_DIR / f"{self.variant}-{self.image_size}px-{stamp}"


def callbacks(run_dir: Path, config: TrainConfig) -> list[keras.callbacks.Callback]:
    """Best checkpoint, early stopping, learning-rate drops on plateau, CSV history."""
    return [
        keras.callbacks.ModelCheckpoint(run_dir / "best.keras", monitor="val_accuracy",
                                        mode="max", save_best_only=True),
        keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                      patience=config.patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1,
                                          patience=config.lr_patience),
        keras.callbacks.CSVLogger(run_dir / "history.csv"),
    ]


def save_config(run_dir: Path, config: TrainConfig, class_names: list[str], root: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    record = {**dataclasses.asdict(config), "dataset_root": str(root),
              "class_names": class_names, "keras_backend": keras.backend.backend()}
    (run_dir / "config.json").write_text(json.dumps(record, indent=2) + "\n")


def load_config(run_dir: Path) -> dict:
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no config.json (is {run_dir} a run folder?)")
    return json.loads(path.read_text())


def train(config: TrainConfig) -> Path:
    """Trains, evaluates and plots one run; returns its folder. The notebook shows
    these same steps one cell at a time."""
    keras.utils.set_random_seed(config.seed)
    root = data.locate(config.data)
    train_split, val_split = data.load(root, limit=config.limit)
    run_dir = config.run_dir()
    save_config(run_dir, config, train_split.class_names, root)

    train_ds = pipeline.batches(train_split, config.image_size, config.batch_size, training=True,
                             seed=config.seed, cache=config.cache)
    val_ds = pipeline.batches(val_split, config.image_size, config.batch_size, training=False,
                           cache=config.cache)
    recipe.set_precision(config.precision)  # before building: layers take the global policy
    net = model.build(config.variant, len(train_split.class_names), config.image_size,
                      init=config.init, dropout=config.dropout)
    compile_model(net, config)
    print(f"Training {net.name} on {len(train_split)} images ({root}), validating on "
          f"{len(val_split)}; run folder {run_dir}")
    net.fit(train_ds, validation_data=val_ds, epochs=config.epochs, shuffle=False,
            callbacks=callbacks(run_dir, config))

    best = model.load(run_dir / "best.keras")
    metrics = evaluate.evaluate(best, val_ds, train_split.class_names)
    evaluate.save(metrics, run_dir)
    plots.save_run_plots(run_dir, metrics, best, train_split, val_split, config.image_size)
    return run_dir
