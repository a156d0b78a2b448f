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

from alexnet import augment_layers, data, evaluate, images, model, plots

CHECKPOINT_DIR = data.PROJECT_DIR / "checkpoints"

# Recipes: named sets of TrainConfig values (the command line can override any).
RECIPES = {
    # Krizhevsky et al. 2012, sec. 5, as far as a small dataset allows: the paper
    # variant and initialisation, SGD 0.01 / momentum 0.9 / weight decay 5e-4,
    # lr / 10 when validation stalls, crops + flips + PCA lighting, batch 128.
    "paper": dict(variant="paper", init="paper", lr=0.01, momentum=0.9, weight_decay=5e-4,
                  batch_size=128, schedule="plateau", augmentation="paper", epochs=80,
                  patience=20),
    # What a practitioner would use today for AlexNet from scratch on Imagenette:
    # BatchNorm, random-resized crops, label smoothing, warm-up then cosine decay.
    "modern": dict(variant="bn", init="he", lr=0.05, momentum=0.9, weight_decay=5e-4,
                   batch_size=256, schedule="cosine", warmup_epochs=5, augmentation="rrc",
                   label_smoothing=0.1, epochs=80, patience=80),
}


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
    init: str = "glorot"            # glorot | he | paper (see model.py)
    limit: int | None = None        # images per class, for quick runs
    augmentation: str = "basic"     # basic (crop+flip) | paper (+PCA lighting) | rrc
    label_smoothing: float = 0.0
    schedule: str = "plateau"       # plateau (lr /= 10 when val_loss stalls) | cosine
    warmup_epochs: int = 0          # linear warm-up before the cosine decay
    cache: bool = False             # keep decoded images in memory after the first epoch
    in_memory: bool = False         # decode all images into RAM once, augment on the device
    time_limit: float | None = None  # minutes; stop after the epoch that passes it
    seed: int = 0
    out: str | None = None          # the run folder; default checkpoints/<run-name>

    def __post_init__(self):
        if self.variant not in model.VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}: choose one of "
                             f"{', '.join(model.VARIANTS)}")
        self.image_size = self.image_size or model.DEFAULT_IMAGE_SIZE[self.variant]
        if self.image_size < model.MIN_IMAGE_SIZE[self.variant]:
            raise ValueError(f"--image-size {self.image_size} is too small for variant "
                             f"{self.variant!r} (minimum {model.MIN_IMAGE_SIZE[self.variant]})")
        choices = (("augmentation", data.AUGMENTATIONS), ("schedule", ("plateau", "cosine")))
        for name, allowed in choices:
            if getattr(self, name) not in allowed:
                raise ValueError(f"unknown {name} {getattr(self, name)!r}: choose one of "
                                 f"{', '.join(allowed)}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")

    def run_dir(self) -> Path:
        if self.out:
            return Path(self.out)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return CHECKPOINT_DIR / f"{self.variant}-{self.image_size}px-{stamp}"


def learning_rate(config: TrainConfig, steps_per_epoch: int):
    """A constant rate (lowered by ReduceLROnPlateau) or warm-up then cosine decay."""
    if config.schedule == "plateau":
        return config.lr
    warmup = min(config.warmup_epochs, config.epochs - 1) * steps_per_epoch
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else config.lr, decay_steps=config.epochs * steps_per_epoch - warmup,
        warmup_target=config.lr if warmup else None, warmup_steps=warmup)


def compile_model(net: keras.Model, config: TrainConfig, steps_per_epoch: int) -> keras.Model:
    """SGD with momentum and weight decay (not on biases or BatchNorm), cross-entropy,
    Top-1 and Top-5 accuracy."""
    optimizer = keras.optimizers.SGD(learning_rate(config, steps_per_epoch),
                                     momentum=config.momentum, weight_decay=config.weight_decay)
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
    net.compile(optimizer=optimizer, loss=loss,
                metrics=[keras.metrics.CategoricalAccuracy(name="accuracy"),
                         keras.metrics.TopKCategoricalAccuracy(5, name="top5_accuracy")])
    return net


class EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` to each epoch's logs (so history.csv records speed) and
    stops training after the epoch that passes ``time_limit`` minutes, if given."""

    def __init__(self, time_limit: float | None = None):
        super().__init__()
        self.time_limit, self.elapsed = time_limit, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        self.elapsed += seconds
        if logs is not None:
            logs["epoch_seconds"] = seconds
        if self.time_limit and self.elapsed > 60 * self.time_limit:
            print(f"\nStopping: time limit of {self.time_limit} minutes reached")
            self.model.stop_training = True


def callbacks(run_dir: Path, config: TrainConfig) -> list[keras.callbacks.Callback]:
    """Timing, best checkpoint, early stopping, lr drops on plateau, CSV history."""
    chosen = [
        EpochTimer(config.time_limit),
        keras.callbacks.ModelCheckpoint(run_dir / "best.keras", monitor="val_accuracy",
                                        mode="max", save_best_only=True),
        keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                      patience=config.patience, restore_best_weights=True),
        keras.callbacks.CSVLogger(run_dir / "history.csv"),
    ]
    if config.schedule == "plateau":
        chosen.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1,
                                                        patience=config.lr_patience))
    return chosen


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


def load_data(config: TrainConfig):
    """(dataset root, train split, val split, training data, validation data).

    Files are read through tf.data; with ``in_memory``, or from a packed ``.npz``
    (arrays.pack), the whole dataset is decoded into uint8 arrays once and cropped
    and flipped on the device."""
    if str(config.data).endswith(".npz"):
        from alexnet import arrays

        config.in_memory = True
        unpacked = arrays.unpack(Path(config.data))
        (train_x, train_split), (val_x, val_split) = unpacked["train"], unpacked["val"]
        root = Path(config.data)
    else:
        root = data.locate(config.data)
        train_split, val_split = data.load(root, limit=config.limit)
        if config.in_memory:
            from alexnet import arrays

            source = augment_layers.resize_size(config.image_size)
            train_x, val_x = arrays.load(train_split, source), arrays.load(val_split, source)
    num_classes = len(train_split.class_names)
    if config.in_memory:
        train_data = (train_x, keras.utils.to_categorical(train_split.labels, num_classes))
        val_data = (val_x, keras.utils.to_categorical(val_split.labels, num_classes))
        return root, train_split, val_split, train_data, val_data
    from alexnet import pipeline

    train_ds = pipeline.batches(train_split, config.image_size, config.batch_size,
                                training=True, seed=config.seed, cache=config.cache,
                                augmentation=config.augmentation)
    val_ds = pipeline.batches(val_split, config.image_size, config.batch_size,
                              training=False, cache=config.cache)
    return root, train_split, val_split, train_ds, val_ds


def build_model(config: TrainConfig, num_classes: int) -> keras.Model:
    """The variant of ``config``; for in-memory data, behind the on-device augmentation."""
    net = model.build(config.variant, num_classes, config.image_size,
                      init=config.init, dropout=config.dropout)
    if not config.in_memory:
        return net
    crop = "resized" if config.augmentation == "rrc" else "random"
    lighting = 0.1 if config.augmentation == "paper" else 0.0
    return augment_layers.with_augmentation(net, crop=crop, lighting=lighting, seed=config.seed)


def train(config: TrainConfig) -> Path:
    """Trains, evaluates and plots one run; returns its folder. The notebook shows
    these same steps one cell at a time."""
    keras.utils.set_random_seed(config.seed)
    root, train_split, val_split, train_data, val_data = load_data(config)
    run_dir = config.run_dir()
    save_config(run_dir, config, train_split.class_names, root)
    net = build_model(config, len(train_split.class_names))
    steps = -(-len(train_split) // config.batch_size)
    compile_model(net, config, steps)
    print(f"Training {net.name} on {len(train_split)} images ({root}), validating on "
          f"{len(val_split)}; run folder {run_dir}")
    fit_args = dict(epochs=config.epochs, callbacks=callbacks(run_dir, config))
    if config.in_memory:
        net.fit(*train_data, batch_size=config.batch_size, validation_data=val_data,
                validation_batch_size=config.batch_size * 2, shuffle=True, **fit_args)
        val_batches = evaluate.array_batches(*val_data, config.batch_size * 2)
    else:
        net.fit(train_data, validation_data=val_data, shuffle=False, **fit_args)
        val_batches = val_data
        for split, name in ((train_split, "training"), (val_split, "validation")):
            if split.skipped:  # unreadable images, found when listing or when decoding
                print(images.report(split.skipped, name))

    best = model.load(run_dir / "best.keras")
    metrics = evaluate.evaluate(best, val_batches, train_split.class_names)
    evaluate.save(metrics, run_dir)
    if not config.in_memory:
        plots.save_run_plots(run_dir, metrics, best, train_split, val_split, config.image_size,
                             config.augmentation)
    return run_dir
