"""Custom layers, written with `keras.ops` only so they run on every Keras backend."""

from __future__ import annotations

import keras
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
        radius = self.size // 2
        channels = x.shape[-1]
        squared = ops.square(ops.cast(x, "float32"))
        padded = ops.pad(squared, [[0, 0]] * (len(x.shape) - 1) + [[radius, radius]])
        window_sum = sum(padded[..., i : i + channels] for i in range(self.size))
        scale = ops.power(self.k + self.alpha * window_sum, -self.beta)
        return ops.cast(ops.cast(x, "float32") * scale, x.dtype)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "k": self.k,
                "alpha": self.alpha, "beta": self.beta}
