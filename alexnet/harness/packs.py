"""Packed datasets: splits decoded once into squares and stored as WebP in one ``.npz``
(``pack``), read back as images and splits (``unpack``) that a run holds as the core's
``batches.Squares``: how the GPU runs carried Imagenette to a machine with a transfer
limit. Images are decoded as training decodes them (the core's ``decode_square``).
"""

from __future__ import annotations

import io
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from alexnet.data.batches import decode_square
from alexnet.data.splits import Split


def _decode_all(sources: list, size: int, workers: int | None) -> np.ndarray:
    """Each image file or encoded image as a ``size`` px square, decoded as training
    decodes (the core's ``decode_square``), in threads: Pillow decodes without the GIL,
    and no worker process re-imports the package and TensorFlow with it."""
    def one(source):
        try:
            return decode_square(source, size)
        except ValueError as error:
            raise ValueError(f"{'an image of the pack' if isinstance(source, bytes) else source}"
                             f": {error}") from None

    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        return np.stack(list(pool.map(one, sources)))


def load(split: Split, size: int, workers: int | None = None) -> np.ndarray:
    """All images of ``split`` as a (N, size, size, 3) uint8 array."""
    return _decode_all(split.files, size, workers)


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
                    blobs[a:b].tobytes() for a, b in zip(offsets[:-1], offsets[1:], strict=True))
                files.setdefault(name, []).extend(f.decode() for f in archive[f"{name}_files"])
                labels.setdefault(name, []).append(archive[f"{name}_labels"])
    return {name: (_decode_all(jobs[name], size, workers),
                   Split(files[name], np.concatenate(labels[name]).astype("int32"), class_names))
            for name in jobs}

