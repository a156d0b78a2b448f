"""Training, as the steps that the command line and the notebook's cells both walk:

    run = start(config)        # the run folder, locked for this process, config.json
    load_data(run)             # the training and validation images (data/)
    build_model(run)           # the network (models/), behind the on-device augmentation
    compile_model(run)         # SGD on the recipe's schedule, cross-entropy, Top-1/Top-5
    make_callbacks(run)        # ModelCheckpoint, EarlyStopping, ... the time estimate, resume
    fit(run)                   # model.fit; resumable
    finish(run)                # the best model's metrics (evaluate.py) and plots

``train(config)`` walks them all. The run folder's files are runfolder.py's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import keras

from alexnet import evaluate, plots, runfolder
from alexnet.data import arrays
from alexnet.data.augment import with_augmentation
from alexnet.data.datasets import Dataset, locate
from alexnet.data.files import report
from alexnet.data.inputs import ArrayInputs, FileInputs, make_inputs
from alexnet.environment import device_name
from alexnet.models.alexnet import build, check_settings
from alexnet.training import callbacks, devices, resume
from alexnet.training.config import TrainConfig


@dataclass
class Run:
    """One training run, filled in step by step."""

    config: TrainConfig
    run_dir: Path
    write_dir: Path                 # where this process writes (a scratch folder on workers)
    lock: runfolder.Lock | None = None
    first_epoch: int = 0            # epochs already done (a resumed run)
    made: Path | None = None        # the outermost folder start made, gone if the start fails
    strategy: object = None         # a tf.distribute strategy, or None
    inputs: FileInputs | ArrayInputs | None = None
    model: keras.Model | None = None
    callbacks: list[keras.callbacks.Callback] = field(default_factory=list)
    history: keras.callbacks.History | None = field(default=None, repr=False)
    metrics: dict | None = None     # the best model's, once finished (on the chief)

    @property
    def chief(self) -> bool:
        """Whether this process writes the run folder (all but multi-worker workers)."""
        return self.write_dir == self.run_dir

    def scope(self):
        return self.strategy.scope() if self.strategy else contextlib.nullcontext()


def start(config: TrainConfig, resume_run: bool = False, command: str | None = None) -> Run:
    """The network's settings checked, then the run folder (``config.out``, default
    ``checkpoints/<variant>-<size>px-<time>``) locked against a second trainer; a new run
    never overwrites an old one, a resumed one continues from its last completed epoch.
    Writes config.json (a resumed run keeps the command that started it)."""
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
        write_dir, made = run_dir, runfolder.outermost_new(run_dir)
    else:
        write_dir = made = Path(tempfile.mkdtemp(prefix="alexnet-worker-"))
    run = Run(config, run_dir, write_dir, runfolder.Lock(write_dir).acquire(), made=made,
              strategy=strategy)
    try:
        state = resume.read_state(run_dir)
        if resume_run:
            saved = runfolder.load_config(run_dir)
            command = saved.get("command") or command
            if state is None and ((run_dir / "history.csv").is_file()
                                  or (run_dir / "best.keras").is_file()):
                raise FileNotFoundError(f"{run_dir / resume.STATE_DIR}: missing, so the run "
                                        "cannot continue where it stopped (its history.csv "
                                        "and best.keras are kept); start a new --out")
        elif state is not None or (run_dir / "best.keras").exists():
            raise FileExistsError(f"{run_dir} already holds a run: continue it with "
                                  f"--resume {run_dir}, or choose another --out")
        run.first_epoch = state["epoch"] if state else 0
        keras.utils.set_random_seed(config.seed + run.first_epoch)  # a resumed run reshuffles
        record = {**dataclasses.asdict(config), "keras_backend": keras.backend.backend(),
                  "optimizer": "PaperSGD", "machine": device_name(), "command": command}
        if resume_run:
            record = {**saved, **record}  # keeps the classes and the dataset root
        runfolder.save_config(write_dir, record)
    except BaseException:
        abandon(run)
        raise
    return run


def abandon(run: Run) -> None:
    """Unlocks a run whose start or a step before ``fit`` failed and removes the folders
    ``start`` made: a wrong --data or setting leaves nothing behind."""
    run.lock.release()
    if run.made is not None:
        shutil.rmtree(run.made, ignore_errors=True)


def load_data(run: Run) -> FileInputs | ArrayInputs:
    """The run's images (``inputs.make_inputs``: a packed ``.npz`` or ``in_memory`` give
    ``ArrayInputs``, else ``FileInputs``); their classes and root go into config.json, and
    a resumed run must see the classes it was trained on."""
    config = run.config
    if str(config.data).endswith(".npz"):
        unpacked = arrays.unpack(Path(config.data))
        root, train, val = Path(config.data), unpacked["train"], unpacked["val"]
        split, val_split = train[1], val[1]
    else:
        root = locate(config.data)
        # the run's seed, not a resumed epoch's: a resumed run holds out the same images
        train, val = Dataset.open(root).splits(config.limit, config.val_dir,
                                               config.validation_split, config.seed)
        if config.train_fraction is not None:
            train = train.fraction(config.train_fraction, config.seed)
        split, val_split = train, val
    saved = runfolder.load_config(run.write_dir)
    if saved.get("class_names") not in (None, split.class_names):
        raise ValueError(f"{run.run_dir}: its checkpoints have {len(saved['class_names'])} "
                         f"classes but {root} has {len(split.class_names)}")
    runfolder.save_config(run.write_dir, {**saved, "class_names": split.class_names,
                                          "dataset_root": str(root)})
    print(f"Data: {len(split)} training images of {len(split.class_names)} classes in {root}; "
          f"validation: {len(val_split)} images from {val_split.source or 'the pack'}")
    run.inputs = make_inputs(root, train, val, config.image_size, config.batch_size,
                             config.augmentation, config.in_memory, config.cache,
                             config.mixup, config.cutmix, run.strategy)
    return run.inputs


def build_model(run: Run) -> keras.Model:
    """The config's variant (models/alexnet.py), behind ``augment.Augment`` for in-memory
    data augmented on the device."""
    config = run.config
    devices.set_precision(config.precision)  # before building: layers take the policy
    with run.scope():
        net = build(config.variant, len(run.inputs.class_names), config.image_size,
                    init=config.init, dropout=config.dropout)
        if isinstance(run.inputs, ArrayInputs) and not run.inputs.host_crops:
            net = with_augmentation(net, config.augmentation, seed=config.seed)
    run.model = net
    return net


@keras.saving.register_keras_serializable(package="alexnet")
class PaperSGD(keras.optimizers.SGD):
    """SGD by the paper's update rule (sec. 5), PyTorch's too: weight decay is part of the
    gradient, so momentum carries it: v <- m v - lr (g + wd w); w <- w + v. Keras' own
    ``weight_decay`` shrinks w outside the momentum, at momentum 0.9 ten times weaker for
    the same number. Biases and BatchNorm's gamma and beta are not decayed."""

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, weight_decay: float = 0.0,
                 **kwargs):
        super().__init__(learning_rate, momentum=momentum, **kwargs)
        self.l2 = float(weight_decay or 0.0)
        self.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])

    def update_step(self, gradient, variable, learning_rate):
        if self.l2 and self._use_weight_decay(variable):
            gradient = keras.ops.add(keras.ops.cast(gradient, variable.dtype),
                                     keras.ops.multiply(variable, self.l2))
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.l2}


