"""The three variants: exact layout, initialisation, the preprocessing layer in front of
them (raw pixels in), and bounds of their arguments."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from alexnet.data import batches
from alexnet.data.datasets import Dataset
from alexnet.harness import runfolder
from alexnet.models import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE, VARIANTS
from alexnet.models.alexnet import MEAN, STD, build
from alexnet.models.layers import LocalResponseNormalization
from alexnet.recipes import TrainConfig, from_recipe
from conftest import compiled


@pytest.fixture(scope="module")
def paper():
    return build("paper", 1000, init="paper")


def test_paper_shapes_and_order(paper):
    def shape(name):
        return tuple(paper.get_layer(name).output.shape[1:])

    assert [shape(f"conv{i}") for i in range(1, 6)] == [
        (55, 55, 96), (27, 27, 256), (13, 13, 384), (13, 13, 384), (13, 13, 256)]
    assert shape("pool5") == (6, 6, 256) and shape("flatten") == (9216,)

    def follows(name, previous):
        return paper.get_layer(name).input is paper.get_layer(previous).output

    # pixels -> normalisation -> conv1; ReLU -> LRN -> overlapping pool; dropout after
    # the ReLUs of FC6 and FC7
    assert follows("conv1", "preprocess")
    assert follows("lrn1", "conv1_relu") and follows("pool1", "lrn1")
    assert follows("lrn2", "conv2_relu") and follows("pool2", "lrn2")
    assert follows("conv3", "pool2") and follows("pool5", "conv5_relu")
    assert follows("drop6", "fc6_relu") and follows("fc7", "drop6")
    assert follows("drop7", "fc7_relu") and follows("fc8", "drop7")
    assert all(paper.get_layer(p).pool_size == (3, 3) and paper.get_layer(p).strides == (2, 2)
               for p in ("pool1", "pool2", "pool5"))
    assert paper.get_layer("drop6").rate == paper.get_layer("drop7").rate == 0.5
    assert sum(isinstance(layer, LocalResponseNormalization) for layer in paper.layers) == 2


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_first_layer_normalises_raw_pixels(variant):
    """Every variant takes RGB pixels in [0, 255]: its first layer after the input is
    ImageNet's per-channel normalisation, named ``preprocess``, and has no weights."""
    net = build(variant, 3, MIN_IMAGE_SIZE[variant])
    first = net.layers[1]
    assert isinstance(first, keras.layers.Normalization) and first.name == "preprocess"
    assert first.weights == []
    pixels = np.random.default_rng(0).integers(0, 256, (2, 5, 5, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(first(pixels)),
                               (pixels - np.array(MEAN)) / np.array(STD), rtol=1e-5, atol=1e-5)


def test_paper_towers(paper):
    groups = {f"conv{i}": paper.get_layer(f"conv{i}").groups for i in range(1, 6)}
    assert groups == {"conv1": 1, "conv2": 2, "conv3": 1, "conv4": 2, "conv5": 2}
    assert tuple(paper.get_layer("conv2").kernel.shape) == (5, 5, 48, 256)
    # Changing tower 2's input channels leaves tower 1's outputs alone.
    conv2 = paper.get_layer("conv2")
    x = np.random.default_rng(0).normal(size=(1, 27, 27, 96)).astype("float32")
    changed = x.copy()
    changed[..., 48:] += 1.0
    before, after = np.asarray(conv2(x)), np.asarray(conv2(changed))
    np.testing.assert_array_equal(before[..., :128], after[..., :128])
    assert not np.allclose(before[..., 128:], after[..., 128:])


def test_paper_init(paper):
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"):
        kernel, bias = (np.asarray(w) for w in paper.get_layer(name).get_weights())
        assert abs(kernel.mean()) < 5e-4, name
        assert kernel.std() == pytest.approx(0.01, rel=0.05), name
        assert np.all(bias == (1.0 if name in ("conv2", "conv4", "conv5", "fc6", "fc7") else 0.0))


@pytest.mark.parametrize("init", ["glorot", "he"])
def test_modern_inits(init):
    net = build("paper", 10, image_size=67, init=init)  # 67: the minimum, a small FC6
    for name, fan_in, fan_out in (("conv2", 5 * 5 * 48, 5 * 5 * 256),
                                  ("conv3", 3 * 3 * 256, 3 * 3 * 384), ("fc6", 256, 4096)):
        kernel, bias = (np.asarray(w) for w in net.get_layer(name).get_weights())
        std = np.sqrt(2 / (fan_in + fan_out) if init == "glorot" else 2 / fan_in)
        assert kernel.std() == pytest.approx(std, rel=0.05), name
        assert np.all(bias == 0)
    assert net.get_layer("pool5").output.shape[1:3] == (1, 1)


@pytest.mark.parametrize("kwargs, message", [
    ({"variant": "vgg"}, "unknown variant 'vgg'"),
    ({"init": "xavier"}, "unknown init 'xavier'"),
    ({"num_classes": 0}, "0 class.*needs at least 2"),
    ({"num_classes": 1}, "1 class.*needs at least 2"),
    ({"dropout": 1.0}, r"--dropout 1.0: must be in \[0, 1\)"),
    ({"variant": "paper", "image_size": 66}, "--image-size 66: variant 'paper' takes 67 to 512"),
    ({"variant": "owt", "image_size": 62}, "--image-size 62: variant 'owt' takes 63 to 512"),
    ({"variant": "bn", "image_size": MAX_IMAGE_SIZE + 1}, "--image-size 513: .* 63 to 512"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(**kwargs)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("size", [67, 128, 160, 227])  # 67: maps smaller than 6x6
def test_output_shape_for_image_sizes(variant, size):
    net = build(variant, num_classes=7, image_size=size)
    assert net.output_shape == (None, 7)
    pixels = np.full((2, size, size, 3), 128, "float32")
    probabilities = net.predict(pixels, verbose=0)  # graph mode
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.fixture(scope="module")
def imagenette_batch(imagenette_like):
    """10 Imagenette-like images (one per class) at 112 px, raw pixels: small enough for
    CPU tests."""
    split = Dataset.open(imagenette_like).folder("train", limit=1)
    images, labels = next(iter(batches.evaluation(split, 10, 112)))
    assert float(np.max(images)) > 100  # pixels on the 0-255 scale, as the model takes them
    return images, labels


@pytest.mark.parametrize("variant", VARIANTS)
def test_trains_saves_and_reloads(variant, imagenette_batch, tmp_path):
    """A few SGD steps with the training recipe move every layer without diverging;
    the trained model (BatchNorm statistics included) reloads with safe_mode=True
    and gives identical outputs."""
    images, labels = imagenette_batch
    keras.utils.set_random_seed(0)
    # bn: the modern recipe; paper and owt: the paper recipe's SGD (owt, as torchvision's,
    # with Glorot's initialisation: He's made it diverge within ten steps on Imagenette)
    config = from_recipe("modern" if variant == "bn" else "paper", variant=variant,
                         image_size=112, init="glorot" if variant == "owt" else None)
    net = build(variant, 10, image_size=112, init=config.init)
    compiled(net, config)
    before = [keras.ops.convert_to_numpy(w).copy() for w in net.trainable_weights]
    losses = [float(net.train_on_batch(images, labels)[0]) for _ in range(3)]
    assert np.all(np.isfinite(losses)) and max(losses) < 1.5 * losses[0], losses
    unchanged = [w.path for w, b in zip(net.trainable_weights, before, strict=True)
                 if np.array_equal(keras.ops.convert_to_numpy(w), b)]
    assert not unchanged

    net.save(tmp_path / "model.keras")
    reloaded = runfolder.load_model(tmp_path / "model.keras")
    assert [layer.name for layer in reloaded.layers] == [layer.name for layer in net.layers]
    np.testing.assert_array_equal(reloaded.predict_on_batch(images), net.predict_on_batch(images))


def test_loss_falls_when_fitting_a_fixed_batch(imagenette_like):
    keras.utils.set_random_seed(0)
    train_split = Dataset.open(imagenette_like).split("train", limit=2)
    images, labels = next(iter(batches.evaluation(train_split, 20, 96)))
    net = compiled(build("bn", 10, 96), TrainConfig(lr=0.01, image_size=96))
    losses = [float(net.train_on_batch(images, labels)[0]) for _ in range(8)]
    assert losses[-1] < 0.7 * losses[0], losses
