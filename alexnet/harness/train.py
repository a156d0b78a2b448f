"""The command line's training run: the notebook's steps, in the notebook's order, over the
same core functions, with a run folder around them that survives a crash:

    run = start(config)        # settings checked, the run folder locked for this process
    load_data(run)             # the images (core: datasets, batches); config.json written
    build_model(run)           # the network (core: models), in the run's precision
    compile_model(run)         # SGD on the recipe's schedule, cross-entropy, Top-1/Top-5
    make_callbacks(run)        # the notebook's callbacks, and resume, time, disk, logs
    fit(run)                   # model.fit, from the last completed epoch
    finish(run)                # the best model's metrics (core: evaluate) and figures

``train(config)`` walks them all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import tensorflow as tf

from alexnet import evaluate, plots, runs, training
from alexnet.data import augment, batches
from alexnet.data.datasets import locate
from alexnet.data.files import report
from alexnet.data.splits import Split
from alexnet.harness import callbacks, devices, packs, resume, runfolder, shards
from alexnet.models.alexnet import build, check_settings
from alexnet.recipes import TrainConfig


@dataclass
class Run:
    """One training run, filled in step by step."""

    config: TrainConfig
    run_dir: Path
    write_dir: Path                 # where this process writes (a scratch folder on workers)
    lock: runfolder.Lock
    made: list[Path] = field(default_factory=list)  # folders start made, innermost first
    first_epoch: int = 0            # epochs already done (a resumed run)
    strategy: object = None         # a tf.distribute strategy, or None
    train_data: batches.Squares | Split | None = None
    val_data: batches.Squares | Split | None = None
    class_names: list[str] = field(default_factory=list)
    model: keras.Model | None = None
    callbacks: list[keras.callbacks.Callback] = field(default_factory=list)
    history: keras.callbacks.History | None = field(default=None, repr=False)
    metrics: dict | None = None     # the best model's, once finished (on the chief)
    started: float = field(default_factory=time.perf_counter)

    @property
    def chief(self) -> bool:
        """Whether this process writes the run folder (all but multi-worker workers)."""
        return self.write_dir == self.run_dir

    def scope(self):
        return self.strategy.scope() if self.strategy else contextlib.nullcontext()


def start(config: TrainConfig, resume_run: bool = False, command: str | None = None) -> Run:
    """The network's settings checked, then the run folder (``config.out``, default
    ``checkpoints/<variant>-<size>px-<time>``) made and locked against a second trainer
    before anything in it is looked at. A new run is refused a folder that holds a run's
    files; a resumed one continues from its last completed epoch. Writes nothing yet."""
    check_settings(config.variant, config.image_size, config.init, dropout=config.dropout)
    strategy = None
    if config.strategy:
        strategy = devices.strategy(config.strategy)  # first: it sets up the cluster
        if config.batch_size % strategy.num_replicas_in_sync:
            raise ValueError(f"--batch-size {config.batch_size} does not split evenly across "
                             f"{strategy.num_replicas_in_sync} replicas")
    run_dir = Path(config.out) if config.out else runfolder.default_dir(config.variant,
                                                                        config.image_size)
    if strategy is None or devices.is_chief(strategy):
        write_dir = run_dir
    else:
        write_dir = Path(tempfile.mkdtemp(prefix="alexnet-worker-"))
    made = runfolder.make_dirs(write_dir)
    run = Run(config, run_dir, write_dir, runfolder.Lock(write_dir), made=made,
              strategy=strategy)
    try:
        run.lock.acquire()
        state = resume.read_state(run_dir)
        if resume_run:
            if state is None and runfolder.holds_run(run_dir):
                raise FileNotFoundError(f"{run_dir / resume.STATE_DIR}: missing, so the run "
                                        "cannot continue where it stopped (its history.csv "
                                        "and best.keras are kept); start a new --out")
        elif runfolder.holds_run(run_dir):
            raise FileExistsError(f"{run_dir} already holds a run's files: continue it with "
                                  f"--resume {run_dir}, or choose another --out")
        run.first_epoch = state["epoch"] if state else 0
        # a resumed run reshuffles; any seed in [0, 2**32) resumes
        keras.utils.set_random_seed((config.seed + run.first_epoch) % 2**32)
        run.command = command
    except BaseException:
        abandon(run)
        raise
    return run


def abandon(run: Run) -> None:
    """Unlocks a run whose start or a step before ``fit`` failed and removes what ``start``
    made, only where it is still empty but for the lock: a wrong --data or setting leaves
    nothing behind, and a folder another run has come to live in stays."""
    if run.made:  # the run folder is this run's own: what it wrote goes
        (run.write_dir / "config.json").unlink(missing_ok=True)
    run.lock.release(remove=run.lock.created)
    for folder in run.made:
        with contextlib.suppress(OSError):
            folder.rmdir()


def load_data(run: Run) -> None:
    """The run's images: a packed ``.npz`` (decoded squares), or a dataset folder listed
    (core: ``Dataset``) and, with ``in_memory``, decoded once (``batches.decode``). Then
    config.json: the settings, the classes, the dataset root, the machine, the command; a
    resumed run must see the classes it was trained on."""
    config = run.config
    if str(config.data).endswith(".npz"):
        unpacked = packs.unpack(Path(config.data))
        root = Path(config.data)
        run.train_data, run.val_data = (batches.Squares(images, split.labels, split)
                                        for images, split in (unpacked["train"], unpacked["val"]))
        train, val = run.train_data.split, run.val_data.split
    else:
        root = locate(config.data)
        # the run's seed, not a resumed epoch's: a resumed run holds out the same images
        train, val = shards.open_dataset(root).splits(config.limit, config.val_dir,
                                               config.validation_split, config.seed)
        if config.train_fraction is not None:
            train = train.fraction(config.train_fraction, config.seed)
        run.train_data, run.val_data = train, val
    saved = runs.load_config(run.run_dir) if run.first_epoch or \
        (run.run_dir / "config.json").is_file() else {}
    if saved.get("class_names") not in (None, train.class_names):
        raise ValueError(f"{run.run_dir}: its checkpoints have {len(saved['class_names'])} "
                         f"classes but {root} has {len(train.class_names)}")
    print(f"Data: {len(train)} training images of {len(train.class_names)} classes in {root}; "
          f"validation: {len(val)} images from {val.source or 'the pack'}")
    if config.in_memory and not isinstance(run.train_data, batches.Squares) \
            and fits_in_memory(len(train) + len(val), config.image_size):
        run.train_data = batches.decode(train, config.image_size)
        run.val_data = batches.decode(val, config.image_size)
    run.class_names = train.class_names
    policy, machine = training.precision(config.precision), training.machine()
    record = {**dataclasses.asdict(config), "precision_used": policy,
              "keras_backend": keras.backend.backend(), "optimizer": "SGD",
              "machine": machine["gpu"] or f"{machine['cpu']}, {machine['threads']} cores",
              "machine_details": machine,
              "command": run.command, "class_names": train.class_names,
              "dataset_root": str(root)}
    if saved:
        record = {**saved, **record, "command": saved.get("command") or run.command}
    runfolder.save_config(run.write_dir, record)


def fits_in_memory(images: int, image_size: int) -> bool:
    """Whether ``images`` decoded squares take under half the memory available (Linux's
    MemAvailable, which counts the page cache that can be given back); if not, one line
    says so, and each epoch reads the files instead (ImageNet)."""
    need = images * 3 * augment.resize_size(image_size) ** 2
    try:
        available = next(int(line.split()[1]) * 1024 for line in
                         Path("/proc/meminfo").read_text().splitlines()
                         if line.startswith("MemAvailable:"))
    except (OSError, StopIteration):
        available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if need < available / 2:
        return True
    print(f"--in-memory left out: the decoded images would take about {need / 1e9:.1f} GB of "
          f"the {available / 1e9:.1f} GB available; each epoch reads the files")
    return False


def build_model(run: Run) -> keras.Model:
    """The config's variant (core: models), in the run's precision (global dtype policy:
    set before the layers are made)."""
    config = run.config
    keras.mixed_precision.set_global_policy(training.precision(config.precision))
    with run.scope():
        run.model = build(config.variant, len(run.class_names), config.image_size,
                          init=config.init, dropout=config.dropout,
                          weight_decay=config.weight_decay)
    return run.model


def compile_model(run: Run) -> keras.Model:
    """``model.compile`` for the run (core: ``training.compile_network``, the notebook's
    cell), under its strategy's scope; the config.json ``load_data`` wrote records
    whether XLA is on (Keras resolves ``auto`` when compiling)."""
    with run.scope():
        net = training.compile_network(run.model, run.config,
                                       math.ceil(len(run.train_data) / run.config.batch_size))
    if (run.write_dir / "config.json").is_file():
        record = runs.load_config(run.write_dir)
        runfolder.save_config(run.write_dir, {**record,
                                              "jit_compile_used": bool(net.jit_compile)})
    return net


def make_callbacks(run: Run, estimate: bool = True) -> list[keras.callbacks.Callback]:
    """The notebook's callbacks (``callbacks.recipe_callbacks``) with the run's own: stops
    on a non-finite loss, the disk check, TensorBoard, the resume state and, on one device,
    the ``estimate`` of the run's time a few steps in (``callbacks.TimeEstimate``)."""
    run.callbacks = callbacks.run_callbacks(run.run_dir, run.config, run.write_dir)
    if estimate and run.strategy is None:
        run.callbacks.insert(0, callbacks.TimeEstimate(
            val_batches(run), len(run.train_data), run.config.batch_size, len(run.val_data),
            2 * run.config.batch_size, run.write_dir))
    return run.callbacks


