"""The CPU swap-ins for Keras' Conv2D and BatchNormalization (models/fast.py): the same
outputs and gradients as Keras' layers, and saved as Keras' own layers, so that weight
files and model files interchange with plain Keras."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from alexnet.models import fast
from alexnet.models.fast import FusedBatchNormalization, TapwiseConv2D
from alexnet.models.layers import GroupedConv2D


@pytest.mark.parametrize("kernel, padding, groups, graph", [
    (3, "same", 1, True), (5, "same", 1, True), (3, "valid", 1, True), (5, "same", 2, True),
    (5, "same", 1, False), (5, "same", 2, False)])
def test_conv_with_tapwise_kernel_gradient_equals_keras_conv(kernel, padding, groups, graph,
                                                             monkeypatch):
    """Output, input gradient and kernel gradient (here computed tap by tap) all match
    Keras' Conv2D, inside tf.function as in training and eagerly."""
    # on, whatever this CPU: on one with AVX-512 oneDNN's own gradients are used
    monkeypatch.setattr(fast, "kernel_gradient_by_matmuls", lambda: True)
    x = tf.constant(np.random.default_rng(0).normal(size=(3, 11, 9, 8)).astype("float32"))
    reference = keras.layers.Conv2D(6, kernel, padding=padding, groups=groups)
    ours = (GroupedConv2D if groups > 1 else TapwiseConv2D)(6, kernel, padding=padding,
                                                            groups=groups)
    reference.build(x.shape)
    ours.build(x.shape)
    ours.set_weights(reference.get_weights())

    def outputs_and_gradients(layer):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = layer(x)
            loss = tf.reduce_sum(tf.sin(out))  # upstream gradient varies across positions
        return [out, *tape.gradient(loss, [x, layer.kernel, layer.bias])]

    run = tf.function(outputs_and_gradients) if graph else outputs_and_gradients
    for theirs, mine in zip(run(reference), run(ours), strict=True):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-4, atol=1e-5)


def test_conv_falls_back_to_keras_conv(monkeypatch):
    """Where the tapwise gradient is not used (GPU, other backends, CPUs with AVX-512,
    strides), the layer is Conv2D: no custom gradient in the graph."""
    monkeypatch.setattr(fast, "kernel_gradient_by_matmuls", lambda: True)
    x = tf.zeros((1, 9, 9, 2))
    strided = TapwiseConv2D(4, 3, strides=2, padding="same")
    plain = TapwiseConv2D(4, 3, padding="same")

    def ops_in(layer):
        graph = tf.function(layer).get_concrete_function(x).graph
        return {op.type for op in graph.get_operations()}

    assert "IdentityN" in ops_in(plain)  # tf.custom_gradient's marker
    assert "IdentityN" not in ops_in(strided)
    monkeypatch.setattr(fast, "kernel_gradient_by_matmuls", lambda: False)
    assert "IdentityN" not in ops_in(TapwiseConv2D(4, 3, padding="same"))


def test_conv_weight_files_interchange_with_keras_conv(tmp_path):
    """Weight files name layers by class: ours is called Conv2D inside them, so that runs
    saved with Keras' Conv2D or with this layer when it was alexnet.layers.Conv2D (and their
    --resume state) load, and the other way round; in Python it does not shadow Keras'.
    A model file records it as Keras' own Conv2D (Keras alone loads it)."""
    assert not hasattr(fast, "Conv2D")
    saved = keras.layers.serialize(TapwiseConv2D(4, 3))
    assert (saved["module"], saved["class_name"], saved["registered_name"]) == (
        "keras.layers", "Conv2D", None)
    assert type(keras.layers.deserialize(saved)) is keras.layers.Conv2D

    def net(conv):
        inputs = keras.Input((9, 9, 3))
        return keras.Model(inputs, conv(4, 3, padding="same")(conv(5, 3)(inputs)))

    for source, target in ((keras.layers.Conv2D, TapwiseConv2D),
                           (TapwiseConv2D, keras.layers.Conv2D)):
        saved, loaded = net(source), net(target)
        saved.save_weights(tmp_path / "saved.weights.h5")
        loaded.load_weights(tmp_path / "saved.weights.h5")
        for mine, reference in zip(loaded.get_weights(), saved.get_weights(), strict=True):
            np.testing.assert_array_equal(mine, reference)


