"""Local response normalisation: the paper's formula, TensorFlow's op, other backends."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from alexnet.layers import LocalResponseNormalization

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def lrn_reference(a: np.ndarray, n=5, k=2.0, alpha=1e-4, beta=0.75) -> np.ndarray:
    """The paper's formula, channel by channel: sum over the n channels around c,
    clipped at the edges, no division by n."""
    a = a.astype(np.float64)
    channels = a.shape[-1]
    b = np.empty_like(a)
    for c in range(channels):
        lo, hi = max(0, c - n // 2), min(channels - 1, c + n // 2)
        b[..., c] = a[..., c] / (k + alpha * np.sum(a[..., lo : hi + 1] ** 2, axis=-1)) ** beta
    return b


def activations(channels: int, seed=0) -> np.ndarray:
    """Post-ReLU-like values large enough (up to ~300) that alpha * sum(a^2) is of the
    order of k: the normalisation then changes the output, so the checks can fail."""
    rng = np.random.default_rng(seed)
    return np.abs(rng.normal(0.0, 100.0, (2, 5, 4, channels))).astype("float32")


@pytest.mark.parametrize("channels", [1, 2, 3, 7, 96])  # 1-3: every channel is an edge
def test_matches_the_paper_formula(channels):
    a = activations(channels)
    expected = lrn_reference(a)
    assert np.abs(expected - a / 2**0.75).max() > 1.0  # the neighbours really matter
    actual = np.asarray(LocalResponseNormalization()(a))
    np.testing.assert_allclose(actual, expected, rtol=1e-5)


@pytest.mark.parametrize("channels", [2, 7, 96])
def test_matches_tensorflow(channels):
    a = activations(channels, seed=1)
    expected = tf.nn.local_response_normalization(a, depth_radius=2, bias=2.0, alpha=1e-4,
                                                  beta=0.75).numpy()
    np.testing.assert_allclose(np.asarray(LocalResponseNormalization()(a)), expected, rtol=1e-5)


def test_gradient_matches_tensorflow():
    a = tf.constant(activations(96, seed=3))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(a)
        ours = LocalResponseNormalization()(a)
        theirs = tf.nn.local_response_normalization(a, depth_radius=2, bias=2.0, alpha=1e-4,
                                                    beta=0.75)
        weights = tf.random.stateless_normal(a.shape, seed=[0, 1])  # a loss that mixes all
        loss_ours, loss_theirs = (tf.reduce_sum(weights * out) for out in (ours, theirs))
    expected = tape.gradient(loss_theirs, a).numpy()
    np.testing.assert_allclose(tape.gradient(loss_ours, a).numpy(), expected, rtol=1e-4,
                               atol=1e-7 * np.abs(expected).max())


def test_pytorch_divides_alpha_by_n():
    """The docstring's claim: PyTorch's alpha is the paper's alpha times n."""
    torch = pytest.importorskip("torch")
    a = activations(96, seed=2)
    torch_lrn = torch.nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)
    expected = torch_lrn(torch.from_numpy(a.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(np.asarray(LocalResponseNormalization()(a)), expected, rtol=1e-5)


def test_other_parameters_and_float16():
    a = activations(10, seed=3)
    layer = LocalResponseNormalization(size=3, k=1.0, alpha=1e-3, beta=0.5)
    expected = lrn_reference(a, n=3, k=1.0, alpha=1e-3, beta=0.5)
    np.testing.assert_allclose(np.asarray(layer(a)), expected, rtol=1e-5)
    half = LocalResponseNormalization(dtype="mixed_float16")(a.astype("float16"))
    assert half.dtype == "float16"  # computed in float32, returned in the input's dtype
    np.testing.assert_allclose(np.asarray(half, "float32"), lrn_reference(a.astype("float16")),
                               rtol=2e-3)


def test_config_round_trip_and_registration():
    layer = LocalResponseNormalization(size=3, k=1.5, alpha=2e-4, beta=0.5, name="lrn")
    assert keras.saving.get_registered_name(LocalResponseNormalization) == \
        "alexnet>LocalResponseNormalization"
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(clone, LocalResponseNormalization)
    assert (clone.size, clone.k, clone.alpha, clone.beta, clone.name) == (3, 1.5, 2e-4, 0.5, "lrn")


@pytest.mark.parametrize("size", [0, 4, -1])
def test_bad_size(size):
    with pytest.raises(ValueError, match=f"odd and positive, got {size}"):
        LocalResponseNormalization(size=size)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends(backend, tmp_path):
    """keras.ops only: the same layer on JAX and PyTorch, in a fresh interpreter
    (the backend is fixed at import)."""
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    np.save(tmp_path / "a.npy", activations(7, seed=4))
    script = textwrap.dedent(f"""
        import numpy as np, keras
        from alexnet.layers import LocalResponseNormalization
        assert keras.backend.backend() == {backend!r}
        a = np.load({str(tmp_path / "a.npy")!r})
        out = keras.ops.convert_to_numpy(LocalResponseNormalization()(a))
        np.save({str(tmp_path / "b.npy")!r}, out)
    """)
    env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": "",
           "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "b.npy"),
                               lrn_reference(np.load(tmp_path / "a.npy")), rtol=1e-5)


def test_grouped_conv_equals_keras_grouped_conv():
    from alexnet.layers import GroupedConv2D

    x = tf.constant(np.random.default_rng(0).normal(size=(2, 9, 9, 8)).astype("float32"))
    reference = keras.layers.Conv2D(6, 3, strides=2, padding="same", groups=2)
    ours = GroupedConv2D(6, 3, strides=2, padding="same", groups=2)
    reference.build(x.shape)
    ours.build(x.shape)
    ours.set_weights(reference.get_weights())
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        outputs = [layer(x) for layer in (reference, ours)]
        losses = [tf.reduce_sum(out * tf.range(out.shape[-1], dtype="float32")) for out in outputs]
    np.testing.assert_allclose(outputs[1].numpy(), outputs[0].numpy(), rtol=1e-5, atol=1e-5)
    for theirs, mine in ((x, x), (reference.kernel, ours.kernel)):  # input and kernel
        np.testing.assert_allclose(tape.gradient(losses[1], mine).numpy(),
                                   tape.gradient(losses[0], theirs).numpy(), rtol=1e-5,
                                   atol=1e-5)
    assert isinstance(keras.layers.deserialize(keras.layers.serialize(ours)), GroupedConv2D)


@pytest.mark.parametrize("kernel, padding, groups, graph", [
    (3, "same", 1, True), (5, "same", 1, True), (3, "valid", 1, True), (5, "same", 2, True),
    (5, "same", 1, False), (5, "same", 2, False)])
def test_conv_with_tapwise_kernel_gradient_equals_keras_conv(kernel, padding, groups, graph,
                                                             monkeypatch):
    """Output, input gradient and kernel gradient (here computed tap by tap) all match
    Keras' Conv2D, inside tf.function as in training and eagerly."""
    from alexnet import layers
    from alexnet.layers import GroupedConv2D, TapwiseConv2D

    # on, whatever this CPU: on one with AVX-512 oneDNN's own gradients are used
    monkeypatch.setattr(layers, "kernel_gradient_by_matmuls", lambda: True)
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
    from alexnet import layers
    from alexnet.layers import TapwiseConv2D

    monkeypatch.setattr(layers, "kernel_gradient_by_matmuls", lambda: True)
    x = tf.zeros((1, 9, 9, 2))
    strided = TapwiseConv2D(4, 3, strides=2, padding="same")
    plain = TapwiseConv2D(4, 3, padding="same")

    def ops_in(layer):
        graph = tf.function(layer).get_concrete_function(x).graph
        return {op.type for op in graph.get_operations()}

    assert "IdentityN" in ops_in(plain)  # tf.custom_gradient's marker
    assert "IdentityN" not in ops_in(strided)
    monkeypatch.setattr(layers, "kernel_gradient_by_matmuls", lambda: False)
    assert "IdentityN" not in ops_in(TapwiseConv2D(4, 3, padding="same"))


def test_conv_weight_files_interchange_with_keras_conv(tmp_path):
    """Weight files name layers by class: ours is called Conv2D inside them, so that runs
    saved with Keras' Conv2D or with this layer when it was alexnet.layers.Conv2D (and their
    --resume state) load, and the other way round; in Python it no longer shadows Keras'."""
    from alexnet import layers
    from alexnet.layers import TapwiseConv2D

    assert not hasattr(layers, "Conv2D")
    saved = keras.layers.serialize(TapwiseConv2D(4, 3))
    assert saved["registered_name"] == "alexnet>Conv2D"  # as older .keras files name it
    assert isinstance(keras.layers.deserialize(saved), TapwiseConv2D)

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
    from alexnet.layers import FusedBatchNormalization

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
    and the other way round; a saved model loads back with the fused layer."""
    from alexnet.layers import FusedBatchNormalization

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
    assert isinstance(loaded.layers[-1], FusedBatchNormalization)


def test_fused_batchnorm_trains_under_xla():
    """TensorFlow on a GPU compiles the training step with XLA (``jit_compile`` auto): the
    fused kernel, with its moving averages, must compile and update there too."""
    from alexnet.layers import FusedBatchNormalization

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
