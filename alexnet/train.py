"""Training, in three stages that the CLI, the notebook and the scripts all walk:

    run = prepare(config)    # run folder, inputs, model, optimizer, callbacks
    fit(run)                 # model.fit with the callbacks; resumable
    finish(run)              # centre-crop and 10-crop metrics, metrics.json, plots

``train(config)`` does all three. A run folder (``checkpoints/<variant>-<size>px-<time>/``
by default) holds ``config.json`` (config.py), ``best.keras`` (best validation
accuracy), ``history.csv``, ``logs/`` (TensorBoard), ``state/`` (what ``--resume``
continues from, resume.py), and after ``finish`` ``metrics.json`` and the plots.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import keras

from alexnet import augmentation, evaluate, images, model, plots, precision, resume
from alexnet.callbacks import make_callbacks
from alexnet.config import TrainConfig, load_config, save_config
from alexnet.inputs import ArrayInputs, FileInputs, distribute, load_inputs
from alexnet.optimizer import PaperSGD


@dataclass
class Run:
    """One training run: what ``prepare`` made, for ``fit`` and ``finish``."""

    config: TrainConfig
    run_dir: Path
    inputs: FileInputs | ArrayInputs
    model: keras.Model
    callbacks: list[keras.callbacks.Callback]
    first_epoch: int = 0            # epochs already done (a resumed run)
    strategy: object = None         # a tf.distribute strategy, or None
    write_dir: Path | None = None   # where this process writes (a scratch folder on workers)
    history: keras.callbacks.History | None = field(default=None, repr=False)

    @property
    def chief(self) -> bool:
        """Whether this process writes the run folder (always, but on multi-worker workers)."""
        return self.write_dir == self.run_dir


def learning_rate(config: TrainConfig, steps_per_epoch: int):
    """A constant rate (lowered by ReduceLROnPlateau) or warm-up then cosine decay."""
    if config.schedule == "plateau":
        return config.lr
    warmup = min(config.warmup_epochs, config.epochs - 1) * steps_per_epoch
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else config.lr, decay_steps=config.epochs * steps_per_epoch - warmup,
        warmup_target=config.lr if warmup else None, warmup_steps=warmup)


def make_optimizer(config: TrainConfig, steps_per_epoch: int) -> PaperSGD:
    """SGD with momentum and the paper's weight decay (optimizer.py), on the schedule."""
    return PaperSGD(learning_rate(config, steps_per_epoch), momentum=config.momentum,
                    weight_decay=config.weight_decay)


def compile_model(net: keras.Model, config: TrainConfig, steps_per_epoch: int,
                  optimizer: keras.optimizers.Optimizer | None = None) -> keras.Model:
    """``optimizer`` (default ``make_optimizer``), cross-entropy (label smoothing
    optional), Top-1 and Top-5 accuracy, XLA per ``config.jit_compile``."""
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
    net.compile(optimizer=optimizer or make_optimizer(config, steps_per_epoch), loss=loss,
                metrics=[keras.metrics.CategoricalAccuracy(name="accuracy"),
                         keras.metrics.TopKCategoricalAccuracy(5, name="top5_accuracy")],
                jit_compile=precision.resolve_jit_compile(config.jit_compile))
    return net


def build_model(config: TrainConfig, num_classes: int) -> keras.Model:
    """The variant of ``config``; for in-memory data, behind the on-device augmentation."""
    net = model.build(config.variant, num_classes, config.image_size,
                      init=config.init, dropout=config.dropout)
    if not config.in_memory_arrays:
        return net
    return augmentation.with_augmentation(net, config.augmentation, seed=config.seed)


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