def train_batches(run: Run, worker: int = 0, workers: int = 1, batch_size: int | None = None):
    """The run's training batches (core: ``batches.training``), each batch then mixed by
    Keras' ``MixUp`` or ``CutMix`` (one of them at random where both are asked for); or
    worker ``worker`` of ``workers``' share of them at ``batch_size`` a replica."""
    config = run.config
    ds = batches.training(
        devices.shard(run.train_data, worker, workers, config.batch_size), config.image_size,
        batch_size or config.batch_size,
        augment.augmentation(config.augmentation, config.image_size, seed=config.seed),
        seed=(config.seed + run.first_epoch) % 2**32, cache=config.cache)
    exact = {"seed": config.seed, "dtype": "float32"}  # pixels, not the model's policy
    mixers = [keras.layers.MixUp(config.mixup, **exact)] if config.mixup else []
    if config.cutmix:
        mixers.append(keras.layers.CutMix((config.cutmix, config.cutmix), **exact))
    if not mixers:
        return ds

    def mix(images, labels):
        def through(layer):
            out = layer({"images": images, "labels": labels})
            return out["images"], out["labels"]

        if len(mixers) == 1:
            return through(mixers[0])
        return tf.cond(tf.random.uniform(()) < 0.5, lambda: through(mixers[0]),
                       lambda: through(mixers[1]))

    return ds.map(mix, num_parallel_calls=tf.data.AUTOTUNE)


