"""From a split to batches (data/batches.py): Pillow decodes every image the same way (its
shorter side resized, the centre square cut), in memory or streamed from disk; each image
then goes through the one augmentation; batches are seeded, mixed by MixUp and CutMix
when asked, and pixels stay on the 0-255 scale (the model normalises them)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from alexnet.data import augment, batches
from alexnet.data.datasets import Dataset
from alexnet.data.splits import Split
from alexnet.harness import train
from alexnet.recipes import TrainConfig


def test_decode_square_is_resize_256_then_centre_256(sample_photo):
    """The paper's square: the shorter side resized to 256, the centre 256 x 256 cut; the
    same from the file and from its bytes."""
    square = batches.decode_square(sample_photo, 256)
    assert square.shape == (256, 256, 3) and square.dtype == np.uint8
    resized = np.asarray(Image.open(sample_photo).convert("RGB").resize((341, 256),
                                                                        Image.BICUBIC))
    reference = resized[:, 42:298].astype(float)
    assert np.abs(square - reference).mean() < 3
    np.testing.assert_array_equal(batches.decode_square(sample_photo.read_bytes(), 256), square)
    with pytest.raises(ValueError, match="not decodable"):
        batches.decode_square(b"<html>404</html>", 256)


@pytest.mark.parametrize("name", augment.AUGMENTATIONS)
def test_training_batches_for_each_augmentation(tiny_dataset, name):
    split = Dataset.open(tiny_dataset).folder("train")
    for data in (split, batches.decode(split, 64, workers=1)):
        images, labels = next(iter(batches.training(
            data, 64, 12, augment.augmentation(name, 64, seed=0), seed=0)))
        assert images.shape == (12, 64, 64, 3) and labels.shape == (12, 3)
        assert images.dtype == "float32"
        images = np.asarray(images)
        # raw pixels, 0-255 (PCA lighting adds a few levels either way, unclipped)
        margin = 30 if name == "paper" else 0
        assert -margin <= images.min() and images.max() <= 255 + margin
        assert 30 < images.mean() < 225 and images.std() > 20


def test_no_augmentation_trains_on_the_evaluation_crop(tiny_dataset):
    """``none`` (the ablation): training batches are the centre crops evaluation sees,
    reshuffled, never flipped."""
    split = Dataset.open(tiny_dataset).folder("train")

    def by_content(images) -> np.ndarray:  # the images in an order of their own
        images = np.asarray(images)
        return images[np.argsort(images.reshape(len(images), -1).sum(axis=1))]

    evaluation = by_content(next(iter(batches.evaluation(split, len(split), 64)))[0])
    for seed in (0, 1):
        train = next(iter(batches.training(split, 64, len(split),
                                           augment.augmentation("none", 64), seed=seed)))[0]
        assert np.allclose(by_content(train), evaluation, atol=1e-4)


def test_batches_decode_jpeg_png_grey_rgba_of_any_size(tiny_dataset):
    train, val = Dataset.open(tiny_dataset).splits()
    for images, labels in (next(iter(batches.training(train, 64, 12,
                                                      augment.augmentation("basic", 64)))),
                           next(iter(batches.evaluation(val, 12, 64)))):
        assert images.shape == (12, 64, 64, 3) and labels.shape == (12, 3)
        assert np.isfinite(np.asarray(images)).all()
    # raw pixels: 0-255, roughly mid-grey on average for random pixels
    images = np.asarray(images)
    assert 0 <= images.min() and images.max() <= 255
    assert 64 < images.mean() < 192 and images.std() > 30


def test_in_memory_and_streamed_data_give_the_same_pixels(tiny_dataset):
    """One decoder: the squares decoded into memory and those streamed from the files
    give the same evaluation batches, and the same training batches for one seed."""
    _, val = Dataset.open(tiny_dataset).splits()
    squares = batches.decode(val, 64, workers=2)
    assert len(squares) == len(val) and squares.images.shape == (len(val), 73, 73, 3)
    np.testing.assert_array_equal(squares.labels, val.labels)
    for crops in ("centre", "flip", "ten"):
        streamed = [np.asarray(x) for x, _ in batches.evaluation(val, 5, 64, crops)]
        decoded = [np.asarray(x) for x, _ in batches.evaluation(squares, 5, 64, crops)]
        assert len(streamed) == len(decoded) == 3
        for a, b in zip(streamed, decoded, strict=True):
            np.testing.assert_array_equal(a, b)


def test_evaluation_is_deterministic_and_ordered(tiny_dataset):
    _, val = Dataset.open(tiny_dataset).splits()
    first = [np.asarray(y).argmax(-1) for _, y in batches.evaluation(val, 5, 32)]
    second = [np.asarray(x) for x, _ in batches.evaluation(val, 5, 32)]
    third = [np.asarray(x) for x, _ in batches.evaluation(val, 5, 32)]
    assert np.concatenate(first).tolist() == val.labels.tolist()
    assert all(np.array_equal(a, b) for a, b in zip(second, third, strict=True))
    crops = next(iter(batches.evaluation(val, 5, 32, "ten")))[0]
    assert crops.shape == (5, 10, 32, 32, 3)
    np.testing.assert_array_equal(np.asarray(crops)[:, 4], second[0])  # the centre crop
    flipped = np.asarray(next(iter(batches.evaluation(val, 5, 32, "flip")))[0])
    np.testing.assert_array_equal(flipped, np.asarray(crops)[:, [4, 9]])  # and its mirror
    with pytest.raises(ValueError, match="unknown crops 'five'"):
        batches.evaluation(val, 5, 32, "five")


def test_examples_are_centre_crops_with_their_labels(tiny_dataset):
    """What the plots draw: evaluation's centre crops (0-255), spread over the classes."""
    _, val = Dataset.open(tiny_dataset).splits()
    for data in (val, batches.decode(val, 48, workers=1)):
        images, labels = batches.examples(data, 48, 6)
        assert images.shape == (6, 48, 48, 3)
        assert 0 <= images.min() and images.max() <= 255
        assert sorted(set(labels.tolist())) == [0, 1, 2]
    centre = next(iter(batches.evaluation(val.spread(6), 6, 48)))[0]
    np.testing.assert_array_equal(batches.examples(val, 48, 6)[0], np.asarray(centre))


