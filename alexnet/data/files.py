"""Checking image files before a pipeline meets them (PIL only, no TensorFlow).

Real ImageNet holds files that break naive pipelines: PNGs named ``.JPEG``,
CMYK and greyscale JPEGs (TensorFlow decodes these), and truncated, empty or
non-image files and decompression bombs (it does not, or it should not try).
``problem`` finds the second kind from the header and the file's tail, without
decoding the pixels, so listing a dataset stays cheap. Garbage inside a
well-formed file takes a full decode to find: ``problem(..., full=True)``, the decoding of
batches (batches.py) and ``prepare`` (harness/shards.py) do one.
"""

from __future__ import annotations

import errno
import stat
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

# Formats tf.io.decode_image reads; PIL's names.
DECODABLE = ("JPEG", "PNG", "GIF", "BMP")
# Larger images are refused before decoding: ImageNet's largest is about 20 megapixels.
MAX_PIXELS = 50_000_000
_TAIL = 1 << 12  # bytes read from a file's end to find its end marker


def problem(path: str | Path, max_pixels: int = MAX_PIXELS, full: bool = False) -> str | None:
    """Why ``path`` cannot be used as an image (empty, not an image, truncated, too
    large, and with ``full`` not decodable), or None when it can. Reads the header
    and the last few kilobytes; ``full`` decodes the image too."""
    path = Path(path)
    try:
        status = path.stat()
    except OSError as error:
        return unreadable(path, error)
    if stat.S_ISDIR(status.st_mode):
        return "unreadable (Is a directory)"
    if not stat.S_ISREG(status.st_mode):  # a named pipe or a device would hang a read
        return "not a regular file"
    size = status.st_size
    if size == 0:
        return "empty file"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                kind, (width, height) = image.format, image.size
    except Image.DecompressionBombError:
        return f"too large (over {max_pixels:,} pixels)"
    except (PermissionError, IsADirectoryError) as error:
        return unreadable(path, error)
    except (OSError, SyntaxError, ValueError):  # PIL's ways of saying "not an image I know"
        return "not an image"
    if kind not in DECODABLE:
        return f"unsupported format {kind}"
    if width * height > max_pixels:
        return f"too large ({width}x{height} is over {max_pixels:,} pixels)"
    if full or not _ends_properly(path, kind, size):
        return _full_decode_problem(path)
    return None


def unreadable(path: Path, error: OSError) -> str:
    """Why a file that exists in its folder cannot be read: a broken or looping link,
    or the operating system's reason (permission denied, ...)."""
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except RuntimeError:  # Python before 3.13
            return "looping symbolic link"
        except OSError as resolving:
            if resolving.errno == errno.ELOOP:  # Python 3.13 on
                return "looping symbolic link"
            return f"broken symbolic link (to {path.readlink()})"
        if error.errno == errno.ELOOP:
            return "looping symbolic link"
    return f"unreadable ({error.strerror or error})"


def _ends_properly(path: Path, kind: str, size: int) -> bool:
    """Whether the file ends with its format's end marker (JPEG EOI, PNG IEND)."""
    if kind not in ("JPEG", "PNG"):
        return True
    with open(path, "rb") as f:
        f.seek(max(0, size - _TAIL))
        tail = f.read()
    if kind == "PNG":
        return tail.endswith(b"IEND\xaeB`\x82")
    return tail.rstrip(b"\0").endswith(b"\xff\xd9")


def _full_decode_problem(path: Path) -> str | None:
    """The slow check: decode all the data (JPEGs at 1/8 scale, which skips most of
    the inverse DCT but none of the entropy decoding, where corruption shows)."""
    try:
        with Image.open(path) as image:
            image.draft("RGB", (image.width // 8, image.height // 8))
            image.load()
    except (OSError, SyntaxError, ValueError) as error:
        return f"not decodable ({error})"
    return None


def checked(files: list[str], full: bool = False, max_pixels: int = MAX_PIXELS,
            workers: int = 8) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Which ``files`` are usable (a boolean mask) and ``(file, reason)`` for the rest
    (see ``problem``). Threads: file reads wait and PIL decodes without the GIL."""
    with ThreadPoolExecutor(workers) as pool:
        reasons = list(pool.map(lambda f: problem(f, max_pixels, full), files))
    keep = np.array([r is None for r in reasons], bool)
    return keep, [(f, r) for f, r in zip(files, reasons, strict=True) if r is not None]


def report(skipped: list[tuple[str, str]], what: str, shown: int = 20) -> str:
    """Several lines for people: how many files were skipped, which, and why."""
    lines = [f"{what}: skipped {len(skipped)} unusable file(s):"]
    lines += [f"  {file}: {reason}" for file, reason in skipped[:shown]]
    if len(skipped) > shown:
        lines.append(f"  ... and {len(skipped) - shown} more")
    return "\n".join(lines)
