"""Finding a dataset by path or name, and downloading Imagenette when it is nowhere here."""

from __future__ import annotations

import hashlib
import http.server
import tarfile
import threading
from pathlib import Path

import pytest

from alexnet.data import datasets
from alexnet.data.datasets import Dataset, DatasetNotFoundError
from conftest import write_image


def test_locate_order_explicit_then_env_then_data_dir(tmp_path, monkeypatch):
    env_copy, local_copy, explicit = (tmp_path / d / "imagenette" for d in ("env", "local", "x"))
    for root in (env_copy, local_copy, explicit):
        (root / "train").mkdir(parents=True)
    monkeypatch.setenv("ALEXNET_DATA", str(tmp_path / "env"))
    assert datasets.locate(str(explicit), data_dir=tmp_path / "local") == explicit
    assert datasets.locate("imagenette", data_dir=tmp_path / "local") == env_copy
    monkeypatch.delenv("ALEXNET_DATA")
    assert datasets.locate("imagenette", data_dir=tmp_path / "local") == local_copy


def test_the_default_data_dir_is_data_where_the_command_runs(tmp_path, monkeypatch):
    assert datasets.DATA_DIR == Path("data")
    (tmp_path / "data" / "imagenette" / "train").mkdir(parents=True)
    monkeypatch.delenv("ALEXNET_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert datasets.locate("imagenette", download=False).resolve() == (
        tmp_path / "data" / "imagenette")


def test_missing_explicit_path_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="no such folder"):
        datasets.locate(str(tmp_path / "nope"))


@pytest.fixture
def archive_server(tmp_path):
    """An HTTP server on 127.0.0.1 serving a small Imagenette-shaped .tgz."""
    tree = tmp_path / "src" / "imagenette2-160"
    for split in ("train", "val"):
        for cls in ("n01", "n02"):
            write_image(tree / split / cls / "x.JPEG", (20, 16))
    served = tmp_path / "served"
    served.mkdir()
    archive = served / "imagenette2-160.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname="imagenette2-160")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/imagenette2-160.tgz", md5
    server.shutdown()


def test_download_unpacks_into_data_dir(archive_server, tmp_path, monkeypatch):
    url, md5 = archive_server
    monkeypatch.delenv("ALEXNET_DATA", raising=False)
    monkeypatch.setitem(datasets.DOWNLOADS, "imagenette", (url, md5))
    root = datasets.locate("imagenette", data_dir=tmp_path / "data")
    assert root == tmp_path / "data" / "imagenette"
    train, val = Dataset.open(root).splits()
    assert train.class_names == ["n01", "n02"] and len(val) == 2


def test_download_with_wrong_checksum_fails_and_leaves_nothing(archive_server, tmp_path,
                                                               monkeypatch):
    url, _ = archive_server
    monkeypatch.delenv("ALEXNET_DATA", raising=False)
    monkeypatch.setitem(datasets.DOWNLOADS, "imagenette", (url, "0" * 32))
    with pytest.raises(DatasetNotFoundError, match="download failed"):
        datasets.locate("imagenette", data_dir=tmp_path / "data")
    assert not (tmp_path / "data" / "imagenette").exists()


def test_offline_error_names_all_three_ways(tmp_path, monkeypatch):
    monkeypatch.delenv("ALEXNET_DATA", raising=False)
    monkeypatch.setitem(datasets.DOWNLOADS, "imagenette", ("http://127.0.0.1:9/none.tgz", None))
    with pytest.raises(DatasetNotFoundError) as error:
        datasets.locate("imagenette", data_dir=tmp_path / "data")
    message = str(error.value)
    assert "--data PATH" in message and "ALEXNET_DATA" in message
    assert str(tmp_path / "data" / "imagenette") in message
