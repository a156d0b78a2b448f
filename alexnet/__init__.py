"""AlexNet (Krizhevsky, Sutskever & Hinton, NIPS 2012) in Keras 3: model variants,
input pipeline, training, evaluation and plots. See README.md and AlexNet.ipynb."""

__version__ = "0.1.0"
