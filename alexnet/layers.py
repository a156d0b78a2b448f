"""Custom layers, written with `keras.ops` so they run on every Keras backend (the fused
BatchNorm's TensorFlow kernel is only taken on TensorFlow)."""

from __future__ import annotations

import functools
from pathlib import Path

import keras
import numpy as np
from keras import ops

from alexnet.precision import gpu_capability


@keras.saving.register_keras_serializable(package="alexnet")
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalisation across channels (Krizhevsky et al. 2012, sec. 3.3).

    b[c] = a[c] / (k + alpha * sum_{c'=max(0, c-n/2)}^{min(N-1, c+n/2)} a[c']^2) ** beta

    over the last (channel) axis, with the paper's k=2, n=5, alpha=1e-4,
    beta=0.75. Channels past the edges count as zero, and alpha multiplies the
    plain sum of squares, not its mean. This equals
    `tf.nn.local_response_normalization(depth_radius=n // 2, bias=k, alpha=alpha,
    beta=beta)`. Caffe's LRN layer and PyTorch's `nn.LocalResponseNorm` divide
    alpha by n, so the paper's alpha=1e-4 is their alpha=5e-4. The original
    two-GPU code normalised each tower's channels separately; like Caffe, this
    layer normalises all channels together, which differs only next to the
    tower boundary.
    """

    def __init__(self, size: int = 5, k: float = 2.0, alpha: float = 1e-4, beta: float = 0.75,
                 **kwargs):
        super().__init__(**kwargs)
        if size < 1 or size % 2 == 0:
            raise ValueError(f"LRN size must be odd and positive, got {size}")
        self.size, self.k, self.alpha, self.beta = size, k, alpha, beta

    def call(self, x):
        # The window sums are one matmul with a band of ones (C x C): the matmul and its
        # gradient are fast kernels everywhere, where shifted slices and their gradients
        # took half of a CPU training step.
        channels = np.arange(x.shape[-1])
        band = np.abs(channels[:, None] - channels[None, :]) <= self.size // 2
        squared = ops.square(ops.cast(x, "float32"))
        window_sum = ops.tensordot(squared, ops.convert_to_tensor(band, "float32"), axes=1)
        denominator = self.k + self.alpha * window_sum
        if self.beta == 0.75:  # the paper's: d^-0.75 = d^-0.5 * d^-0.25, cheaper than pow
            inverse_root = ops.rsqrt(denominator)
            scale = inverse_root * ops.sqrt(inverse_root)
        else:
            scale = ops.power(denominator, -self.beta)
        return ops.cast(ops.cast(x, "float32") * scale, x.dtype)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "k": self.k,
                "alpha": self.alpha, "beta": self.beta}


@keras.saving.register_keras_serializable(package="alexnet")
class AdaptiveAveragePooling2D(keras.layers.Layer):
    """Average-pools (H, W) maps to a fixed (out, out) grid, like PyTorch's AdaptiveAvgPool2d.

    Bin i covers rows floor(i*H/out) to ceil((i+1)*H/out), as in PyTorch, so ported
    torchvision weights give the same numbers at any input size, also when the map
    is smaller than the grid (small inputs), where ``keras.layers``' version fails in
    graph mode. The bins are fixed once H and W are known: two small matmuls.
    """

    def __init__(self, output_size: int = 6, **kwargs):
        super().__init__(**kwargs)
        self.output_size = output_size

    @staticmethod
    def bins(size_in: int, size_out: int) -> np.ndarray:
        weights = np.zeros((size_out, size_in), "float32")
        for i in range(size_out):
            start, end = (i * size_in) // size_out, -((-(i + 1) * size_in) // size_out)
            weights[i, start:end] = 1.0 / (end - start)
        return weights

    def call(self, x):
        _, height, width, _ = x.shape
        if height == width == self.output_size:
            return x
        rows = ops.convert_to_tensor(self.bins(height, self.output_size), dtype=x.dtype)
        cols = ops.convert_to_tensor(self.bins(width, self.output_size), dtype=x.dtype)
        return ops.einsum("oh,bhwc,pw->bopc", rows, x, cols)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_size, self.output_size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size}


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


@keras.saving.register_keras_serializable(package="alexnet", name="Conv2D")
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


@keras.saving.register_keras_serializable(package="alexnet")
class GroupedConv2D(TapwiseConv2D):
    """``Conv2D(groups=g)`` computed as g ordinary convolutions, one per group of input
    and output channels (the paper's two GPU towers), then concatenated.

    Same weights, same result, every backend. Keras' TensorFlow backend would compile a
    grouped convolution with XLA, which on our CPU made the ``paper`` variant train
    slower than PyTorch; the ordinary convolutions run on TensorFlow's own kernels
    (and their kernel gradients as ``TapwiseConv2D``'s above).
    """

    def convolution_op(self, inputs, kernel):
        if self.groups == 1:
            return super().convolution_op(inputs, kernel)
        axis = -1 if self.data_format == "channels_last" else 1
        pairs = zip(ops.split(inputs, self.groups, axis=axis),
                    ops.split(kernel, self.groups, axis=-1), strict=True)
        return ops.concatenate([super(GroupedConv2D, self).convolution_op(x, k)
                                for x, k in pairs], axis=axis)


@keras.saving.register_keras_serializable(package="alexnet")
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