def learning_rate(config: TrainConfig, steps_per_epoch: int):
    """A constant rate (lowered by ReduceLROnPlateau) or linear warm-up then cosine decay."""
    if config.schedule == "plateau":
        return config.lr
    warmup = min(config.warmup_epochs, config.epochs - 1) * steps_per_epoch
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else config.lr, decay_steps=config.epochs * steps_per_epoch - warmup,
        warmup_target=config.lr if warmup else None, warmup_steps=warmup)


def compile_model(run: Run, optimizer: keras.optimizers.Optimizer | None = None) -> keras.Model:
    """``model.compile`` for the run (``compile_network``), under its strategy's scope."""
    with run.scope():
        return compile_network(run.model, run.config,
                               math.ceil(len(run.inputs.train) / run.config.batch_size),
                               optimizer)


def compile_network(net: keras.Model, config: TrainConfig, steps_per_epoch: int,
                    optimizer: keras.optimizers.Optimizer | None = None) -> keras.Model:
    """SGD with momentum and the paper's weight decay on the recipe's schedule (or the
    ``optimizer`` given), cross-entropy with label smoothing, Top-1 and Top-5 accuracy."""
    net.compile(
        optimizer=optimizer or PaperSGD(learning_rate(config, steps_per_epoch),
                                        momentum=config.momentum,
                                        weight_decay=config.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy"),
                 keras.metrics.TopKCategoricalAccuracy(5, name="top5_accuracy")],
        jit_compile=devices.resolve_jit_compile(config.jit_compile))
    return net


