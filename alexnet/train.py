"""Training: one config dataclass, the SGD recipe, the callbacks, and a run folder.

A run folder (``checkpoints/<run-name>/`` by default) holds everything a run
made: ``config.json`` (this config plus the class names), ``best.keras`` (best
validation accuracy), ``history.csv``, ``state/`` (what ``--resume`` continues
from, see resume.py), and, after evaluation, ``metrics.json`` and the plots.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import keras

from alexnet import data, distribute, evaluate, model, pipeline, plots, resume

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
    strategy: str | None = None     # None (one device) | mirrored | multiworker (distribute.py)

    def __post_init__(self):
        if self.variant not in model.VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}: choose one of "
                             f"{', '.join(model.VARIANTS)}")
        self.image_size = self.image_size or model.DEFAULT_IMAGE_SIZE[self.variant]
        if self.image_size < model.MIN_IMAGE_SIZE[self.variant]:
            raise ValueError(f"--image-size {self.image_size} is too small for variant "
                             f"{self.variant!r} (minimum {model.MIN_IMAGE_SIZE[self.variant]})")
        if self.strategy is not None and self.strategy not in distribute.STRATEGIES:
            raise ValueError(f"unknown --strategy {self.strategy!r}: choose one of "
                             f"{', '.join(distribute.STRATEGIES)}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")

    def run_dir(self) -> Path:
        if self.out:
            return Path(self.out)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return CHECKPOINT_DIR / f"{self.variant}-{self.image_size}px-{stamp}"


def compile_model(net: keras.Model, config: TrainConfig) -> keras.Model:
    """SGD with momentum and weight decay (not on biases or BatchNorm), cross-entropy,
    Top-1 and Top-5 accuracy."""
    optimizer = keras.optimizers.SGD(config.lr, momentum=config.momentum,
                                     weight_decay=config.weight_decay)
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    net.compile(optimizer=optimizer, loss="categorical_crossentropy",
                metrics=[keras.metrics.CategoricalAccuracy(name="accuracy"),
                         keras.metrics.TopKCategoricalAccuracy(5, name="top5_accuracy")])
    return net


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
    """Best checkpoint, early stopping, learning-rate drops on plateau, a stop on a
    NaN loss, and the resume state that also writes ``history.csv``.

    ``fit`` with these continues the run in ``run_dir`` from its last completed
    epoch if it has one (so the notebook resumes by running its fit cell again).
    ``write_dir``: where this process writes (default ``run_dir``; a scratch
    folder on multi-worker workers other than the chief).
    """
    write_dir = Path(write_dir or run_dir)
    peers = [
        StopOnNonFiniteLoss(run_dir),
        resume.BestCheckpoint(write_dir / "best.keras", monitor="val_accuracy", mode="max"),
        keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                      patience=config.patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1,
                                          patience=config.lr_patience),
    ]
    return [*peers, resume.ResumeState(run_dir, peers, best_path=Path(run_dir) / "best.keras",
                                       write_dir=write_dir)]


def save_config(run_dir: Path, config: TrainConfig, class_names: list[str], root: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    record = {**dataclasses.asdict(config), "dataset_root": str(root),
              "class_names": class_names, "keras_backend": keras.backend.backend()}
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


def train(config: TrainConfig, resume_run: bool = False) -> Path:
    """Trains, evaluates and plots one run; returns its folder. The notebook shows
    these same steps one cell at a time. ``resume_run``: continue the run in
    ``config.out`` from its last completed epoch (see ``resume_config``)."""
    strategy = distribute.strategy(config.strategy)  # first: it sets up the cluster
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ValueError(f"--batch-size {config.batch_size} does not split evenly across "
                         f"{replicas} replicas")
    root = data.locate(config.data)
    train_split, val_split = data.load(root, limit=config.limit)
    run_dir = config.run_dir()
    _check_run_folder(run_dir, train_split.class_names, root, resume_run)
    state = resume.read_state(run_dir) if resume_run else None
    first_epoch = state["epoch"] if state else 0
    keras.utils.set_random_seed(config.seed + first_epoch)  # a resumed run reshuffles anew

    chief = distribute.is_chief(strategy)
    write_dir = run_dir if chief else Path(tempfile.mkdtemp(prefix="alexnet-worker-"))
    try:
        save_config(write_dir, config, train_split.class_names, root)
    except OSError as error:
        raise OSError(f"run folder {write_dir}: cannot write there "
                      f"({error.strerror or error})") from None

    def dataset(split: data.Split, training: bool):
        def make(shard: int, shards: int, batch_size: int):
            part = distribute.shard(split, shard, shards, config.batch_size)
            left_out = len(split) - shards * len(part)
            if left_out and shard == 0:
                print(f"{left_out} of {len(split)} {'training' if training else 'validation'} "
                      f"images left out so that all {shards} workers take the same steps")
            return pipeline.batches(part, config.image_size, batch_size, training=training,
                                    seed=config.seed + first_epoch, cache=config.cache)
        return distribute.datasets(strategy, config.batch_size, make)

    train_ds, val_ds = dataset(train_split, True), dataset(val_split, False)
    with strategy.scope():
        net = model.build(config.variant, len(train_split.class_names), config.image_size,
                          init=config.init, dropout=config.dropout)
        compile_model(net, config)
    print(f"Training {net.name} on {len(train_split)} images ({root}), validating on "
          f"{len(val_split)}; {replicas} replica(s); run folder {run_dir}")
    net.fit(train_ds, validation_data=val_ds, epochs=config.epochs, shuffle=False,
            callbacks=callbacks(run_dir, config, write_dir))
    if not chief:  # the chief evaluates and writes the run folder
        shutil.rmtree(write_dir, ignore_errors=True)
        return run_dir

    best = model.load(run_dir / "best.keras")
    if distribute.is_multi_worker(strategy):  # the chief alone evaluates, on all of val/
        val_ds = pipeline.batches(val_split, config.image_size, config.batch_size,
                                  training=False, cache=config.cache)
    metrics = evaluate.evaluate(best, val_ds, train_split.class_names)
    evaluate.save(metrics, run_dir)
    plots.save_run_plots(run_dir, metrics, best, train_split, val_split, config.image_size)
    return run_dir
