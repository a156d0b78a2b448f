"""Numeric precision and XLA for training: what ``--precision`` and ``--jit-compile`` mean.

Free of TensorFlow imports so that every Keras backend (and the GPU benchmark,
which runs on JAX without TensorFlow) sets them the same way.

``"auto"`` settings: XLA as Keras decides (on for GPUs and JAX; off for
TensorFlow on CPU, where it measured no faster and compiles twice as long: see
docs/performance.md), and mixed precision only on GPUs with tensor cores: bfloat16
from Ampere (compute capability 8.0) on, float16 with loss scaling on Volta/Turing.
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

import keras

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
JIT_COMPILE = ("auto", "on", "off")


# The backends' own modules are imported where they are asked about: each machine has
# only the backend it runs (JAX on a GPU box without TensorFlow, for one).

def gpu_capability() -> tuple[int, int] | None:
    """CUDA compute capability of the first GPU the Keras backend sees, or None."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        details = tf.config.experimental.get_device_details(gpus[0]) if gpus else {}
        capability = details.get("compute_capability")
    elif backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        capability = getattr(gpus[0], "compute_capability", None) if gpus else None
    elif backend == "torch":
        import torch

        capability = torch.cuda.get_device_capability() if torch.cuda.is_available() else None
    else:
        capability = None
    if isinstance(capability, str):  # JAX: "9.0"
        capability = tuple(int(part) for part in capability.split("."))
    return tuple(capability) if capability else None


def device_name() -> str:
    """What the Keras backend trains on, for the record: its first GPU's name, else the
    processor's model and the cores this process may use."""
    backend, name = keras.backend.backend(), None
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        name = gpus and tf.config.experimental.get_device_details(gpus[0]).get("device_name")
    elif backend == "jax":
        import jax

        name = next((d.device_kind for d in jax.devices() if d.platform == "gpu"), None)
    elif backend == "torch":
        import torch

        name = torch.cuda.is_available() and torch.cuda.get_device_name(0)
    if name:
        return name
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").is_file():
        models = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = models[0].strip() if models else cpu
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu}, {cores} cores"


def check(precision: str, jit_compile: str) -> None:
    """Raises a ValueError naming the setting when either is not one of its choices."""
    for flag, value, choices in (("--precision", precision, PRECISIONS),
                                 ("--jit-compile", jit_compile, JIT_COMPILE)):
        if value not in choices:
            raise ValueError(f"{flag} {value!r}: choose one of {', '.join(choices)}")


def resolve_precision(precision: str = "auto") -> str:
    """The dtype policy name for a ``--precision`` setting."""
    check(precision, "auto")
    if precision != "auto":
        return precision
    capability = gpu_capability()
    if capability is None or capability < (7, 0):
        return "float32"
    return "mixed_bfloat16" if capability >= (8, 0) else "mixed_float16"


def set_precision(precision: str = "auto") -> str:
    """Sets the global dtype policy; call it before building the model. Returns the policy.

    Layers then compute in float16/bfloat16 and keep float32 weights; the model's
    softmax layer stays float32 (model.py) and ``mixed_float16`` gets loss scaling
    from ``Model.compile``.
    """
    policy = resolve_precision(precision)
    keras.mixed_precision.set_global_policy(policy)
    return policy


def resolve_jit_compile(jit_compile: str = "auto") -> bool | str:
    """``Model.compile``'s ``jit_compile`` for a ``--jit-compile`` setting."""
    check("auto", jit_compile)
    return {"auto": "auto", "on": True, "off": False}[jit_compile]
