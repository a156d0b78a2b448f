"""In-memory data on the accelerator (data/ondevice.py): the ``Augment`` layer (crops,
flips, lighting; 0-255 pixels out, no normalisation: the model does that), the ten test
crops, and batches mixed by MixUp and CutMix."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from alexnet.data import augment
from alexnet.data.augment import Augment
from alexnet.data.ondevice import ArrayBatches
from alexnet.models.alexnet import build


def test_augment_layer_crops_flips_and_is_deterministic_at_inference():
    images = np.random.default_rng(0).integers(0, 256, (4, 80, 80, 3)).astype("uint8")
    layer = Augment(64, "paper", seed=3)
    a, b = np.asarray(layer(images, training=True)), np.asarray(layer(images, training=True))
    assert a.shape == (4, 64, 64, 3) and not np.allclose(a, b)
    c, d = np.asarray(layer(images, training=False)), np.asarray(layer(images, training=False))
    np.testing.assert_array_equal(c, d)
    # pixels stay on the 0-255 scale: the network normalises them itself
    assert 0 <= c.min() and c.max() <= 255 and c.mean() > 60
    # none (the ablation): training sees the evaluation crop
    none = Augment(64, "none")
    np.testing.assert_array_equal(np.asarray(none(images, training=True)), c)
    crops = np.asarray(augment.ten_crops(images, 64))
    assert crops.shape == (4, 10, 64, 64, 3)
    np.testing.assert_allclose(crops[:, 5], crops[:, 0, :, ::-1], atol=1e-5)
    np.testing.assert_allclose(crops[:, 4], c, atol=1e-4)  # the fifth is the centre crop


def test_with_augmentation_takes_uint8_squares_of_any_size():
    """The training model of in-memory data: uint8 squares in, the network's softmax
    out, the network (raw pixels in) inside under its own name."""
    net = build("bn", 3, 63)
    model = augment.with_augmentation(net, "basic", seed=0)
    assert model.input.dtype == "uint8" and model.input_shape == (None, None, None, 3)
    assert isinstance(model.get_layer("augment"), Augment)
    assert model.get_layer(net.name) is net and model.name == net.name
    squares = np.random.default_rng(0).integers(0, 256, (2, 72, 72, 3)).astype("uint8")
    centre = Augment(63, "basic")(squares, training=False)
    np.testing.assert_allclose(np.asarray(model(squares, training=False)),
                               np.asarray(net(centre, training=False)), atol=1e-5)


def test_augment_layers_saved_before_the_names_load_with_their_meaning():
    """Models trained --in-memory before this version saved crop="random"|"resized" and
    lighting; they load as the named augmentation that does the same."""
    for old, name in (({"crop": "resized", "lighting": 0.0}, "rrc"),
                      ({"crop": "random", "lighting": 0.1}, "paper"),
                      ({"crop": "random", "lighting": 0.0}, "basic")):
        config = {"name": "augment", "image_size": 64, "scale": [0.25, 1.0], "seed": 0, **old}
        assert Augment.from_config(config).augmentation == name
    with pytest.raises(ValueError, match="unknown augmentation 'fancy'"):
        Augment(64, "fancy")
    layer = Augment(64, "rrc", seed=5, name="augment")
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    assert (clone.image_size, clone.augmentation, clone.seed) == (64, "rrc", 5)


@pytest.mark.parametrize("mixup, cutmix", [(0.4, 0.0), (0.0, 1.0), (0.4, 1.0)])
def test_mixed_batches_mix_images_and_labels_alike(mixup, cutmix):
    # image i is all i * 20 and its own class: each pixel tells where it came from
    n = 10
    images = np.broadcast_to((np.arange(n) * 20).astype("uint8")[:, None, None, None],
                             (n, 16, 12, 3))
    batches = ArrayBatches(images, np.eye(n, dtype="float32"), 4, shuffle=True, mixup=mixup,
                           cutmix=cutmix, seed=0)
    assert len(batches) == 3
    kinds = set()
    for _ in range(4):  # epochs
        rows_with_class = np.zeros(n, int)
        for index in range(len(batches)):
            x, y = (np.asarray(t) for t in batches[index])
            assert x.dtype == np.uint8 and x.shape == (len(y), 16, 12, 3)
            np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-6)
            rows_with_class += (y > 0).sum(axis=0)
            for pixels, weights in zip(x, y, strict=True):
                classes, values = np.flatnonzero(weights), np.unique(pixels)
                # CutMix: each image's share of the pixels is its label weight
                cut = set(values) <= set(classes * 20) and all(
                    np.mean(pixels == k * 20) == pytest.approx(weights[k]) for k in classes)
                # MixUp: one blended value, the labels' weighted mean
                mix = len(values) == 1 and abs(values[0] - 20 * classes @ weights[classes]) <= .5
                assert (cut and cutmix) or (mix and mixup), (pixels[..., 0], weights)
                kinds |= {"cutmix"} if cut and not mix else {"mixup"} if mix and not cut else set()
        # every image is in one batch, as itself and as another's partner (a weight can be 0)
        assert rows_with_class.min() >= 1 and rows_with_class.max() <= 2
        batches.on_epoch_end()
    assert kinds == {kind for kind, alpha in (("mixup", mixup), ("cutmix", cutmix)) if alpha}


def test_unmixed_batches_cover_every_image_once_an_epoch():
    images = np.arange(10, dtype="uint8")[:, None, None, None] * np.ones((1, 2, 2, 3), "uint8")
    batches = ArrayBatches(images, np.eye(10, dtype="float32"), 4, shuffle=True, seed=1)
    orders = []
    for _ in range(2):
        seen = np.concatenate([np.asarray(batches[i][0])[:, 0, 0, 0] for i in range(3)])
        assert sorted(seen.tolist()) == list(range(10))
        orders.append(seen.tolist())
        batches.on_epoch_end()
    assert orders[0] != orders[1]  # reshuffled
    with pytest.raises(IndexError):
        batches[3]