def make_callbacks(run: Run, chosen: list[keras.callbacks.Callback] | None = None,
                   estimate: bool = True) -> list[keras.callbacks.Callback]:
    """The ``chosen`` callbacks (default ``callbacks.recipe_callbacks``: ModelCheckpoint,
    EarlyStopping, and ReduceLROnPlateau for the plateau schedule) with the run's own:
    timing, stops on a non-finite loss, TensorBoard, the resume state and, on one device,
    the ``estimate`` of the run's time a few steps in (``callbacks.TimeEstimate``)."""
    run.callbacks = callbacks.run_callbacks(run.run_dir, run.config, run.write_dir, chosen)
    if estimate and run.strategy is None:
        run.callbacks.insert(0, callbacks.TimeEstimate(run.inputs, run.config.batch_size,
                                                       run.write_dir))
    return run.callbacks


def fit(run: Run, verbose: int | str = 2) -> keras.callbacks.History:
    """``model.fit`` on the training batches, validating every epoch; continues from the
    run's last completed epoch if it has one. ``verbose=2``: a line an epoch."""
    print(f"Training {run.model.name} on {len(run.inputs.train)} images, "
          f"{run.strategy.num_replicas_in_sync if run.strategy else 1} replica(s); run folder "
          f"{run.run_dir}")
    try:
        run.history = run.model.fit(
            run.inputs.train_batches(seed=run.config.seed + run.first_epoch),
            validation_data=run.inputs.val_batches(), epochs=run.config.epochs,
            callbacks=run.callbacks, verbose=verbose,
            shuffle=False)  # the inputs shuffle every epoch themselves
    except RuntimeError as error:  # Keras' TerminateOnNaN
        if "NaN" not in str(error) and "Inf" not in str(error):
            raise
        raise FloatingPointError(f"{error}: training stopped; {run.run_dir} keeps the last "
                                 "good epoch (try a lower --lr)") from None
    except Exception as error:
        if type(error).__name__ != "DataLossError":  # tf.data: a truncated or corrupt shard
            raise
        from alexnet.data import failures  # TensorFlow is there: it raised

        raise failures.shard_error(error, run.inputs.train, run.inputs.val) from None
    finally:  # a save cut short (a full disk) leaves no temporary file behind
        for stale in run.write_dir.glob(f"*{runfolder.TMP}*"):
            stale.unlink(missing_ok=True)
    return run.history


def finish(run: Run) -> dict | None:
    """On the chief: the best model's centre-crop and 10-crop metrics in metrics.json, the
    plots, a report of unreadable images; returns the metrics (None on other workers)."""
    try:
        if not run.chief:
            shutil.rmtree(run.write_dir, ignore_errors=True)
            return None
        best = runfolder.load_model(run.run_dir / "best.keras")
        metrics = evaluate.evaluate_inputs(best, run.inputs)
        runfolder.save_metrics(run.run_dir, metrics)
        for split, name in ((run.inputs.train, "training"), (run.inputs.val, "validation")):
            if split.skipped:  # unreadable images, found when listing or when decoding
                print(report(split.skipped, name))
        plots.save_run_plots(run.run_dir, metrics, best, run.inputs)
        run.metrics = metrics
        return metrics
    finally:
        run.lock.release()


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
