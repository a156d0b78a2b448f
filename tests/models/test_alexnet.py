"""The three variants: exact layout, parameter and MAC counts, initialisation, summary."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from alexnet import data, model, tfdata
from alexnet.__main__ import main
from alexnet.config import TrainConfig
from alexnet.layers import LocalResponseNormalization
from alexnet.train import compile_model


@pytest.fixture(scope="module")
def paper():
    return model.build("paper", 1000, init="paper")


@pytest.fixture(scope="module")
def rows():
    return {row["variant"]: row for row in model.compare_variants(1000)}


def test_parameter_counts(rows):
    assert rows["paper"]["parameters"] == 60_965_224
    assert rows["owt"]["parameters"] == 61_100_840
    # bn: no conv/FC6/FC7 biases, plus 4 BatchNorm values per channel/unit
    bn_channels = 64 + 192 + 384 + 256 + 256 + 4096 + 4096
    assert rows["bn"]["parameters"] == 61_100_840 - bn_channels + 4 * bn_channels


def test_macs(rows):
    assert rows["owt"]["macs"] == pytest.approx(0.714e9, rel=0.01)
    fc = 9216 * 4096 + 4096 * 4096 + 4096 * 1000
    # out h * w * c_out * k * k * c_in per tower (grouped layers see half their input)
    paper = (55 * 55 * 96 * 11 * 11 * 3 + 27 * 27 * 256 * 5 * 5 * 48
             + 13 * 13 * 384 * 3 * 3 * 256 + 13 * 13 * 384 * 3 * 3 * 192
             + 13 * 13 * 256 * 3 * 3 * 192 + fc)
    assert rows["paper"]["macs"] == paper
    assert rows["bn"]["macs"] == rows["owt"]["macs"]


def test_layer_macs_sum_to_count_macs(paper):
    macs = model.layer_macs(paper)
    assert list(macs) == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert macs["conv2"] == 27 * 27 * 256 * 5 * 5 * 48  # grouped: half the input per tower
    assert macs["fc8"] == 4096 * 1000
    assert sum(macs.values()) == model.count_macs(paper)


def test_layout_rows(rows):
    assert [rows[v]["input"] for v in model.VARIANTS] == ["227x227", "224x224", "224x224"]
    assert rows["paper"]["lrn"] == "conv1, conv2"
    assert rows["paper"]["grouped"] == "conv2, conv4, conv5"
    assert rows["bn"]["batchnorm"] == "conv1, conv2, conv3, conv4, conv5, fc6, fc7"
    assert rows["owt"]["lrn"] == rows["owt"]["batchnorm"] == rows["owt"]["grouped"] == "-"
    table = model.comparison_table(list(rows.values())).splitlines()
    assert len(table) == 5 and "| paper | 227x227 | 60,965,224 | 0.724 G |" in table[2]


def test_paper_shapes_and_order(paper):
    def shape(name):
        return tuple(paper.get_layer(name).output.shape[1:])

    assert [shape(f"conv{i}") for i in range(1, 6)] == [
        (55, 55, 96), (27, 27, 256), (13, 13, 384), (13, 13, 384), (13, 13, 256)]
    assert shape("pool5") == (6, 6, 256) and shape("flatten") == (9216,)

    def follows(name, previous):
        return paper.get_layer(name).input is paper.get_layer(previous).output

    # ReLU -> LRN -> overlapping pool; dropout after the ReLUs of FC6 and FC7
    assert follows("lrn1", "conv1_relu") and follows("pool1", "lrn1")
    assert follows("lrn2", "conv2_relu") and follows("pool2", "lrn2")
    assert follows("conv3", "pool2") and follows("pool5", "conv5_relu")
    assert follows("drop6", "fc6_relu") and follows("fc7", "drop6")
    assert follows("drop7", "fc7_relu") and follows("fc8", "drop7")
    assert all(paper.get_layer(p).pool_size == (3, 3) and paper.get_layer(p).strides == (2, 2)
               for p in ("pool1", "pool2", "pool5"))
    assert paper.get_layer("drop6").rate == paper.get_layer("drop7").rate == 0.5
    assert sum(isinstance(layer, LocalResponseNormalization) for layer in paper.layers) == 2


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
    net = model.build("paper", 10, image_size=67, init=init)  # 67: the minimum, a small FC6
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
    ({"num_classes": 0}, "at least 1"),
    ({"dropout": 1.0}, "dropout must be in"),
    ({"variant": "paper", "image_size": 66}, "too small for variant 'paper' .minimum 67"),
    ({"variant": "owt", "image_size": 62}, "too small for variant 'owt' .minimum 63"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        model.build(**kwargs)


def test_summary_command(capsys):
    assert main(["summary", "--variant", "paper"]) == 0
    out = capsys.readouterr().out
    for text in ("(None, 55, 55, 96)", "(None, 27, 27, 256)", "lrn1", "34,944", "4,097,000",
                 "Total params: 60,965,224", "Input: 227x227x3",
                 "Multiply-accumulates per image: 0.724 G",
                 "LRN after: conv1, conv2; BatchNorm after: -; grouped: conv2, conv4, conv5"):
        assert text in out
    assert main(["summary", "--variant", "owt", "--image-size", "40"]) == 2
    assert "image size 40 is too small" in capsys.readouterr().err


@pytest.fixture(scope="module")
def imagenette_batch(imagenette_like):
    """10 Imagenette-like images (one per class) at 112 px: small enough for CPU tests."""
    split = data.list_split(imagenette_like, "train", limit=1)
    return next(iter(tfdata.batches(split, 112, 10, training=False)))


@pytest.mark.parametrize("variant", model.VARIANTS)
def test_trains_saves_and_reloads(variant, imagenette_batch, tmp_path):
    """A few SGD steps with the training recipe move every layer without diverging;
    the trained model (BatchNorm statistics included) reloads with safe_mode=True
    and gives identical outputs."""
    images, labels = imagenette_batch
    keras.utils.set_random_seed(0)
    net = model.build(variant, 10, image_size=112)
    compile_model(net, TrainConfig(variant=variant, image_size=112), steps_per_epoch=1)
    before = [keras.ops.convert_to_numpy(w).copy() for w in net.trainable_weights]
    losses = [float(net.train_on_batch(images, labels)[0]) for _ in range(3)]
    assert np.all(np.isfinite(losses)) and max(losses) < 1.5 * losses[0], losses
    unchanged = [w.path for w, b in zip(net.trainable_weights, before, strict=True)
                 if np.array_equal(keras.ops.convert_to_numpy(w), b)]
    assert not unchanged

    net.save(tmp_path / "model.keras")
    reloaded = model.load(tmp_path / "model.keras")
    assert [layer.name for layer in reloaded.layers] == [layer.name for layer in net.layers]
    np.testing.assert_array_equal(reloaded.predict_on_batch(images), net.predict_on_batch(images))
