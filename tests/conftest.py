"""Shared fixtures: the real datasets beside the repo, and tiny generated image trees."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROJECT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ALEXNET_SHARED", PROJECT.parent / "shared" / "datasets"))
IMAGENETTE = SHARED / "imagenette"
IMAGENET_SAMPLES = SHARED / "imagenet-samples"


@pytest.fixture(scope="session")
def imagenette() -> Path:
    if not (IMAGENETTE / "train").is_dir():
        pytest.skip(f"real Imagenette not found at {IMAGENETTE}")
    return IMAGENETTE


def write_image(path: Path, size=(40, 30), mode="RGB", seed=0) -> Path:
    """A random image file; the format follows the suffix (JPEG or PNG)."""
    rng = np.random.default_rng(seed)
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    image = Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    """train/ and val/ with 3 classes of mixed formats, modes and sizes."""
    kinds = [("a.jpg", "RGB", (40, 30)), ("b.png", "RGBA", (25, 50)),
             ("c.JPEG", "L", (64, 64)), ("d.png", "L", (33, 47))]
    for split in ("train", "val"):
        for c, cls in enumerate(("cat", "dog", "eel")):
            for i, (name, mode, size) in enumerate(kinds):
                write_image(tmp_path / split / cls / name, size, mode, seed=10 * c + i)
    return tmp_path
