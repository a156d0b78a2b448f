"""Custom layers, written with `keras.ops` only so they run on every Keras backend."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="alexnet")
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalisation across channels (Krizhevsky et al. 2012, sec. 3.3).

    b[c] = a[c] / (k + alpha * sum_{c'=c-n/2}^{c+n/2} a[c']^2) ** beta

    with the paper's k=2, n=5, alpha=1e-4, beta=0.75; channels past the edges
    count as zero. This is the paper's formula and `tf.nn.local_response_normalization`
    with depth_radius=n//2. Caffe and PyTorch (`nn.LocalResponseNorm`) divide
    alpha by n, so their alpha=1e-4 is the paper's 2e-5: port weights with care.
    """

    def __init__(self, size=5, k=2.0, alpha=1e-4, beta=0.75, **kwargs):
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
