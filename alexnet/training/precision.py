"""Numeric precision and XLA for training: what ``--precision`` and ``--jit-compile`` mean.

Free of TensorFlow imports so that every Keras backend (and the GPU benchmark,
which runs on JAX without TensorFlow) sets them the same way.

``"auto"`` settings: XLA as Keras decides (on for GPUs and JAX; off for
TensorFlow on CPU, where it measured no faster and compiles twice as long: see
docs/performance.md), and mixed precision where the hardware has the units for it: on
GPUs with tensor cores bfloat16 from Ampere (compute capability 8.0) on, float16 with loss
scaling on Volta/Turing; on CPUs with bfloat16 instructions (Intel AMX, AVX512-BF16)
bfloat16, which trained the ``bn`` network 1.6x faster than float32 on a 2-core Xeon.
"""

from __future__ import annotations

import keras

from alexnet.environment import cpu_has_bfloat16, gpu_capability
from alexnet.training.config import JIT_COMPILE, PRECISIONS


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
    if capability is None:
        return "mixed_bfloat16" if cpu_has_bfloat16() else "float32"
    if capability < (7, 0):
        return "float32"
    return "mixed_bfloat16" if capability >= (8, 0) else "mixed_float16"


def set_precision(precision: str = "auto") -> str:
    """Sets the global dtype policy; call it before building the model. Returns the policy.

    Layers then compute in float16/bfloat16 and keep float32 weights; the model's
    softmax layer stays float32 (models/alexnet.py) and ``mixed_float16`` gets loss scaling
    from ``Model.compile``.
    """
    policy = resolve_precision(precision)
    keras.mixed_precision.set_global_policy(policy)
    return policy


def resolve_jit_compile(jit_compile: str = "auto") -> bool | str:
    """``Model.compile``'s ``jit_compile`` for a ``--jit-compile`` setting."""
    check("auto", jit_compile)
    return {"auto": "auto", "on": True, "off": False}[jit_compile]
