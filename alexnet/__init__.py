"""AlexNet (Krizhevsky, Sutskever & Hinton, NIPS 2012) in Keras 3: model variants,
input pipeline, training, evaluation and plots. See README.md and AlexNet.ipynb."""

import os
import sys
import warnings

__version__ = "0.1.0"

# TensorFlow reads this once, when it loads: its oneDNN CPU kernels (convolutions and
# their gradients, matmul, pooling) train AlexNet 1.6x faster than its default Eigen ones
# on our AVX2 CPU, where TensorFlow leaves them off (README, Performance). No effect on
# GPUs; TF_ENABLE_ONEDNN_OPTS=0 keeps them off.
if "tensorflow" not in sys.modules:
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
elif "TF_ENABLE_ONEDNN_OPTS" not in os.environ:
    warnings.warn("TensorFlow was imported before alexnet, so alexnet could not turn on its "
                  "oneDNN CPU kernels: on CPUs without AVX-512, training runs about 1.6x "
                  "slower. Import alexnet first, or set TF_ENABLE_ONEDNN_OPTS=1.", stacklevel=2)
