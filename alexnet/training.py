"""What training needs beyond Keras' own: the recipe's learning-rate schedule and its
``compile``, the number format a machine trains in, what the machine is, and an epoch
timer (Keras' ``History`` keeps no times)."""

from __future__ import annotations

import os
import platform
import re
import time
from pathlib import Path

import keras

from alexnet.recipes import TrainConfig


def learning_rate(config: TrainConfig, steps_per_epoch: int):
    """The recipe's rate: a constant (that ``ReduceLROnPlateau`` divides by 10 when
    validation stalls), or Keras' ``CosineDecay`` after a linear warm-up."""
    if config.schedule == "plateau":
        return config.lr
    warmup = min(config.warmup_epochs, config.epochs - 1) * steps_per_epoch
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else config.lr, decay_steps=config.epochs * steps_per_epoch - warmup,
        warmup_target=config.lr if warmup else None, warmup_steps=warmup)


def jit_compile(setting: str = "auto") -> bool | str:
    """``Model.compile``'s ``jit_compile`` for a ``jit_compile`` setting: ``auto`` leaves
    XLA to Keras (on for GPUs; off for TensorFlow on a CPU, where it measured no faster
    and compiles twice as long: docs/performance.md)."""
    return {"auto": "auto", "on": True, "off": False}[setting]


def compile_network(net: keras.Model, config: TrainConfig, steps_per_epoch: int) -> keras.Model:
    """``model.compile`` as the notebook's cell writes it, for the command line and the
    benchmarks: SGD with momentum on the recipe's schedule, cross-entropy with label
    smoothing, Top-1 and Top-5 accuracy; XLA as the config asks."""
    net.compile(
        optimizer=keras.optimizers.SGD(learning_rate(config, steps_per_epoch),
                                       momentum=config.momentum),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy"),
                 keras.metrics.TopKCategoricalAccuracy(5, name="top5_accuracy")],
        jit_compile=jit_compile(config.jit_compile))
    return net


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux: /proc/cpuinfo; elsewhere none known)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    found = re.search(r"^flags\s*:(.*)$", text, re.M)
    return set(found.group(1).split()) if found else set()


def _gpus() -> list[dict]:
    """The Keras backend's GPUs as {"name", "capability"}; the backend's own module is
    imported here, as each machine has only the backend it runs (JAX without TensorFlow
    on a GPU box, for one)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        details = [tf.config.experimental.get_device_details(gpu)
                   for gpu in tf.config.list_physical_devices("GPU")]
        return [{"name": d.get("device_name"), "capability": d.get("compute_capability")}
                for d in details]
    if backend == "jax":
        import jax

        return [{"name": d.device_kind, "capability": tuple(
                    int(part) for part in str(getattr(d, "compute_capability", "0.0"))
                    .split("."))} for d in jax.devices() if d.platform == "gpu"]
    return []


def gpu_capability() -> tuple[int, int] | None:
    """CUDA compute capability of the first GPU the Keras backend sees, or None."""
    gpus = _gpus()
    return tuple(gpus[0]["capability"]) if gpus and gpus[0]["capability"] else None


def machine() -> dict:
    """What trains, for the record: the GPU's name or the CPU's model, the threads this
    process may use, and the CPU's bfloat16 units (AMX, AVX512-BF16)."""
    gpus = _gpus()
    cpu = platform.processor() or platform.machine()
    try:
        models = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = models[0].strip() if models else cpu
    except OSError:
        pass
    flags = cpu_flags()
    return {"gpu": gpus[0]["name"] if gpus else None,
            "cpu": cpu, "threads": len(os.sched_getaffinity(0)),
            "amx_bf16": "amx_bf16" in flags, "avx512_bf16": "avx512_bf16" in flags}


def precision(requested: str = "auto") -> str:
    """The Keras dtype policy for a ``precision`` setting. ``auto``: bfloat16 where the
    hardware computes in it (GPUs from Ampere, CPUs with AMX or AVX512-BF16: 1.6x faster
    training on a 2-core Xeon), float16 on Volta and Turing, else float32."""
    if requested != "auto":
        return requested
    capability = gpu_capability()
    if capability is None:
        return "mixed_bfloat16" if {"amx_bf16", "avx512_bf16"} & cpu_flags() else "float32"
    if capability < (7, 0):
        return "float32"
    return "mixed_bfloat16" if capability >= (8, 0) else "mixed_float16"


class EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` (validation included) and ``learning_rate`` to each epoch's
    logs, so the history records speed and schedule, and stops training after the epoch
    that passes ``time_limit`` minutes, if given."""

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
            logs.setdefault("learning_rate", float(keras.ops.convert_to_numpy(
                self.model.optimizer.learning_rate)))
        if self.time_limit and self.elapsed > 60 * self.time_limit:
            print(f"\nStopping: time limit of {self.time_limit} minutes reached")
            self.model.stop_training = True
