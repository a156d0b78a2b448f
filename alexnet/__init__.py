"""AlexNet (Krizhevsky, Sutskever & Hinton, NIPS 2012) in Keras 3. See README.md.

The core, which AlexNet.ipynb imports: ``models`` (the networks and their layers),
``data`` (datasets, the augmentation, batches), ``recipes`` (settings as plain data),
``training`` (the schedule and the epoch timer), ``evaluate`` (Top-1/Top-5, ten crops),
``plots``, ``features``, ``reading``. The command line's harness (``alexnet.harness``:
run folders, resume, devices, shards, the PDF) is built on the core and never imported
by it.

Importing ``alexnet`` does one thing to the process, here and only here: it loads
TensorFlow quietly. TensorFlow prints C++ log lines while its libraries load, before it
reads ``TF_CPP_MIN_LOG_LEVEL`` (tensorflow/tensorflow#100442), and on a machine without
an NVIDIA driver its first device query logs a failed cuInit; so standard error (file
descriptor 2, where C++ writes) is held back during that load and passed on without
those lines. ``TF_ENABLE_ONEDNN_OPTS=1`` asks for oneDNN's CPU kernels, which TensorFlow
leaves off on some CPUs (1.6x faster training on an AVX2 EPYC: docs/performance.md).
Values the user has set in the environment win.
"""

import os
import re
import sys
import tempfile

__version__ = "0.3.0"

# absl's log format: severity letter, date, time, thread, file:line]; and its banner.
_LOG_LINE = re.compile(r"([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]\s]+:\d+\] ")
_BANNER = "WARNING: All log messages before absl::InitializeLog() is called"


def _hidden(line: str, level: int) -> bool:
    """Whether ``TF_CPP_MIN_LOG_LEVEL=level`` would have hidden this line (1: INFO and
    absl's banner, 2: WARNING too, 3: ERROR too); a failed cuInit is no news on a machine
    without an NVIDIA driver."""
    match = _LOG_LINE.match(line)
    if line.startswith(_BANNER):
        return level >= 1
    if match and "cuInit" in line and not os.path.exists("/proc/driver/nvidia"):
        return True
    return bool(match) and "IWEF".index(match.group(1)) < level


def _load_tensorflow_quietly() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    level = os.environ["TF_CPP_MIN_LOG_LEVEL"]
    level = int(level) if level.isdigit() else 0
    if "tensorflow" in sys.modules or level == 0:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # the cuInit error, if any, here
        except ImportError:
            pass  # Keras on JAX or PyTorch: nothing to quieten
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not _hidden(line, level)))
            sys.stderr.flush()


_load_tensorflow_quietly()
