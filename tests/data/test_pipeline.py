"""Images on disk through tf.data (data/pipeline.py): decoding any format, crops and
partial decoding, PCA lighting, the ten test crops; pixels stay on the 0-255 scale (the
model normalises them)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from alexnet.data import augment, pipeline
from alexnet.data.datasets import Dataset


@pytest.fixture(scope="module")
def contents(sample_photo) -> tf.Tensor:
    return tf.io.read_file(str(sample_photo))  # a 500 x 375 JPEG


def test_partial_decode_equals_decode_then_crop(contents):
    window = tf.constant([20, 90, 300, 280])
    partial = pipeline.decode_crop(contents, lambda h, w: window, 224)
    whole = pipeline.crop(pipeline.decode(contents), window, 224)
    assert np.abs(partial.numpy().astype(int) - whole.numpy()).max() <= 1


def test_centre_window_is_resize_256_then_centre_224(contents):
    """The window formulation gives what the paper describes, without decoding it all."""
    windowed = pipeline.eval_transform(contents, 224, encoded=True).numpy().astype(float)
    resized = pipeline.resize_shorter(pipeline.decode(contents), 256)
    assert resized.shape == (256, 341, 3)
    reference = resized.numpy()[16:240, 58:282].astype(float)
    assert np.abs(windowed - reference).mean() < 3


def test_random_square_and_rrc_windows_stay_inside():
    square, rrc = pipeline.random_square(224), pipeline.random_resized()
    corners = set()
    for _ in range(100):
        y, x, h, w = square(375, 500).numpy()
        assert h == w == 328 and 0 <= y <= 375 - 328 and 0 <= x <= 500 - 328  # 224 of 256
        corners.add((y, x))
        y, x, h, w = rrc(375, 500).numpy()
        assert 0 <= y and y + h <= 375 and 0 <= x and x + w <= 500
        assert 0.07 <= h * w / (375 * 500) <= 1 and 0.7 <= w / h <= 1.4
    assert len(corners) > 80  # positions really vary
    assert augment.resize_size(227) == 256 and augment.resize_size(128) == 146


def test_lighting_adds_one_pca_offset_per_image():
    """Every pixel gets the same offset sum_i alpha_i lambda_i p_i, alpha_i ~ N(0, 0.1):
    the offsets' covariance is P diag((0.1 * 255 lambda)^2) P^T."""
    tf.random.set_seed(1)
    image = tf.fill([8, 8, 3], tf.constant(100, tf.uint8))

    @tf.function
    def draws(count):  # offset of pixel (0, 0), and how far any pixel differs from it
        def one(_):
            out = pipeline.lighting(image, augment.PAPER_LIGHTING) - 100
            return tf.concat([out[0, 0], [tf.reduce_max(tf.abs(out - out[0, 0]))]], 0)
        return tf.map_fn(one, tf.range(count), fn_output_signature=tf.float32)

    result = draws(1500).numpy()
    tf.random.set_seed(None)  # leave no global seed behind for later tests
    offsets = result[:, :3]
    assert result[:, 3].max() < 1e-4
    vectors, values = np.array(augment.EIGENVECTORS), np.array(augment.EIGENVALUES)
    expected = vectors @ np.diag((0.1 * 255 * values) ** 2) @ vectors.T
    # Along each eigenvector the variance is (0.1 * 255 lambda_i)^2 (within sampling error).
    measured = np.diag(vectors.T @ np.cov(np.array(offsets).T) @ vectors)
    assert np.allclose(measured, np.diag(vectors.T @ expected @ vectors), rtol=0.15)


def test_ten_crop_is_corners_centre_and_their_flips(contents):
    crops = pipeline.ten_crop_transform(contents, 224, encoded=True).numpy().astype(float)
    assert crops.shape == (10, 224, 224, 3)
    assert np.array_equal(crops[5:], crops[:5, :, ::-1])
    resized = pipeline.resize_shorter(pipeline.decode(contents), 256).numpy().astype(float)
    assert np.abs(crops[0] - resized[:224, :224]).mean() < 3  # top left
    assert np.abs(crops[3] - resized[-224:, -224:]).mean() < 3  # bottom right
    centre = pipeline.eval_transform(contents, 224, encoded=True).numpy()
    assert np.abs(crops[4] - centre).mean() < 1


