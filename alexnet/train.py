"""Training: one config dataclass, the SGD recipe, the callbacks, and a run folder.

A run folder (``checkpoints/<run-name>/`` by default) holds everything a run
made: ``config.json`` (this config plus the class names), ``best.keras`` (best
validation accuracy), ``history.csv``, ``state/`` (what ``--resume`` continues
from, see resume.py), and, after evaluation, ``metrics.json`` and the plots.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import keras

from alexnet import augment_layers, data, evaluate, images, model, plots, precision, resume
from alexnet.optimizer import PaperSGD

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
    # weight_decay 5e-5 through momentum equals the 5e-4 of Keras' decoupled decay that
    # our measured run (results/imagenette-modern) used: both shrink weights by lr x 5e-4
    # per step.
    "modern": dict(variant="bn", init="he", lr=0.05, momentum=0.9, weight_decay=5e-5,
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
    weight_decay: float = 5e-4      # the paper's: part of the gradient (PaperSGD)
    lr_patience: int = 3            # epochs without val_loss improvement before lr /= 10
    patience: int = 8               # epochs without val_accuracy improvement before stopping
    dropout: float = 0.5
    init: str = "glorot"            # glorot | he | paper (see model.py)
    limit: int | None = None        # images per class, for quick runs
    val_dir: str | None = None      # held-out folder; None: val/, validation/ or test/ (data.py)
    validation_split: float | None = None  # or hold out this fraction of train/ (per class)
    augmentation: str = "basic"     # basic (crop+flip) | paper (+PCA lighting) | rrc
    label_smoothing: float = 0.0
    mixup: float = 0.0              # MixUp's Beta alpha (0: off); in-memory data only
    cutmix: float = 0.0             # CutMix's Beta alpha (0: off); with mixup, half each
    schedule: str = "plateau"       # plateau (lr /= 10 when val_loss stalls) | cosine
    warmup_epochs: int = 0          # linear warm-up before the cosine decay
    cache: bool = False             # keep decoded images in memory after the first epoch
    in_memory: bool = False         # decode all images into RAM once, augment on the device
    time_limit: float | None = None  # minutes; stop after the epoch that passes it
    seed: int = 0
    out: str | None = None          # the run folder; default checkpoints/<run-name>
    strategy: str | None = None     # None (one device) | mirrored | multiworker (distribute.py)
    precision: str = "auto"         # auto | float32 | mixed_float16 | mixed_bfloat16 (precision.py)
    jit_compile: str = "auto"       # auto | on | off: XLA (precision.py)
    recipe: str | None = None       # the preset the settings started from, for the record

    def __post_init__(self):
        if self.variant not in model.VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}: choose one of "
                             f"{', '.join(model.VARIANTS)}")
        self.image_size = self.image_size or model.DEFAULT_IMAGE_SIZE[self.variant]
        if self.image_size < model.MIN_IMAGE_SIZE[self.variant]:
            raise ValueError(f"--image-size {self.image_size} is too small for variant "
                             f"{self.variant!r} (minimum {model.MIN_IMAGE_SIZE[self.variant]})")
        choices = (("augmentation", data.AUGMENTATIONS), ("schedule", ("plateau", "cosine")),
                   ("strategy", (None, "mirrored", "multiworker")))
        for name, allowed in choices:
            if getattr(self, name) not in allowed:
                raise ValueError(f"unknown --{name} {getattr(self, name)!r}: choose one of "
                                 f"{', '.join(map(str, allowed))}")
        if self.strategy and self.in_memory:
            raise ValueError("--strategy reads files through tf.data: drop --in-memory")
        for name in ("mixup", "cutmix"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name} must be at least 0 (0: off)")
            if getattr(self, name) > 0 and not (self.in_memory or str(self.data).endswith(".npz")):
                raise ValueError(f"--{name} mixes in-memory batches: add --in-memory")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        precision.check(self.precision, self.jit_compile)
        data.check_split_settings(self.val_dir, self.validation_split)

    def run_dir(self) -> Path:
        if self.out:
            return Path(self.out)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return CHECKPOINT_DIR / f"{self.variant}-{self.image_size}px-{stamp}"


def learning_rate(config: TrainConfig, steps_per_epoch: int | None):
    """A constant rate (lowered by ReduceLROnPlateau) or warm-up then cosine decay."""
    if config.schedule == "plateau":
        return config.lr
    if not steps_per_epoch:
        raise ValueError("the cosine schedule needs steps_per_epoch")
    warmup = min(config.warmup_epochs, config.epochs - 1) * steps_per_epoch
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else config.lr, decay_steps=config.epochs * steps_per_epoch - warmup,
        warmup_target=config.lr if warmup else None, warmup_steps=warmup)


def compile_model(net: keras.Model, config: TrainConfig,
                  steps_per_epoch: int | None = None) -> keras.Model:
    """SGD with momentum and the paper's weight decay (``PaperSGD``), cross-entropy
    (label smoothing optional), Top-1 and Top-5 accuracy, XLA per ``config.jit_compile``."""
    optimizer = PaperSGD(learning_rate(config, steps_per_epoch), momentum=config.momentum,
                         weight_decay=config.weight_decay)
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
    net.compile(optimizer=optimizer, loss=loss,
                metrics=[keras.metrics.CategoricalAccuracy(name="accuracy"),
                         keras.metrics.TopKCategoricalAccuracy(5, name="top5_accuracy")],
                jit_compile=precision.resolve_jit_compile(config.jit_compile))
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


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops at the first NaN or infinite loss with an error, before the epoch ends,
    so no checkpoint or state of the diverged model is written (Keras'
    TerminateOnNaN lets the epoch end, and its checkpoints, go ahead)."""

    def __init__(self, run_dir: Path):
        super().__init__()
        self.run_dir = run_dir
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"loss is {loss} at epoch {self.epoch + 1}, batch {batch + 1}: training "
                f"stopped; {self.run_dir} keeps the last good epoch (try a lower --lr)")


