"""pytest runs AlexNet.ipynb (nbval) tiny: these defaults reach its kernel's environment."""

import os

import alexnet  # noqa: F401  first, as users do: it turns on TensorFlow's oneDNN CPU kernels

TINY_NOTEBOOK = {"ALEXNET_NB_EPOCHS": "1", "ALEXNET_NB_LIMIT": "3", "ALEXNET_NB_IMAGE_SIZE": "64",
                 "ALEXNET_NB_BATCH_SIZE": "16", "TF_CPP_MIN_LOG_LEVEL": "2"}
for name, value in TINY_NOTEBOOK.items():
    os.environ.setdefault(name, value)