def test_fused_batchnorm_equals_keras_batchnorm():
    """Outputs, gradients and moving statistics of Keras' layer (up to the n / (n - 1) of
    TensorFlow's moving variance), in training and inference."""
    x = tf.constant(np.random.default_rng(0).normal(2, 3, (8, 13, 13, 32)).astype("float32"))
    results = []
    for layer in (keras.layers.BatchNormalization(momentum=0.9),
                  FusedBatchNormalization(momentum=0.9)):
        layer.build(x.shape)
        layer.gamma.assign(np.linspace(0.5, 1.5, 32, dtype="float32"))
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * tf.cos(y))
        results.append([y, *tape.gradient(loss, [x, layer.gamma, layer.beta]),
                        layer.moving_mean, layer.moving_variance, layer(x, training=False)])
    for keras_value, fused_value in zip(*results, strict=True):
        np.testing.assert_allclose(np.asarray(fused_value), np.asarray(keras_value),
                                   rtol=2e-3, atol=1e-4)


def test_fused_batchnorm_weight_files_interchange_with_keras_batchnorm(tmp_path):
    """Runs saved before the model fused its BatchNorm (and their --resume state) load,
    and the other way round; a saved model loads back, as Keras' own BatchNormalization."""
    def net(norm):
        inputs = keras.Input((5, 5, 3))
        return keras.Model(inputs, norm()(keras.layers.Conv2D(4, 3)(inputs)))

    for source, target in ((keras.layers.BatchNormalization, FusedBatchNormalization),
                           (FusedBatchNormalization, keras.layers.BatchNormalization)):
        saved, loaded = net(source), net(target)
        saved.set_weights([np.full(w.shape, i + 2.0, "float32")
                           for i, w in enumerate(saved.get_weights())])
        saved.save_weights(tmp_path / "saved.weights.h5")
        loaded.load_weights(tmp_path / "saved.weights.h5")
        for mine, reference in zip(loaded.get_weights(), saved.get_weights(), strict=True):
            np.testing.assert_array_equal(mine, reference)
    net(FusedBatchNormalization).save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert type(loaded.layers[-1]) is keras.layers.BatchNormalization


def test_fused_batchnorm_trains_under_xla():
    """TensorFlow on a GPU compiles the training step with XLA (``jit_compile`` auto): the
    fused kernel, with its moving averages, must compile and update there too."""
    inputs = keras.Input((8, 8, 3))
    norm = FusedBatchNormalization(momentum=0.9)
    net = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(
        norm(keras.layers.Conv2D(4, 3)(inputs)))))
    net.compile("sgd", "mse", jit_compile=True)
    rng = np.random.default_rng(0)
    history = net.fit(rng.random((16, 8, 8, 3), "float32"), rng.random((16, 2), "float32"),
                      epochs=2, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    assert np.abs(np.asarray(norm.moving_mean)).sum() > 0  # moved from its zeros


def test_build_uses_the_swap_ins_only_when_asked():
    """``speedups`` (default) builds with this machine's swap-ins; without, with Keras'
    own layers; the weights are the same either way."""
    from alexnet.models.alexnet import build

    fast_net, plain = build("bn", 3, 63), build("bn", 3, 63, speedups=False)
    assert fast.swap_ins() == (TapwiseConv2D, FusedBatchNormalization)
    assert isinstance(fast_net.get_layer("conv1"), TapwiseConv2D)
    assert isinstance(fast_net.get_layer("conv1_bn"), FusedBatchNormalization)
    assert type(plain.get_layer("conv1")) is keras.layers.Conv2D
    assert type(plain.get_layer("conv1_bn")) is keras.layers.BatchNormalization
    assert [w.shape for w in fast_net.weights] == [w.shape for w in plain.weights]