def callbacks(run_dir: Path, config: TrainConfig,
              write_dir: Path | None = None) -> list[keras.callbacks.Callback]:
    """Timing, best checkpoint, early stopping, learning-rate drops on plateau (with
    the plateau schedule), a stop on a NaN loss, and the resume state that also
    writes ``history.csv``.

    ``fit`` with these continues the run in ``run_dir`` from its last completed
    epoch if it has one (so the notebook resumes by running its fit cell again).
    ``write_dir``: where this process writes (default ``run_dir``; a scratch
    folder on multi-worker workers other than the chief).
    """
    write_dir = Path(write_dir or run_dir)
    peers = [
        EpochTimer(config.time_limit),
        StopOnNonFiniteLoss(run_dir),
        resume.BestCheckpoint(write_dir / "best.keras", monitor="val_accuracy", mode="max"),
        keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                      patience=config.patience, restore_best_weights=True),
    ]
    if config.schedule == "plateau":
        peers.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1,
                                                       patience=config.lr_patience))
    return [*peers, resume.ResumeState(run_dir, peers, best_path=Path(run_dir) / "best.keras",
                                       write_dir=write_dir)]


def save_config(run_dir: Path, config: TrainConfig, class_names: list[str], root: Path,
                command: str | None = None) -> None:
    """Writes ``config.json``: the settings, the classes, and where and how the run was
    made (``command``: the one that started it)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    record = {**dataclasses.asdict(config), "dataset_root": str(root),
              "class_names": class_names, "keras_backend": keras.backend.backend(),
              "optimizer": PaperSGD.__name__,  # runs before it used Keras' decoupled decay
              "machine": precision.device_name(), "command": command}
    resume.write_text(run_dir / "config.json", json.dumps(record, indent=2) + "\n")


def load_config(run_dir: Path) -> dict:
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no config.json (is {run_dir} a run folder?)")
    return json.loads(path.read_text())


def resume_config(run_dir: Path, **changes) -> TrainConfig:
    """The config of the run in ``run_dir``, to continue it; ``changes`` (e.g. more
    ``epochs``, another ``strategy``) override the saved values."""
    saved = load_config(run_dir)
    fields = {field.name for field in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{**{k: v for k, v in saved.items() if k in fields}, **changes,
                          "out": str(run_dir)})


def _check_run_folder(run_dir: Path, class_names: list[str], root: Path, resuming: bool) -> None:
    """A new run never overwrites an old one; a resumed one must see the same classes."""
    if not resuming:
        if (run_dir / "best.keras").exists() or resume.read_state(run_dir) is not None:
            raise FileExistsError(f"{run_dir} already holds a run: continue it with "
                                  f"--resume {run_dir}, or choose another --out")
        return
    saved = load_config(run_dir)["class_names"]
    if saved != class_names:
        raise ValueError(f"{run_dir}: its checkpoints have {len(saved)} classes but {root} has "
                         f"{len(class_names)} (differing: "
                         f"{sorted(set(saved) ^ set(class_names))[:5]})")


def load_data(config: TrainConfig, strategy=None, seed: int | None = None):
    """(dataset root, train split, val split, training data, validation data).

    Files are read through tf.data; with ``in_memory``, or from a packed ``.npz``
    (arrays.pack), the whole dataset is decoded into uint8 arrays once and cropped
    and flipped on the device. Under a tf.distribute ``strategy`` each worker reads
    its own share of the files."""
    if str(config.data).endswith(".npz"):
        from alexnet import arrays

        config.in_memory = True
        unpacked = arrays.unpack(Path(config.data))
        (train_x, train_split), (val_x, val_split) = unpacked["train"], unpacked["val"]
        root = Path(config.data)
    else:
        root = data.locate(config.data)
        train_split, val_split = data.load(root, limit=config.limit, val_dir=config.val_dir,
                                           validation_split=config.validation_split,
                                           seed=config.seed)
        if config.in_memory:
            from alexnet import arrays

            source = augment_layers.resize_size(config.image_size)
            train_x, val_x = arrays.load(train_split, source), arrays.load(val_split, source)
    num_classes = len(train_split.class_names)
    if config.in_memory:
        train_data = (train_x, keras.utils.to_categorical(train_split.labels, num_classes))
        val_data = (val_x, keras.utils.to_categorical(val_split.labels, num_classes))
        return root, train_split, val_split, train_data, val_data
    from alexnet import distribute, pipeline

    seed = config.seed if seed is None else seed

    def batches(split: data.Split, training: bool, batch_size: int):
        return pipeline.batches(split, config.image_size, batch_size, training=training,
                                seed=seed, cache=config.cache, augmentation=config.augmentation)

    if strategy is None:
        return (root, train_split, val_split, batches(train_split, True, config.batch_size),
                batches(val_split, False, config.batch_size))

    def sharded(split: data.Split, training: bool):
        def make(shard: int, shards: int, batch_size: int):
            part = distribute.shard(split, shard, shards, config.batch_size)
            left_out = len(split) - shards * len(part)
            if left_out and shard == 0:
                print(f"{left_out} of {len(split)} {'training' if training else 'validation'} "
                      f"images left out so that all {shards} workers take the same steps")
            return batches(part, training, batch_size)
        return distribute.datasets(strategy, config.batch_size, make)

    return root, train_split, val_split, sharded(train_split, True), sharded(val_split, False)


def build_model(config: TrainConfig, num_classes: int) -> keras.Model:
    """The variant of ``config``; for in-memory data, behind the on-device augmentation."""
    net = model.build(config.variant, num_classes, config.image_size,
                      init=config.init, dropout=config.dropout)
    if not config.in_memory:
        return net
    if config.augmentation == "none":
        raise ValueError("--augmentation none is not available with --in-memory yet")
    crop = "resized" if config.augmentation == "rrc" else "random"
    lighting = 0.1 if config.augmentation == "paper" else 0.0
    return augment_layers.with_augmentation(net, crop=crop, lighting=lighting, seed=config.seed)


def train(config: TrainConfig, resume_run: bool = False, command: str | None = None) -> Path:
    """Trains, evaluates and plots one run; returns its folder. The notebook shows
    these same steps one cell at a time. ``resume_run``: continue the run in
    ``config.out`` from its last completed epoch (see ``resume_config``); ``command``:
    how the run was started, recorded in its config.json."""
    strategy = None
    if config.strategy:
        from alexnet import distribute

        strategy = distribute.strategy(config.strategy)  # first: it sets up the cluster
        if config.batch_size % strategy.num_replicas_in_sync:
            raise ValueError(f"--batch-size {config.batch_size} does not split evenly across "
                             f"{strategy.num_replicas_in_sync} replicas")
    run_dir = config.run_dir()
    state = resume.read_state(run_dir) if resume_run else None
    first_epoch = state["epoch"] if state else 0
    keras.utils.set_random_seed(config.seed + first_epoch)  # a resumed run reshuffles anew
    root, train_split, val_split, train_data, val_data = load_data(
        config, strategy, seed=config.seed + first_epoch)
    _check_run_folder(run_dir, train_split.class_names, root, resume_run)
    if resume_run:  # the record keeps the command that started the run
        command = load_config(run_dir).get("command") or command

    chief = strategy is None or distribute.is_chief(strategy)
    write_dir = run_dir if chief else Path(tempfile.mkdtemp(prefix="alexnet-worker-"))
    try:
        save_config(write_dir, config, train_split.class_names, root, command)
    except OSError as error:
        raise OSError(f"run folder {write_dir}: cannot write there "
                      f"({error.strerror or error})") from None

    precision.set_precision(config.precision)  # before building: layers take the global policy
    with strategy.scope() if strategy else contextlib.nullcontext():
        net = build_model(config, len(train_split.class_names))
        compile_model(net, config, steps_per_epoch=-(-len(train_split) // config.batch_size))
    replicas = strategy.num_replicas_in_sync if strategy else 1
    print(f"Training {net.name} on {len(train_split)} images ({root}), validating on "
          f"{len(val_split)}; {replicas} replica(s); run folder {run_dir}")
    fit_args = dict(epochs=config.epochs, callbacks=callbacks(run_dir, config, write_dir))
    if config.in_memory:
        if config.mixup or config.cutmix:
            mixed = augment_layers.MixedBatches(*train_data, config.batch_size, config.mixup,
                                                config.cutmix, seed=config.seed + first_epoch)
            net.fit(mixed, validation_data=val_data,
                    validation_batch_size=config.batch_size * 2, **fit_args)
        else:
            net.fit(*train_data, batch_size=config.batch_size, validation_data=val_data,
                    validation_batch_size=config.batch_size * 2, shuffle=True, **fit_args)
        val_data = evaluate.array_batches(*val_data, config.batch_size * 2)
    else:
        net.fit(train_data, validation_data=val_data, shuffle=False, **fit_args)
    if not chief:  # the chief evaluates and writes the run folder
        shutil.rmtree(write_dir, ignore_errors=True)
        return run_dir

    best = model.load(run_dir / "best.keras")
    if strategy is not None and distribute.is_multi_worker(strategy):
        from alexnet import pipeline  # the chief alone evaluates, on all of val/

        val_data = pipeline.batches(val_split, config.image_size, config.batch_size,
                                    training=False, cache=config.cache)
    metrics = evaluate.evaluate(best, val_data, train_split.class_names)
    evaluate.save(metrics, run_dir)
    for split, name in ((train_split, "training"), (val_split, "validation")):
        if split.skipped:  # unreadable images, found when listing or when decoding
            print(images.report(split.skipped, name))
    if not config.in_memory:
        plots.save_run_plots(run_dir, metrics, best, train_split, val_split, config.image_size,
                             config.augmentation)
    return run_dir
