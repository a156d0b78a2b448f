"""The layers of the 2012 network that Keras lacks or makes slow, in ``keras.ops`` (every
backend). Registered under the package name ``alexnet``: a saved ``paper`` model loads
after ``import alexnet.models.layers``."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


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
class GroupedConv2D(keras.layers.Conv2D):
    """``Conv2D(groups=g)`` computed as g ordinary convolutions, one per group of input
    and output channels (the paper's two GPU towers), then concatenated.

    Same weights, same result, every backend. Keras' TensorFlow backend compiles a
    grouped convolution with XLA, which on our CPU made the ``paper`` variant train
    slower than PyTorch; the ordinary convolutions run on TensorFlow's own kernels.
    """

    def convolution_op(self, inputs, kernel):
        if self.groups == 1:
            return super().convolution_op(inputs, kernel)
        axis = -1 if self.data_format == "channels_last" else 1
        pairs = zip(ops.split(inputs, self.groups, axis=axis),
                    ops.split(kernel, self.groups, axis=-1), strict=True)
        return ops.concatenate([super(GroupedConv2D, self).convolution_op(x, k)
                                for x, k in pairs], axis=axis)
