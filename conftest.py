"""pytest runs AlexNet.ipynb (nbval) tiny: these defaults reach its kernel's environment.

Where Imagenette is nowhere to be found (a fresh machine offline), the notebook runs on a
small generated dataset instead of downloading one."""

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import alexnet  # noqa: F401  first, as users do: it sets up how TensorFlow loads
from alexnet.data.datasets import DatasetNotFoundError, locate

TINY_NOTEBOOK = {"ALEXNET_NB_EPOCHS": "1", "ALEXNET_NB_LIMIT": "3", "ALEXNET_NB_IMAGE_SIZE": "64",
                 "ALEXNET_NB_BATCH_SIZE": "16", "TF_CPP_MIN_LOG_LEVEL": "2"}
for name, value in TINY_NOTEBOOK.items():
    os.environ.setdefault(name, value)


def generated_dataset(root: Path, classes: int = 10, per_split: int = 4) -> Path:
    """train/ and val/ of random 96 x 80 JPEGs, a tint per class."""
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for label in range(classes):
            for i in range(per_split):
                pixels = rng.integers(0, 128, (80, 96, 3)) + (label * 12, 64, 127 - label * 12)
                path = root / split / f"class{label}" / f"{i}.JPEG"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(pixels.clip(0, 255).astype("uint8")).save(path)
    return root


try:
    locate(os.environ.get("ALEXNET_NB_DATA", "imagenette"), download=False)
except DatasetNotFoundError:
    os.environ["ALEXNET_NB_DATA"] = str(generated_dataset(Path(tempfile.mkdtemp())))


def pytest_collection_modifyitems(items) -> None:
    """The notebook's cells (nbval) train in a kernel of their own: slow, as the other
    tests that train in a subprocess (``-m "not slow"`` leaves them out)."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
