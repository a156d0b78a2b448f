"""The optimiser: SGD with momentum and weight decay by the paper's update rule."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="alexnet")
class PaperSGD(keras.optimizers.SGD):
    """SGD with the paper's update rule (sec. 5), which is also PyTorch's: weight decay is
    part of the gradient, so momentum carries it, v <- m v - lr (g + wd w); w <- w + v.

    Keras' own ``weight_decay`` shrinks w outside the momentum (w <- w - lr wd w), which
    at momentum 0.9 is 10 times weaker for the same number. Biases and BatchNorm's
    gamma and beta are not decayed.
    """

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, weight_decay: float = 0.0,
                 **kwargs):
        super().__init__(learning_rate, momentum=momentum, **kwargs)
        self.l2 = float(weight_decay or 0.0)
        self.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])

    def update_step(self, gradient, variable, learning_rate):
        if self.l2 and self._use_weight_decay(variable):
            gradient = keras.ops.add(keras.ops.cast(gradient, variable.dtype),
                                     keras.ops.multiply(variable, self.l2))
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.l2}
