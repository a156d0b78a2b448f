"""Finding a dataset by path or name, or downloading Imagenette when it is nowhere here.

Code that downloads at run time fails offline, so a local copy always wins: ``--data``
(a folder or a name), then ``$ALEXNET_DATA/<name>``, then ``<data_dir>/<name>``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from alexnet.data.ilsvrc import DatasetNotFoundError

# Official Imagenette archives; the md5 sums are those torchvision's Imagenette records.
DOWNLOADS = {
    "imagenette": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz",
                   "e793b78cc4c9e9a4ccc0c1155377a412"),
    "imagenette-320": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-320.tgz",
                       "3df6f0d01a2c9592104656642f5e78a3"),
    "imagenette-full": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2.tgz",
                        "fe2fc210e6bb7c5664d602c3cd71e612"),
}
DATA_DIR = Path("data")  # relative to where the command runs: a checkout's data/


def locate(data: str | os.PathLike | None = None, name: str = "imagenette",
           download: bool = True, data_dir: Path = DATA_DIR) -> Path:
    """A dataset root: ``data`` (a path, or a dataset name), then ``$ALEXNET_DATA/<name>``,
    then ``data_dir/<name>``, else downloaded into ``data_dir``."""
    if data is not None:
        path = Path(data).expanduser()
        if path.is_dir():
            return path
        if os.sep in str(data) or str(data).startswith("."):
            raise DatasetNotFoundError(f"--data {data}: no such folder")
        name = str(data)
    places = []
    if os.environ.get("ALEXNET_DATA"):
        places.append(Path(os.environ["ALEXNET_DATA"]).expanduser() / name)
    places.append(Path(data_dir) / name)
    for place in places:
        if place.is_dir():
            return place
    if download and name in DOWNLOADS:
        url, md5 = DOWNLOADS[name]
        try:
            return fetch(url, md5, Path(data_dir) / name)
        except Exception as error:  # offline, refused, or a bad checksum
            reason = f"download failed ({error})"
    else:
        reason = f"{name!r} is not a dataset we can download" if download else "download disabled"
    raise DatasetNotFoundError(
        f"dataset {name!r} not found and {reason}. Provide it in one of three ways: "
        f"pass --data PATH (a folder with train/ and val/, validation/ or test/); set "
        f"ALEXNET_DATA to a folder holding {name}/; or put it at {Path(data_dir) / name}")


def fetch(url: str, md5: str | None, dest: Path) -> Path:
    """Downloads and unpacks an archive whose top folder holds train/ and val/ into ``dest``
    (``keras.utils.get_file`` checks the md5; a wrong one leaves nothing at ``dest``)."""
    import keras  # here: only downloading needs it (finding a local copy loads no Keras)

    dest.parent.mkdir(parents=True, exist_ok=True)
    archive = keras.utils.get_file(fname=url.rsplit("/", 1)[-1], origin=url, md5_hash=md5,
                                   cache_dir=str(dest.parent), cache_subdir=".")
    unpacked = dest.parent / f".{dest.name}.partial"
    shutil.rmtree(unpacked, ignore_errors=True)
    shutil.unpack_archive(archive, unpacked)
    roots = [p.parent for p in unpacked.rglob("train") if (p.parent / "val").is_dir()]
    if not roots:
        raise DatasetNotFoundError(f"{archive}: archive has no train/ and val/ folders")
    roots[0].rename(dest)
    shutil.rmtree(unpacked, ignore_errors=True)
    return dest