def val_batches(run: Run, worker: int = 0, workers: int = 1, batch_size: int | None = None):
    """The run's validation batches, or a worker's share of them (as ``train_batches``)."""
    size = 2 * run.config.batch_size
    return batches.evaluation(devices.shard(run.val_data, worker, workers, size),
                              batch_size or size, run.config.image_size, cache=run.config.cache)


def fit(run: Run, verbose: int | str = 2) -> keras.callbacks.History:
    """``model.fit`` on the training batches, validating every epoch; continues from the
    run's last completed epoch if it has one. ``verbose=2``: a line an epoch."""
    print(f"Training {run.model.name} on {len(run.train_data)} images, "
          f"{run.strategy.num_replicas_in_sync if run.strategy else 1} replica(s); run folder "
          f"{run.run_dir}")
    if run.strategy is not None and devices.is_multi_worker(run.strategy):
        train = devices.datasets(run.strategy, run.config.batch_size,
                                 functools.partial(train_batches, run))
        val = devices.datasets(run.strategy, 2 * run.config.batch_size,
                               functools.partial(val_batches, run))
    else:
        train, val = train_batches(run), val_batches(run)
    initial = resume.initial_epoch(run.run_dir, run.config.epochs)
    try:
        run.history = run.model.fit(train, validation_data=val, epochs=run.config.epochs,
                                    initial_epoch=initial, callbacks=run.callbacks,
                                    verbose=verbose,
                                    shuffle=False)  # the batches reshuffle themselves
    except RuntimeError as error:  # Keras' TerminateOnNaN
        if "NaN" not in str(error) and "Inf" not in str(error):
            raise
        raise FloatingPointError(f"{error}: training stopped; {run.run_dir} keeps the last "
                                 "good epoch (try a lower --lr)") from None
    except Exception as error:
        if type(error).__name__ != "DataLossError":  # tf.data: a truncated or corrupt shard
            raise
        raise shards.shard_error(error, run.train_data, run.val_data) from None
    finally:  # a save cut short (a full disk) leaves no temporary file behind
        for stale in run.write_dir.glob(f"*{runfolder.TMP}*"):
            stale.unlink(missing_ok=True)
    return run.history


