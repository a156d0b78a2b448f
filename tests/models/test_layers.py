"""The layers Keras lacks: local response normalisation (the paper's formula,
TensorFlow's op, other backends) and grouped convolutions; and the names of layers that
older model files carry."""

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

from alexnet.models.layers import GroupedConv2D, LocalResponseNormalization
from conftest import PROJECT


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
        from alexnet.models.layers import LocalResponseNormalization
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
