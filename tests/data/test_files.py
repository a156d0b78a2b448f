"""Images that real ImageNet holds and that break naive pipelines: each is decoded
correctly, or skipped and reported by file name; an epoch never stops. Made from a
generated photograph-like JPEG (conftest.sample_photo)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alexnet.data import augment, batches, files
from alexnet.data.datasets import Dataset
from alexnet.data.splits import Split
from alexnet.harness import shards
from conftest import huge_header_jpeg

GOOD = ("good.JPEG", "grey.JPEG", "cmyk.JPEG", "png.JPEG")
UNUSABLE = {"truncated.JPEG": "truncated", "empty.JPEG": "empty file",
            "text.JPEG": "not an image", "bomb.JPEG": "too large"}


def make_bad_tree(root: Path, sample: Path) -> Path:
    """train/tench/ with one file of each kind, all named .JPEG as in ImageNet, made
    from ``sample`` (a 500 x 375 JPEG)."""
    folder = root / "train" / "tench"
    folder.mkdir(parents=True)
    shutil.copy(sample, folder / "good.JPEG")
    rgb = Image.open(sample).convert("RGB")
    rgb.convert("L").save(folder / "grey.JPEG", quality=95)
    rgb.convert("CMYK").save(folder / "cmyk.JPEG", quality=95)
    rgb.save(folder / "png.JPEG", format="PNG")
    raw = sample.read_bytes()
    (folder / "truncated.JPEG").write_bytes(raw[:len(raw) // 2])
    (folder / "empty.JPEG").write_bytes(b"")
    (folder / "text.JPEG").write_text("<html>404 Not Found</html>\n")
    (folder / "bomb.JPEG").write_bytes(huge_header_jpeg())
    # Well-formed header and end marker, garbage in the first quarter of the pixel data
    # (above every crop's bottom edge, so partial decoding meets it too): only decoding
    # finds it.
    noise = np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    (folder / "corrupt.JPEG").write_bytes(raw[:len(raw) // 4] + noise + raw[len(raw) // 4 + 2000:])
    return root


@pytest.fixture(scope="module")
def bad_tree(tmp_path_factory, sample_photo) -> Path:
    return make_bad_tree(tmp_path_factory.mktemp("bad"), sample_photo)


def test_problem_names_each_kind(bad_tree):
    folder = bad_tree / "train" / "tench"
    for name in GOOD + ("corrupt.JPEG",):  # corrupt passes the header check: see below
        assert files.problem(folder / name) is None, name
    for name, reason in UNUSABLE.items():
        assert reason in files.problem(folder / name), name


def test_pixel_limit_applies_before_decoding(bad_tree):
    good = bad_tree / "train" / "tench" / "good.JPEG"  # 500 x 375
    assert files.problem(good, max_pixels=500 * 375) is None
    assert "500x375 is over 187,499 pixels" in files.problem(good, max_pixels=500 * 375 - 1)
    with pytest.raises(ValueError, match="too large"):
        batches.decode_square(bad_tree / "train" / "tench" / "bomb.JPEG", 64)


def test_listing_skips_and_reports_by_name(bad_tree, capsys):
    split = Dataset.open(bad_tree).folder("train")
    names = sorted(Path(f).name for f in split.files)
    assert names == sorted(GOOD + ("corrupt.JPEG",))
    assert sorted(Path(f).name for f, _ in split.skipped) == sorted(UNUSABLE)
    report = capsys.readouterr().err
    assert "skipped 4 unusable file(s)" in report
    for name, reason in UNUSABLE.items():
        assert name in report and reason in report


def cached_training(split):
    return batches.training(split, 64, 3, augment.augmentation("basic", 64, seed=0), cache=True)


def ten_crop_evaluation(split):
    return batches.evaluation(split, 3, 64, "ten")


def in_memory_training(split):
    return batches.training(batches.decode(split, 64, workers=1), 64, 3,
                            augment.augmentation("basic", 64, seed=0))


@pytest.mark.parametrize("make", [cached_training, ten_crop_evaluation, in_memory_training])
def test_epoch_survives_a_corrupt_file_and_names_it(bad_tree, capsys, make):
    """Decoding whole images (Pillow, the one decoder: streamed, cached or decoded into
    memory) meets the damage: the image is dropped and named. Evaluation and in-memory
    data see each good image once; a streamed training epoch keeps its length (another
    image takes the dropped one's place)."""
    split = Dataset.open(bad_tree).folder("train")
    assert len(split) == len(GOOD) + 1
    seen = sum(len(x) for x, _ in make(split))
    assert seen == (len(split) if make is cached_training else len(GOOD))
    assert ("corrupt.JPEG", "not decodable") in [(Path(f).name, reason.split(" (")[0])
                                                 for f, reason in split.skipped]
    err = capsys.readouterr().err
    assert "corrupt.JPEG: not decodable" in err and "; skipped" in err


def test_decoding_never_stops_an_epoch(bad_tree):
    """Streamed from disk, a training epoch has the length Keras was told (another image
    takes a dropped one's place), and evaluation sees every image that decodes."""
    split = Dataset.open(bad_tree).folder("train")
    train = batches.training(split, 64, 3, augment.augmentation("basic", 64, seed=0))
    assert int(train.cardinality()) == 2  # known to Keras: 5 images in batches of 3
    assert sum(len(x) for x, _ in train) == len(split)
    seen = sum(len(x) for x, _ in batches.evaluation(split, 3, 64))
    assert seen in (len(GOOD), len(GOOD) + 1)


def test_full_check_finds_corrupt_data_before_training(bad_tree, capsys):
    split = Dataset.open(bad_tree).folder("train", check="full")
    assert sorted(Path(f).name for f in split.files) == sorted(GOOD)
    assert "corrupt.JPEG: not decodable" in capsys.readouterr().err


def test_cmyk_png_and_grey_decode_to_the_right_pixels(bad_tree):
    split = Dataset.open(bad_tree).folder("train")
    split = Split([f for f in split.files if Path(f).name in GOOD],
                  np.zeros(len(GOOD), "int32"), split.class_names)
    batch = next(iter(batches.evaluation(split, 8, 96)))[0]  # pixels, 0-255
    crops = {Path(f).name: np.asarray(image).astype(float)
             for f, image in zip(split.files, batch, strict=True)}
    good = crops["good.JPEG"]
    assert np.abs(crops["png.JPEG"] - good).mean() < 2  # the same pixels, losslessly stored
    assert np.abs(crops["cmyk.JPEG"] - good).mean() < 6  # re-encoded: JPEG error only
    grey = crops["grey.JPEG"]
    assert np.abs(grey - grey[..., :1]).max() <= 1  # three equal channels (up to rounding)
    assert np.abs(grey[..., 0] - good.mean(axis=-1)).mean() < 8


def test_the_decoder_names_what_is_wrong_with_bytes(bad_tree):
    """Why bytes do not decode (batches.decode_square, the one decoder), or a square."""
    folder = bad_tree / "train" / "tench"
    assert batches.decode_square((folder / "good.JPEG").read_bytes(), 32).shape == (32, 32, 3)
    for name in ("text.JPEG", "truncated.JPEG"):
        with pytest.raises(ValueError, match="not decodable"):
            batches.decode_square((folder / name).read_bytes(), 32)
    with pytest.raises(ValueError, match="too large"):
        batches.decode_square(huge_header_jpeg(), 32)


def test_broken_and_looping_links_are_named(tmp_path, sample_photo, capsys):
    """A dataset of symbolic links (as made to share one copy) may hold dead or looping
    ones: each is named for what it is, not as an unreadable image."""
    folder = tmp_path / "train" / "tench"
    folder.mkdir(parents=True)
    shutil.copy(sample_photo, folder / "good.JPEG")
    (folder / "dead.JPEG").symlink_to(tmp_path / "gone.JPEG")
    (folder / "loop.JPEG").symlink_to(folder / "loop.JPEG")
    gone = tmp_path / "gone.JPEG"
    assert files.problem(folder / "dead.JPEG") == f"broken symbolic link (to {gone})"
    assert files.problem(folder / "loop.JPEG") == "looping symbolic link"
    with pytest.raises(ValueError, match="dead.JPEG: broken symbolic link"):
        shards.load_rgb(folder / "dead.JPEG")
    split = Dataset.open(tmp_path).folder("train")
    assert [Path(f).name for f in split.files] == ["good.JPEG"]
    assert sorted((Path(f).name, r.split(" (")[0]) for f, r in split.skipped) == [
        ("dead.JPEG", "broken symbolic link"), ("loop.JPEG", "looping symbolic link")]
    assert "looping symbolic link" in capsys.readouterr().err