def finish(run: Run) -> dict | None:
    """On the chief: the best model's metrics in metrics.json (the centre crop, a test-time
    flip, ten crops), the figures, a report of unreadable images, and the minutes of each
    part in config.json; returns the metrics (None on other workers)."""
    try:
        if not run.chief:
            shutil.rmtree(run.write_dir, ignore_errors=True)
            return None
        history = runs.read_history(run.run_dir)
        best = runfolder.load_model(run.run_dir / "best.keras")
        begun = time.perf_counter()
        metrics = evaluate.evaluate_split(best, run.val_data, run.config.image_size,
                                          2 * run.config.batch_size, flip=True)
        runfolder.save_metrics(run.run_dir, metrics)
        for split, name in ((run.train_data, "training"), (run.val_data, "validation")):
            split = split.split if isinstance(split, batches.Squares) else split
            if split.skipped:  # unreadable images, found when listing or when decoding
                print(report(split.skipped, name))
        save_figures(run, history, metrics, best)
        runfolder.save_config(run.run_dir, {
            **runs.load_config(run.run_dir),
            "minutes": {"training": round(float(history["epoch_seconds"].sum()) / 60, 2),
                        "evaluation": round((time.perf_counter() - begun) / 60, 2),
                        "command": round((time.perf_counter() - run.started) / 60, 2)}})
        run.metrics = metrics
        return metrics
    finally:
        run.lock.release()


def save_figures(run: Run, history: dict, metrics: dict, best: keras.Model) -> None:
    """The run's figures as PNG in its folder: curves, errors, confusion, predictions."""
    images, labels = batches.examples(run.val_data, run.config.image_size, 8)
    figures = {"curves.png": plots.curves(history), "errors.png": plots.errors(history),
               "confusion.png": plots.confusion(metrics),
               "predictions.png": plots.top5_bars(images, best.predict(images, verbose=0),
                                                  labels, run.class_names)}
    for name, figure in figures.items():
        figure.savefig(run.run_dir / name, dpi=100)
        plt.close(figure)


def train(config: TrainConfig, resume_run: bool = False, command: str | None = None,
          estimate: bool = True) -> Run:
    """Every step, in order; returns the finished run."""
    run = start(config, resume_run, command)
    try:
        load_data(run)
        build_model(run)
        compile_model(run)
        make_callbacks(run, estimate=estimate)
    except BaseException:
        abandon(run)
        raise
    try:
        fit(run)
    except BaseException:
        run.lock.release()
        raise
    finish(run)
    return run
