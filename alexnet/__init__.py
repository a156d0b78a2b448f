"""AlexNet (Krizhevsky, Sutskever & Hinton, NIPS 2012) in Keras 3: model variants,
input pipelines, training, evaluation and plots. See README.md and AlexNet.ipynb.

Importing ``alexnet`` first, before Keras or TensorFlow, sets up how TensorFlow loads
(environment.py): its fast oneDNN CPU kernels, and no C++ log lines.
"""

from alexnet import environment

__version__ = "0.2.0"

environment.configure_tensorflow()
