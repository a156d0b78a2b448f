"""What training needs beyond Keras' own: the recipe's learning-rate schedule, the number
format a machine trains in, what the machine is, and an epoch timer (Keras' ``History``
keeps no times)."""

from __future__ import annotations

import os
import platform
import re
import time
from pathlib import Path

import keras
import tensorflow as tf

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


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux: /proc/cpuinfo; elsewhere none known)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    found = re.search(r"^flags\s*:(.*)$", text, re.M)
    return set(found.group(1).split()) if found else set()


def gpu_capability() -> tuple[int, int] | None:
    """CUDA compute capability of the first GPU TensorFlow sees, or None."""
    gpus = tf.config.list_physical_devices("GPU")
    capability = tf.config.experimental.get_device_details(gpus[0]).get(
        "compute_capability") if gpus else None
    return tuple(capability) if capability else None


def machine() -> dict:
    """What trains, for the record: the GPU's name or the CPU's model, the threads this
    process may use, and the CPU's bfloat16 units (AMX, AVX512-BF16)."""
    gpus = tf.config.list_physical_devices("GPU")
    cpu = platform.processor() or platform.machine()
    try:
        models = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = models[0].strip() if models else cpu
    except OSError:
        pass
    flags = cpu_flags()
    return {"gpu": tf.config.experimental.get_device_details(gpus[0]).get("device_name")
            if gpus else None,
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