def prepare(config: TrainConfig, resume_run: bool = False, command: str | None = None,
            inputs: FileInputs | ArrayInputs | None = None,
            optimizer: keras.optimizers.Optimizer | None = None,
            callbacks: list[keras.callbacks.Callback] | None = None) -> Run:
    """Stage 1: the run folder and its ``config.json``, the inputs, the compiled model and
    the callbacks. ``resume_run``: continue the run in ``config.out`` from its last
    completed epoch (see ``config.resume_config``); ``command``: how the run was started,
    recorded in config.json (a resumed run keeps its first); ``inputs``: already loaded
    for this config (default: ``inputs.load_inputs(config)``); ``optimizer`` and
    ``callbacks``: built by the caller (the notebook) in place of ``make_optimizer`` and
    ``callbacks.recipe_callbacks``; the run's own (timing, resume state) are added."""
    strategy = None
    if config.strategy:
        strategy = distribute.strategy(config.strategy)  # first: it sets up the cluster
        if config.batch_size % strategy.num_replicas_in_sync:
            raise ValueError(f"--batch-size {config.batch_size} does not split evenly across "
                             f"{strategy.num_replicas_in_sync} replicas")
    run_dir = config.run_dir()
    state = resume.read_state(run_dir) if resume_run else None
    first_epoch = state["epoch"] if state else 0
    keras.utils.set_random_seed(config.seed + first_epoch)  # a resumed run reshuffles anew
    inputs = inputs or load_inputs(config, strategy)
    _check_run_folder(run_dir, inputs.class_names, inputs.root, resume_run)
    if resume_run:
        command = load_config(run_dir).get("command") or command

    chief = strategy is None or distribute.is_chief(strategy)
    write_dir = run_dir if chief else Path(tempfile.mkdtemp(prefix="alexnet-worker-"))
    try:
        save_config(write_dir, config, inputs.class_names, inputs.root, command)
    except OSError as error:
        raise OSError(f"run folder {write_dir}: cannot write there "
                      f"({error.strerror or error})") from None

    precision.set_precision(config.precision)  # before building: layers take the global policy
    steps_per_epoch = -(-len(inputs.train) // config.batch_size)
    with strategy.scope() if strategy else contextlib.nullcontext():
        net = compile_model(build_model(config, len(inputs.class_names)), config,
                            steps_per_epoch, optimizer)
    return Run(config, run_dir, inputs, net,
               make_callbacks(run_dir, config, write_dir, callbacks),
               first_epoch, strategy, write_dir)


def fit(run: Run, verbose: int | str = "auto") -> keras.callbacks.History:
    """Stage 2: ``model.fit`` on the training batches, validating every epoch; continues
    from the run's last completed epoch if it has one. ``verbose`` as Keras' (2: a line
    an epoch, for notebooks and logs)."""
    replicas = run.strategy.num_replicas_in_sync if run.strategy else 1
    print(f"Training {run.model.name} on {len(run.inputs.train)} images ({run.inputs.root}), "
          f"validating on {len(run.inputs.val)}; {replicas} replica(s); run folder {run.run_dir}")
    run.history = run.model.fit(
        run.inputs.train_batches(seed=run.config.seed + run.first_epoch),
        validation_data=run.inputs.val_batches(), epochs=run.config.epochs,
        callbacks=run.callbacks, verbose=verbose,
        shuffle=False)  # the inputs shuffle every epoch themselves
    return run.history


def finish(run: Run) -> dict | None:
    """Stage 3, on the chief: the best checkpoint's centre-crop and 10-crop metrics in
    ``metrics.json``, the plots, and a report of unreadable images. Returns the metrics
    (None on other workers, which only remove their scratch folder)."""
    if not run.chief:
        shutil.rmtree(run.write_dir, ignore_errors=True)
        return None
    best = model.load(run.run_dir / "best.keras")
    metrics = evaluate.evaluate_inputs(best, run.inputs)
    evaluate.save(metrics, run.run_dir)
    for split, name in ((run.inputs.train, "training"), (run.inputs.val, "validation")):
        if split.skipped:  # unreadable images, found when listing or when decoding
            print(images.report(split.skipped, name))
    plots.save_run_plots(run.run_dir, metrics, best, run.inputs)
    return metrics


def train(config: TrainConfig, resume_run: bool = False, command: str | None = None) -> Path:
    """``prepare``, ``fit`` and ``finish`` one run; returns its folder."""
    run = prepare(config, resume_run, command)
    fit(run)
    finish(run)
    return run.run_dir
