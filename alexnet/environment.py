"""The machine: how TensorFlow loads (set before it does: fast CPU kernels, quiet C++
logs) and which device the Keras backend trains on.

TensorFlow reads both settings once, when it loads, so ``import alexnet`` comes first
(the CLI, the notebook, the scripts and the benchmarks do so; it is light). Values the
user sets in the environment win.

- ``TF_ENABLE_ONEDNN_OPTS=1``: oneDNN's CPU kernels train AlexNet 1.6x faster than
  TensorFlow's default Eigen ones on our AVX2 CPU, where TensorFlow leaves them off
  (docs/performance.md). No effect on GPUs.
- ``TF_CPP_MIN_LOG_LEVEL=2``: no INFO or WARNING lines from TensorFlow's C++ code. Some
  come while its libraries load, before TensorFlow applies the level, each twice (absl's
  banner, "oneDNN custom operations are on", "Could not find cuda drivers":
  tensorflow/tensorflow#100442), and on a machine without an NVIDIA driver its first
  device query logs a cuInit error. So while TensorFlow loads (and, without a driver,
  looks for devices) standard error is held back, then passed on without the lines the
  level hides and without that cuInit line.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import platform
import re
import sys
import tempfile
import warnings
from pathlib import Path

# absl's log format: severity letter, date, time, thread, file:line].
ABSL_LINE = re.compile(r"([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]\s]+:\d+\] ")
ABSL_BANNER = "WARNING: All log messages before absl::InitializeLog() is called"


def hidden(line: str, level: int, driver: bool = True) -> bool:
    """Whether ``TF_CPP_MIN_LOG_LEVEL`` ``level`` hides this line: 1 hides INFO (and
    absl's banner about early lines), 2 also WARNING, 3 also ERROR. Without an NVIDIA
    ``driver``, the failed cuInit is no news either."""
    if line.startswith(ABSL_BANNER):
        return level >= 1
    match = ABSL_LINE.match(line)
    if match and not driver and "cuInit" in line:
        return True
    return bool(match) and "IWEF".index(match.group(1)) < level


def log_level() -> int:
    value = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0").strip()
    return int(value) if value.isdigit() else 0


@contextlib.contextmanager
def filtered_stderr(level: int, driver: bool = True):
    """Holds back standard error (file descriptor 2, where C++ code writes) for the block,
    then passes on every line but those ``hidden`` hides."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as held:
            os.dup2(held.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                held.seek(0)
                lines = held.read().decode(errors="replace").splitlines(keepends=True)
                sys.stderr.write("".join(line for line in lines
                                         if not hidden(line, level, driver)))
                sys.stderr.flush()
    finally:
        os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    """Loads TensorFlow inside ``filtered_stderr``, and queries its devices there too."""

    def __init__(self, loader: importlib.abc.Loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        driver = os.path.exists("/proc/driver/nvidia") or sys.platform != "linux"
        with filtered_stderr(log_level(), driver):
            self.loader.exec_module(module)
            if not driver:
                module.config.list_physical_devices()  # the cuInit error, here


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` as usual, once, and hands it to ``_QuietLoader``."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def configure_tensorflow() -> None:
    """Sets TensorFlow's start-up settings, if it has not loaded yet."""
    if "tensorflow" in sys.modules:
        if "TF_ENABLE_ONEDNN_OPTS" not in os.environ:
            warnings.warn("TensorFlow was imported before alexnet, so alexnet could not turn "
                          "on its oneDNN CPU kernels: on CPUs without AVX-512, training runs "
                          "about 1.6x slower. Import alexnet first, or set "
                          "TF_ENABLE_ONEDNN_OPTS=1.", stacklevel=3)
        return
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not any(isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())


# The backends' own modules are imported where they are asked about: each machine has
# only the backend it runs (JAX on a GPU box without TensorFlow, for one).

def gpu_capability() -> tuple[int, int] | None:
    """CUDA compute capability of the first GPU the Keras backend sees, or None."""
    import keras  # here, not above: this module runs before TensorFlow may load

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
    import keras  # as in gpu_capability

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


def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively (Linux: /proc/cpuinfo's flags)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f" {flag}" in flags for flag in ("amx_bf16", "avx512_bf16"))
