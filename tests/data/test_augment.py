"""The one augmentation (data/augment.py): our random crops and flips, PCA lighting and
random-resized crops and Keras' centre crop, on batches of decoded squares, each image its
own draw; the paper's ten test crops; pixels stay on the 0-255 scale (the model normalises
them); a seed gives the same pixels."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from alexnet.data import augment
from alexnet.data.batches import decode_square

SIDE = 73  # a square whose pixels say where they are: red = row, green = column


def where_square(side: int = SIDE) -> np.ndarray:
    rows, columns = np.mgrid[0:side, 0:side]
    return np.stack([rows, columns, np.full_like(rows, 128)], -1).astype("uint8")


def copies(square: np.ndarray, count: int) -> np.ndarray:
    return np.repeat(square[None], count, axis=0)


def test_random_crops_are_windows_of_the_square_flipped_or_not():
    """``basic``: an ``image_size`` window of the square (the paper's 224 of 256) at a
    random place, its own for each image of a batch, mirrored half of the time; ``none``:
    always the centre window."""
    square, size = where_square(), 64
    layer = augment.augmentation("basic", size, seed=0)
    corners, flips = set(), 0
    for crop in np.asarray(layer(copies(square, 60))):
        assert crop.shape == (size, size, 3) and crop.dtype == np.float32
        top, left, right = crop[0, 0, 0], crop[0, 0, 1], crop[0, -1, 1]
        np.testing.assert_array_equal(crop[:, 0, 0], top + np.arange(size))
        flipped = left > right
        np.testing.assert_array_equal(crop[0, :, 1], (left - np.arange(size)) if flipped
                                      else left + np.arange(size))
        assert 0 <= top <= SIDE - size and 0 <= min(left, right) <= SIDE - size
        corners.add((top, min(left, right)))
        flips += flipped
    assert len(corners) > 30 and 10 < flips < 50  # places and flips really vary
    corners_seen = {(0, 0), (SIDE - size, SIDE - size)}
    starts = {(crop[0, 0, 0], min(crop[0, 0, 1], crop[0, -1, 1]))
              for crop in np.asarray(augment.RandomCropAndFlip(size, seed=1)(
                  copies(square, 400)))}
    assert corners_seen <= starts  # both extremes can be drawn
    centre = np.asarray(augment.augmentation("none", size)(copies(square, 2)))
    assert (centre[:, 0, 0, 0] == (SIDE - size) // 2).all()
    assert (centre[:, 0, 0, 1] == (SIDE - size) // 2).all()
    np.testing.assert_array_equal(centre[0], np.asarray(augment.centre_crop(size)(square)))
    assert augment.resize_size(227) == 256 and augment.resize_size(128) == 146


def test_random_resized_crops_stay_inside_and_cover_a_quarter_or_more():
    """``rrc``: a window of 25-100 % of the square's area, aspect ratio 3/4 to 4/3,
    resized to ``image_size``, mirrored half of the time."""
    square, size = where_square(), 32
    layer = augment.augmentation("rrc", size, seed=0)
    areas, flips = [], 0
    for crop in np.asarray(layer(copies(square, 40))):
        assert crop.shape == (size, size, 3)
        rows, columns = crop[..., 0], crop[..., 1]
        assert rows.min() >= -0.5 and rows.max() <= SIDE and columns.min() >= -0.5
        height = rows.max() - rows.min() + SIDE / size
        width = columns.max() - columns.min() + SIDE / size
        assert 0.2 <= height * width / SIDE**2 <= 1.1 and 0.6 <= width / height <= 1.6
        areas.append(height * width / SIDE**2)
        steps = np.diff(columns[size // 2])
        assert (steps > 0).all() or (steps < 0).all()  # one way along a row: as is, or mirrored
        flips += steps[0] < 0
    assert np.ptp(areas) > 0.3 and 5 < flips < 35  # the sizes and flips really vary


def test_lighting_adds_one_pca_offset_per_image():
    """Every pixel gets the same offset sum_i alpha_i lambda_i p_i, alpha_i ~ N(0, 0.1):
    the offsets' covariance is P diag((0.1 * 255 lambda)^2) P^T."""
    images = np.full((1000, 4, 4, 3), 100, "uint8")
    layer = augment.PCALighting(augment.PAPER_LIGHTING, seed=1)
    draws = np.asarray(layer(images)) - 100
    offsets = draws[:, 0, 0]
    assert np.abs(draws - offsets[:, None, None]).max() < 1e-4
    vectors, values = np.array(augment.EIGENVECTORS), np.array(augment.EIGENVALUES)
    expected = vectors @ np.diag((0.1 * 255 * values) ** 2) @ vectors.T
    # Along each eigenvector the variance is (0.1 * 255 lambda_i)^2 (within sampling error).
    measured = np.diag(vectors.T @ np.cov(offsets.T) @ vectors)
    assert np.allclose(measured, np.diag(vectors.T @ expected @ vectors), rtol=0.15)


def test_ten_crops_are_corners_centre_and_their_flips(sample_photo):
    square = decode_square(sample_photo, 256)
    crops = np.asarray(augment.ten_crops(square[None].astype("float32"), 224))[0]
    assert crops.shape == (10, 224, 224, 3)
    np.testing.assert_array_equal(crops[5:], crops[:5, :, ::-1])
    np.testing.assert_array_equal(crops[0], square[:224, :224])  # top left
    np.testing.assert_array_equal(crops[3], square[-224:, -224:])  # bottom right
    np.testing.assert_array_equal(crops[4], np.asarray(augment.centre_crop(224)(square)))
    # the test-time flip: the centre crop and its mirror image, the tenth crop
    flip = np.asarray(augment.centre_and_mirror(square[None].astype("float32"), 224))[0]
    np.testing.assert_array_equal(flip, crops[[4, 9]])


@pytest.mark.parametrize("name", augment.AUGMENTATIONS)
def test_each_augmentation_gives_float_pixels_on_the_0_255_scale(name):
    square = np.random.default_rng(0).integers(0, 256, (73, 73, 3)).astype("uint8")
    images = np.asarray(augment.augmentation(name, 64, seed=0)(copies(square, 4)))
    assert images.shape == (4, 64, 64, 3) and images.dtype == np.float32
    # raw pixels, 0-255 (PCA lighting adds a few levels either way, unclipped)
    margin = 30 if name == "paper" else 0
    assert -margin <= images.min() and images.max() <= 255 + margin
    assert 30 < images.mean() < 225 and images.std() > 20


@pytest.mark.parametrize("name", augment.AUGMENTATIONS)
def test_the_same_seed_gives_the_same_pixels(sample_photo, name):
    """The augmentation the notebook draws is the one that trains: the same function with
    the same seed gives the same pixels, draw after draw; another seed other pixels."""
    square = decode_square(sample_photo, augment.resize_size(64))

    def draws(seed):  # two batches of two, one after the other
        layer = augment.augmentation(name, 64, seed=seed)
        return np.concatenate([np.asarray(layer(copies(square, 2))) for _ in range(2)])

    first = draws(7)
    np.testing.assert_array_equal(first, draws(7))
    if name != "none":
        assert not np.array_equal(first, draws(8))
        assert not np.array_equal(first[0], first[1])  # each image its own draw
        assert not np.array_equal(first[:2], first[2:])  # each batch its own


def test_the_layers_take_batches_and_say_so():
    with pytest.raises(ValueError, match=r"takes a batch of images \(B, height, width, "
                       r"channels\), not shape \(73, 73, 3\)"):
        augment.augmentation("basic", 64, seed=0)(where_square())
    with pytest.raises(ValueError, match="images of 73x73 are smaller than the 80 px crop"):
        augment.RandomCropAndFlip(80)(copies(where_square(), 2))


def test_unknown_augmentation_is_refused():
    with pytest.raises(ValueError, match="unknown augmentation 'fancy': choose one of basic"):
        augment.augmentation("fancy", 64)


def test_our_layers_round_trip_their_config():
    """Our layers are Keras layers registered under the package: serialised and back,
    they keep their settings."""
    for layer in (augment.RandomCropAndFlip(48, seed=2), augment.PCALighting(0.2, seed=3),
                  augment.RandomResizedCrop(48, scale=(0.5, 1.0), seed=4)):
        clone = keras.layers.deserialize(keras.layers.serialize(layer))
        assert type(clone) is type(layer) and clone.get_config() == layer.get_config()
    assert keras.saving.get_registered_name(augment.PCALighting) == "alexnet>PCALighting"
