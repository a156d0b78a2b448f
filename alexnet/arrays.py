"""In-memory datasets: every image decoded once into one uint8 array.

For datasets that fit in RAM (Imagenette: 9,469 training images are 0.5 GB at
128 px) and for Keras backends without TensorFlow (JAX or PyTorch on a GPU box):
augmentation then runs on the accelerator inside the model (augment_layers.py).
Decoding uses Pillow in a process pool; no TensorFlow is imported.
"""

from __future__ import annotations

import io
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from alexnet.data import Split


def square(image: Image.Image, size: int) -> np.ndarray:
    """Shorter side to ``size`` then the centre ``size`` x ``size`` square, as uint8 RGB."""
    image = image.convert("RGB")
    scale = size / min(image.size)
    width, height = max(size, round(image.width * scale)), max(size, round(image.height * scale))
    image = image.resize((width, height), Image.BICUBIC, reducing_gap=3.0)
    left, top = (width - size) // 2, (height - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)))


def _decode_file(job: tuple[str, int]) -> np.ndarray:
    path, size = job
    with Image.open(path) as image:
        return square(image, size)


def _decode_bytes(job: tuple[bytes, int]) -> np.ndarray:
    blob, size = job
    with Image.open(io.BytesIO(blob)) as image:
        return square(image, size)


def _decode_all(function, jobs: list, workers: int | None) -> np.ndarray:
    # "spawn", not fork: forking a process that already runs JAX or TF threads can hang.
    workers = workers or os.cpu_count() or 1
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return np.stack(list(pool.map(function, jobs, chunksize=64)))


def load(split: Split, size: int, workers: int | None = None) -> np.ndarray:
    """All images of ``split`` as a (N, size, size, 3) uint8 array."""
    return _decode_all(_decode_file, [(f, size) for f in split.files], workers)


def pack(splits: dict[str, Split], path: Path, size: int, quality: int = 80,
         root: Path | None = None, workers: int | None = None) -> Path:
    """Writes splits (e.g. train and val) into one compact .npz: WebP-encoded ``size`` px
    squares with labels, class names and file names (relative to ``root`` if given).
    Imagenette packs into about 50 MB at 128 px: small enough to copy to a remote
    GPU machine."""
    arrays = {}
    for name, split in splits.items():
        blobs = []
        for image in load(split, size, workers):
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, "WEBP", quality=quality)
            blobs.append(np.frombuffer(buffer.getvalue(), np.uint8))
        arrays |= {f"{name}_blobs": np.concatenate(blobs),
                   f"{name}_offsets": np.cumsum([0] + [len(b) for b in blobs]),
                   f"{name}_labels": split.labels,
                   f"{name}_files": np.array([os.path.relpath(f, root or "/") for f in split.files],
                                             dtype=bytes)}
    np.savez(path, size=size, split_names=np.array(list(splits)),
             class_names=np.array(next(iter(splits.values())).class_names), **arrays)
    return Path(path)


def unpack(path: Path, workers: int | None = None) -> dict[str, tuple[np.ndarray, Split]]:
    """Reads a ``pack``ed file: for each split, its uint8 images and its ``Split``."""
    splits = {}
    with np.load(path) as archive:
        size, class_names = int(archive["size"]), [str(c) for c in archive["class_names"]]
        for name in map(str, archive["split_names"]):
            blobs, offsets = archive[f"{name}_blobs"], archive[f"{name}_offsets"]
            jobs = [(blobs[a:b].tobytes(), size)
                    for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
            split = Split([f.decode() for f in archive[f"{name}_files"]],
                          archive[f"{name}_labels"].astype("int32"), class_names)
            splits[name] = (_decode_all(_decode_bytes, jobs, workers), split)
    return splits
