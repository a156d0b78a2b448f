"""How TensorFlow loads, set before it does: fast CPU kernels and quiet C++ logs.

TensorFlow reads both settings once, when it loads, so ``import alexnet`` comes first
(the CLI, the notebook, the scripts and the benchmarks do so). Values the user sets in
the environment win.

- ``TF_ENABLE_ONEDNN_OPTS=1``: oneDNN's CPU kernels train AlexNet 1.6x faster than
  TensorFlow's default Eigen ones on our AVX2 CPU, where TensorFlow leaves them off
  (docs/performance.md). No effect on GPUs.
- ``TF_CPP_MIN_LOG_LEVEL=2``: no INFO or WARNING lines from TensorFlow's C++ code. Its
  first lines (oneDNN notice, "Could not find cuda drivers", each printed twice) come
  before its logging reads the setting (tensorflow/tensorflow#100442), and on a machine
  without an NVIDIA driver its first device query logs a cuInit error: standard error
  is silenced while TensorFlow loads and, without a driver, while it looks for devices.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import sys
import warnings


@contextlib.contextmanager
def silenced_stderr():
    """Standard error (file descriptor 2, where C++ code writes) goes to /dev/null."""
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    """Loads TensorFlow with its start-up lines silenced."""

    def __init__(self, loader: importlib.abc.Loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with silenced_stderr():
            self.loader.exec_module(module)
            if not os.path.exists("/proc/driver/nvidia"):  # no NVIDIA driver here
                module.config.list_physical_devices()  # its cuInit error, silenced


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


def prepare_tensorflow() -> None:
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
    if int(os.environ["TF_CPP_MIN_LOG_LEVEL"] or 0) >= 1:  # the user asked for no INFO lines
        if not any(isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path):
            sys.meta_path.insert(0, _QuietTensorFlowFinder())
