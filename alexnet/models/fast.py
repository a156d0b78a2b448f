"""CPU swap-ins for Keras' ``Conv2D`` and ``BatchNormalization``: the same layers and
weights, faster kernels where measured faster (docs/performance.md). ``build`` takes them
from ``swap_ins()``; a saved model records them as Keras' own layers, so it loads with
Keras alone.
"""

from __future__ import annotations

import functools
from pathlib import Path

import keras
from keras import ops
from keras.src import api_export

from alexnet.environment import gpu_capability


def swap_ins() -> tuple[type, type]:
    """The (Conv2D, BatchNormalization) classes ``build`` uses on this machine."""
    return TapwiseConv2D, FusedBatchNormalization


def kernel_gradient_by_matmuls() -> bool:
    """Whether ``TapwiseConv2D`` computes its kernel gradient itself: on TensorFlow without
    a GPU, on CPUs without AVX-512, where oneDNN's own filter gradients ran at about half
    its matmul speed (2-core AMD EPYC, AVX2: 1.09x faster training with them). On a 2-core
    Xeon with AVX-512 and AMX oneDNN's were faster (0.93x with ours;
    docs/performance.md). cuDNN and XLA have better ones of their own."""
    return keras.backend.backend() == "tensorflow" and _no_gpu() and not _avx512()


@functools.cache
def _avx512() -> bool:
    """Whether this CPU has AVX-512 (Linux: /proc/cpuinfo's flags; elsewhere assumed not)."""
    try:
        return " avx512f" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


@functools.cache
def _no_gpu() -> bool:
    return gpu_capability() is None


class TapwiseConv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D`` whose kernel gradient, where that is faster, is one matmul
    per kernel tap: dW[i, j] = x[:, i:i+H', j:j+W', :]^T @ dy, summed over batch and positions.

    The same layer, weights and (up to float rounding) gradients as Keras' own. Only the
    backward pass of stride-1 convolutions changes, and only where
    ``kernel_gradient_by_matmuls()`` says so.
    """

    def convolution_op(self, inputs, kernel):
        k_h, k_w, _, _ = kernel.shape
        _, height, width, _ = inputs.shape
        if not (kernel_gradient_by_matmuls() and self.strides == (1, 1)
                and self.dilation_rate == (1, 1) and self.data_format == "channels_last"
                and kernel.shape[2] == inputs.shape[-1]  # not a grouped kernel
                and height is not None and width is not None
                and (self.padding == "valid" or (self.padding == "same" and k_h % 2 and k_w % 2))):
            return super().convolution_op(inputs, kernel)
        pad_h, pad_w = (k_h // 2, k_w // 2) if self.padding == "same" else (0, 0)
        out_h, out_w = height + 2 * pad_h - k_h + 1, width + 2 * pad_w - k_w + 1

        @ops.custom_gradient
        def convolution(x, w):
            def gradient(*args, upstream=None):  # TF/JAX pass upstream first, torch by name
                upstream = args[0] if upstream is None else upstream
                d_x = ops.conv_transpose(upstream, w, 1, self.padding)
                padded = ops.pad(x, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]])
                d_y = ops.reshape(upstream, (-1, w.shape[-1]))
                taps = [ops.matmul(ops.transpose(ops.reshape(
                            padded[:, i:i + out_h, j:j + out_w, :], (-1, w.shape[2]))), d_y)
                        for i in range(k_h) for j in range(k_w)]
                return d_x, ops.reshape(ops.stack(taps), w.shape)

            return super(TapwiseConv2D, self).convolution_op(x, w), gradient

        # The kernel's value (tf.identity), not the variable: TensorFlow's custom gradient
        # of a function that reads a variable would have to return its gradient itself.
        return convolution(inputs, ops.copy(kernel))


# Keras names a layer's variables in weight files (.weights.h5, resume states) by its class
# name: Keras' own name keeps them interchangeable with plain Conv2D models and older runs.
TapwiseConv2D.__name__ = TapwiseConv2D.__qualname__ = "Conv2D"


class FusedBatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` whose training pass, on TensorFlow with 4-D
    float32 inputs, is TensorFlow's fused kernel (one oneDNN/cuDNN op forward, one
    backward). Keras 3 normalises with separate ops: about a fifth of a ``bn`` training
    step on a 2-core Xeon, and 1.11x faster training fused (docs/performance.md).

    Same weights and outputs; inference, other inputs and other backends are Keras' own.
    TensorFlow's moving variance uses the unbiased batch variance, as PyTorch's does
    (n / (n - 1) times Keras': 1.0007 for a 64 x 13 x 13 batch).
    """

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and mask is None and self.scale and self.center
                and not self.renorm and len(inputs.shape) == 4 and self.axis in (-1, 3)
                and inputs.dtype == "float32" and keras.backend.backend() == "tensorflow"):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf  # here, not above: only this backend has the kernel

        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, self.gamma, self.beta, mean=self.moving_mean,
            variance=self.moving_variance, epsilon=self.epsilon, is_training=True,
            exponential_avg_factor=1.0 - self.momentum)
        self.moving_mean.assign(mean)
        self.moving_variance.assign(variance)
        return outputs


# Named as Keras' layer inside weight files (as TapwiseConv2D above): runs and resume
# states saved before the model used it load, and the other way round.
FusedBatchNormalization.__name__ = FusedBatchNormalization.__qualname__ = "BatchNormalization"


# Saved as Keras' own classes (the public names Keras serialises its layers under): a
# private table of Keras', so a model file needs no import of this package to load.
for _layer, _name in ((TapwiseConv2D, "Conv2D"), (FusedBatchNormalization, "BatchNormalization")):
    api_export.REGISTERED_OBJS_TO_NAMES[_layer] = f"keras.layers.{_name}"