def numbered(count: int, side: int = 12) -> batches.Squares:
    """Squares in memory whose pixels say which image they are: image i is all i * 20
    and of its own class i."""
    images = np.broadcast_to((np.arange(count) * 20).astype("uint8")[:, None, None, None],
                             (count, side, side, 3)).copy()
    split = Split([f"{i}.png" for i in range(count)], np.arange(count, dtype="int32"),
                  [f"c{i}" for i in range(count)])
    return batches.Squares(images, split.labels, split)


def test_unmixed_batches_cover_every_image_once_an_epoch():
    data = numbered(10)
    ds = batches.training(data, 12, 4, augment.augmentation("none", 12), seed=1)
    assert int(ds.cardinality()) == 3
    orders = []
    for _ in range(2):  # epochs
        seen = np.concatenate([np.asarray(x)[:, 0, 0, 0] for x, _ in ds]) / 20
        assert sorted(seen.tolist()) == list(range(10))
        orders.append(seen.tolist())
    assert orders[0] != orders[1]  # reshuffled


def same_batches_for_a_seed(data) -> None:
    def epochs(seed):
        ds = batches.training(data, 64, 5, augment.augmentation("paper", 64, seed=seed),
                              seed=seed)
        return [np.concatenate([np.asarray(x) for x, _ in ds]) for _ in range(2)]

    first = epochs(3)
    for a, b in zip(first, epochs(3), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])  # each epoch its own
    assert not np.array_equal(first[0], epochs(4)[0])


def test_the_same_seed_gives_the_same_batches(tiny_dataset):
    """Squares in memory: a seed gives the same shuffles and the same crops, epoch after
    epoch; another seed other batches."""
    same_batches_for_a_seed(batches.decode(Dataset.open(tiny_dataset).folder("train"), 64,
                                           workers=1))


def test_the_same_seed_gives_the_same_batches_streamed_from_disk(tiny_dataset):
    """The same, for a split read from its files each epoch (batches.py: "either way ...
    a seed gives the same crops on every run")."""
    same_batches_for_a_seed(Dataset.open(tiny_dataset).folder("train"))


@pytest.mark.parametrize("mixup, cutmix", [(0.4, 0.0), (0.0, 1.0), (0.4, 1.0)])
def test_mixed_batches_mix_images_and_labels_alike(mixup, cutmix):
    """The command line's mixing (harness/train.train_batches: Keras' MixUp and CutMix
    over the core's batches)."""
    n = 10
    config = TrainConfig(image_size=16, batch_size=4, augmentation="none", mixup=mixup,
                         cutmix=cutmix, seed=0)
    ds = train.train_batches(SimpleNamespace(config=config, train_data=numbered(n, 16),
                                             first_epoch=0))
    kinds = set()
    for _ in range(4):  # epochs
        rows_with_class = np.zeros(n, int)
        for x, y in ds:
            x, y = np.asarray(x), np.asarray(y)
            assert x.shape == (len(y), 16, 16, 3)
            np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-5)
            rows_with_class += (y > 1e-6).sum(axis=0)
            for pixels, weights in zip(x, y, strict=True):
                classes, values = np.flatnonzero(weights > 1e-6), np.unique(pixels)
                # CutMix: each image's share of the pixels is its label weight (roughly: Keras'
                # CutMix weighs the box it drew, which the 16 px grid rounds and clips)
                cut = set(values) <= set(classes * 20.0) and all(
                    np.mean(pixels == k * 20) == pytest.approx(weights[k], abs=0.15)
                    for k in classes)
                # MixUp: one blended value, the labels' weighted mean
                mix = np.ptp(values) <= .5 and abs(values[0] - 20 * classes @ weights[classes]) \
                    <= .5
                assert (cut and cutmix) or (mix and mixup), (values, weights[classes])
                kinds |= {"cutmix"} if cut and not mix else {"mixup"} if mix and not cut else set()
        # every image is in one batch, as itself and as another's partner (a weight can be 0)
        assert rows_with_class.min() >= 1 and rows_with_class.max() <= 2
    assert kinds == {kind for kind, alpha in (("mixup", mixup), ("cutmix", cutmix)) if alpha}
