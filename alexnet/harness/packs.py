"""Packed datasets: splits decoded once into squares and stored as WebP in one ``.npz``
(``pack``), read back as images and splits (``unpack``) that a run holds as the core's
``batches.Squares``: how the GPU runs carried Imagenette to a machine with a transfer
limit. Decoding uses Pillow in a process
pool (the command line's own process, so no user script is re-run); no TensorFlow.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from alexnet.data.splits import Split


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
         root: Path | None = None, workers: int | None = None, parts: int = 1) -> list[Path]:
    """Writes splits (e.g. train and val) into a compact .npz: WebP-encoded ``size`` px
    squares with labels, class names and file names (relative to ``root`` if given).
    Imagenette packs into 49 MB at 128 px, 121 MB at 224 px. ``parts`` > 1 writes
    ``<stem>.1-of-N.npz`` ... each with a share of every split, for transfers with a size
    limit; ``unpack(path)`` reads them back together. Returns the files written, having
    removed any earlier version of this pack (whole or in parts)."""
    path = Path(path)
    for stale in [path, *path.parent.glob(f"{path.stem}.*-of-*.npz")]:
        stale.unlink(missing_ok=True)
    paths = [path] if parts == 1 else [path.with_suffix(f".{i}-of-{parts}.npz")
                                       for i in range(1, parts + 1)]
    contents: list[dict] = [{} for _ in paths]
    for name, split in splits.items():
        blobs = []
        for image in load(split, size, workers):
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, "WEBP", quality=quality)
            blobs.append(np.frombuffer(buffer.getvalue(), np.uint8))
        files = np.array([os.path.relpath(f, root or "/") for f in split.files], dtype=bytes)
        for arrays, rows in zip(contents, np.array_split(np.arange(len(blobs)), parts),
                                strict=True):
            arrays |= {f"{name}_blobs": np.concatenate([np.zeros(0, np.uint8)]
                                                       + [blobs[i] for i in rows]),
                       f"{name}_offsets": np.cumsum([0] + [len(blobs[i]) for i in rows]),
                       f"{name}_labels": split.labels[rows], f"{name}_files": files[rows]}
    for part, arrays in zip(paths, contents, strict=True):
        np.savez(part, size=size, split_names=np.array(list(splits)),
                 class_names=np.array(next(iter(splits.values())).class_names), **arrays)
    return paths


def pack_files(path: Path) -> list[Path]:
    """The file(s) of the pack ``path``: itself, or all its parts ``<stem>.i-of-N.npz``."""
    path = Path(path)
    if path.is_file():
        return [path]
    part = re.compile(rf"{re.escape(path.stem)}\.\d+-of-(\d+)\.npz")
    counts = {int(m[1]) for f in path.parent.glob(f"{path.stem}.*.npz")
              if (m := part.fullmatch(f.name))}
    if not counts:
        raise FileNotFoundError(f"packed dataset {path}: no such file, nor parts "
                                f"{path.stem}.<i>-of-<n>.npz beside it")
    if len(counts) > 1:
        raise ValueError(f"packed dataset {path}: parts of packs split {sorted(counts)} ways "
                         f"in {path.parent}; remove the stale ones")
    parts = counts.pop()
    expected = [path.with_suffix(f".{i}-of-{parts}.npz") for i in range(1, parts + 1)]
    missing = [p.name for p in expected if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"packed dataset {path}: missing part(s) {', '.join(missing)} "
                                f"in {path.parent}")
    return expected


def unpack(path: Path, workers: int | None = None) -> dict[str, tuple[np.ndarray, Split]]:
    """Reads a ``pack``ed dataset (all its parts): for each split, its uint8 images and
    its ``Split``."""
    jobs: dict[str, list] = {}
    files: dict[str, list] = {}
    labels: dict[str, list] = {}
    first = None
    for part in pack_files(path):
        try:
            archive = np.load(part)
        except (OSError, ValueError, EOFError) as error:
            raise ValueError(f"{part}: not a packed dataset ({error})") from None
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError(f"{part}: not a packed dataset (one array, not an .npz archive)")
        with archive:
            names = set(archive.files)
            missing = sorted({"size", "class_names", "split_names"} - names)
            splits = [str(n) for n in archive["split_names"]] if not missing else []
            missing += [f"{n}_{kind}" for n in splits
                        for kind in ("blobs", "offsets", "labels", "files")
                        if f"{n}_{kind}" not in names]
            if missing or not {"train", "val"} <= set(splits):
                raise ValueError(f"{part}: not a packed dataset (no "
                                 f"{', '.join(missing) or 'train and val splits'})")
            size, class_names = int(archive["size"]), [str(c) for c in archive["class_names"]]
            if first not in (None, (size, class_names)):
                raise ValueError(f"{part}: {size} px and {len(class_names)} classes, unlike "
                                 f"the pack's first part ({first[0]} px, {len(first[1])} "
                                 "classes); parts of different packs?")
            first = size, class_names
            for name in splits:
                blobs, offsets = archive[f"{name}_blobs"], archive[f"{name}_offsets"]
                jobs.setdefault(name, []).extend(
                    (blobs[a:b].tobytes(), size)
                    for a, b in zip(offsets[:-1], offsets[1:], strict=True))
                files.setdefault(name, []).extend(f.decode() for f in archive[f"{name}_files"])
                labels.setdefault(name, []).append(archive[f"{name}_labels"])
    return {name: (_decode_all(_decode_bytes, jobs[name], workers),
                   Split(files[name], np.concatenate(labels[name]).astype("int32"), class_names))
            for name in jobs}

