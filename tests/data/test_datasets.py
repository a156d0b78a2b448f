"""Finding, downloading, listing and decoding datasets (issue 2)."""

from __future__ import annotations

import hashlib
import http.server
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from alexnet import data, tfdata
from conftest import write_image


def test_list_split_sorts_classes_and_labels(tiny_dataset):
    train, val = data.load(tiny_dataset)
    assert train.class_names == ["cat", "dog", "eel"] == val.class_names
    assert len(train) == 12
    for file, label in zip(train.files, train.labels, strict=True):
        assert Path(file).parent.name == train.class_names[label]


def test_limit_keeps_n_per_class(tiny_dataset):
    train, _ = data.load(tiny_dataset, limit=2)
    assert np.bincount(train.labels).tolist() == [2, 2, 2]


def test_pipeline_decodes_jpeg_png_grey_rgba_of_any_size(tiny_dataset):
    train, val = data.load(tiny_dataset)
    for split, training in ((train, True), (val, False)):
        images, labels = next(iter(tfdata.batches(split, 64, 12, training=training)))
        assert images.shape == (12, 64, 64, 3) and labels.shape == (12, 3)
        assert np.isfinite(images.numpy()).all()
    # normalised: roughly zero mean and unit spread for random pixels
    assert abs(float(images.numpy().mean())) < 0.5
    assert 0.5 < float(images.numpy().std()) < 2.0


def test_eval_pipeline_is_deterministic_and_ordered(tiny_dataset):
    _, val = data.load(tiny_dataset)
    first = [y.numpy().argmax(-1) for _, y in tfdata.batches(val, 32, 5, training=False)]
    second = [x.numpy() for x, _ in tfdata.batches(val, 32, 5, training=False)]
    third = [x.numpy() for x, _ in tfdata.batches(val, 32, 5, training=False)]
    assert np.concatenate(first).tolist() == val.labels.tolist()
    assert all(np.array_equal(a, b) for a, b in zip(second, third, strict=True))


def test_locate_order_explicit_then_env_then_data_dir(tmp_path, monkeypatch):
    env_copy, local_copy, explicit = (tmp_path / d / "imagenette" for d in ("env", "local", "x"))
    for root in (env_copy, local_copy, explicit):
        (root / "train").mkdir(parents=True)
    monkeypatch.setenv("ALEXNET_DATA", str(tmp_path / "env"))
    assert data.locate(str(explicit), data_dir=tmp_path / "local") == explicit
    assert data.locate("imagenette", data_dir=tmp_path / "local") == env_copy
    monkeypatch.delenv("ALEXNET_DATA")
    assert data.locate("imagenette", data_dir=tmp_path / "local") == local_copy


def test_missing_explicit_path_is_a_clear_error(tmp_path):
    with pytest.raises(data.DatasetNotFoundError, match="no such folder"):
        data.locate(str(tmp_path / "nope"))


def test_class_folders_must_match_between_splits(tiny_dataset):
    (tiny_dataset / "val" / "eel").rename(tiny_dataset / "val" / "emu")
    with pytest.raises(ValueError, match=r"missing \['eel'\], extra \['emu'\]"):
        data.load(tiny_dataset)


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
    monkeypatch.setitem(data.DOWNLOADS, "imagenette", (url, md5))
    root = data.locate("imagenette", data_dir=tmp_path / "data")
    assert root == tmp_path / "data" / "imagenette"
    train, val = data.load(root)
    assert train.class_names == ["n01", "n02"] and len(val) == 2


def test_download_with_wrong_checksum_fails_and_leaves_nothing(archive_server, tmp_path,
                                                               monkeypatch):
    url, _ = archive_server
    monkeypatch.delenv("ALEXNET_DATA", raising=False)
    monkeypatch.setitem(data.DOWNLOADS, "imagenette", (url, "0" * 32))
    with pytest.raises(data.DatasetNotFoundError, match="download failed"):
        data.locate("imagenette", data_dir=tmp_path / "data")
    assert not (tmp_path / "data" / "imagenette").exists()


def test_offline_error_names_all_three_ways(tmp_path, monkeypatch):
    monkeypatch.delenv("ALEXNET_DATA", raising=False)
    monkeypatch.setitem(data.DOWNLOADS, "imagenette", ("http://127.0.0.1:9/none.tgz", None))
    with pytest.raises(data.DatasetNotFoundError) as error:
        data.locate("imagenette", data_dir=tmp_path / "data")
    message = str(error.value)
    assert "--data PATH" in message and "ALEXNET_DATA" in message
    assert str(tmp_path / "data" / "imagenette") in message