@pytest.mark.parametrize("name", augment.AUGMENTATIONS)
def test_batches_for_each_augmentation(tiny_dataset, name):
    split = Dataset.open(tiny_dataset).folder("train")
    images, labels = next(iter(pipeline.batches(split, 64, 12, True, seed=0,
                                                augmentation=name)))
    assert images.shape == (12, 64, 64, 3) and labels.shape == (12, 3)
    assert images.dtype == tf.float32
    # raw pixels, 0-255 (PCA lighting adds a few levels either way, unclipped)
    margin = 30 if augment.lookup(name).lighting else 0
    assert -margin <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 255 + margin
    assert 30 < float(tf.reduce_mean(images)) < 225 and float(tf.math.reduce_std(images)) > 20


def test_no_augmentation_trains_on_the_evaluation_crop(tiny_dataset):
    """``none`` (the ablation): training batches are the centre crops evaluation sees,
    reshuffled, never flipped."""
    split = Dataset.open(tiny_dataset).folder("train")

    def by_content(images) -> np.ndarray:  # the images in an order of their own
        images = np.asarray(images)
        return images[np.argsort(images.reshape(len(images), -1).sum(axis=1))]

    evaluation = by_content(next(iter(pipeline.batches(split, 64, len(split), False)))[0])
    for seed in (0, 1):
        train = next(iter(pipeline.batches(split, 64, len(split), True, seed=seed,
                                         augmentation="none")))[0]
        assert np.allclose(by_content(train), evaluation, atol=1e-4)


def test_bad_settings_are_refused(tiny_dataset):
    split = Dataset.open(tiny_dataset).folder("val")
    with pytest.raises(ValueError, match="unknown augmentation 'fancy'"):
        pipeline.batches(split, 64, 4, True, augmentation="fancy")
    with pytest.raises(ValueError, match="ten_crop is for evaluation"):
        pipeline.batches(split, 64, 4, True, ten_crop=True)


def test_pipeline_decodes_jpeg_png_grey_rgba_of_any_size(tiny_dataset):
    train, val = Dataset.open(tiny_dataset).splits()
    for split, training in ((train, True), (val, False)):
        images, labels = next(iter(pipeline.batches(split, 64, 12, training=training)))
        assert images.shape == (12, 64, 64, 3) and labels.shape == (12, 3)
        assert np.isfinite(images.numpy()).all()
    # raw pixels: 0-255, roughly mid-grey on average for random pixels
    assert 0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 255
    assert 64 < float(images.numpy().mean()) < 192 and float(images.numpy().std()) > 30


def test_eval_pipeline_is_deterministic_and_ordered(tiny_dataset):
    _, val = Dataset.open(tiny_dataset).splits()
    first = [y.numpy().argmax(-1) for _, y in pipeline.batches(val, 32, 5, training=False)]
    second = [x.numpy() for x, _ in pipeline.batches(val, 32, 5, training=False)]
    third = [x.numpy() for x, _ in pipeline.batches(val, 32, 5, training=False)]
    assert np.concatenate(first).tolist() == val.labels.tolist()
    assert all(np.array_equal(a, b) for a, b in zip(second, third, strict=True))


def test_examples_are_uint8_pixels_with_their_labels(tiny_dataset):
    """What the plots draw: evaluation's centre crops (or augmented training crops) as
    uint8, spread over the classes."""
    train, val = Dataset.open(tiny_dataset).splits()
    for split, training in ((val, False), (train, True)):
        images, labels = pipeline.examples(split, 48, 6, training)
        assert images.dtype == np.uint8 and images.shape == (6, 48, 48, 3)
        assert sorted(set(labels.tolist())) == [0, 1, 2]
    centre = next(iter(pipeline.batches(val.spread(6), 48, 6, training=False)))[0]
    np.testing.assert_array_equal(pipeline.examples(val, 48, 6, False)[0],
                                  np.asarray(centre).astype("uint8"))
