"""PaperSGD: the paper's update rule, weight decay carried by the momentum."""

from __future__ import annotations

import keras
import numpy as np

from alexnet.training.train import PaperSGD


def test_weight_decay_follows_the_papers_update_rule():
    # Sec. 5: v <- 0.9 v - wd lr w - lr g; w <- w + v. Biases are not decayed.
    lr, wd, momentum = 0.1, 0.05, 0.9
    optimizer = PaperSGD(lr, momentum=momentum, weight_decay=wd)
    kernel = keras.Variable(np.array([1.0, -2.0], "float32"), name="kernel")
    bias = keras.Variable(np.array([1.0], "float32"), name="bias")
    gradients = [np.array([0.5, 0.5], "float32"), np.array([0.5], "float32")]
    w, v, b, vb = np.array([1.0, -2.0]), np.zeros(2), np.array([1.0]), np.zeros(1)
    for _ in range(3):
        optimizer.apply_gradients(zip(gradients, [kernel, bias], strict=True))
        v = momentum * v - wd * lr * w - lr * gradients[0]
        w = w + v
        vb = momentum * vb - lr * gradients[1]
        b = b + vb
        np.testing.assert_allclose(keras.ops.convert_to_numpy(kernel), w, rtol=1e-5)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(bias), b, rtol=1e-5)
    # Keras' decoupled decay, not carried by momentum, ends elsewhere.
    decoupled = keras.Variable(np.array([1.0, -2.0], "float32"), name="kernel")
    keras_sgd = keras.optimizers.SGD(lr, momentum=momentum, weight_decay=wd)
    for _ in range(3):
        keras_sgd.apply_gradients([(gradients[0], decoupled)])
    assert not np.allclose(keras.ops.convert_to_numpy(decoupled), w, rtol=1e-3)
    restored = PaperSGD.from_config(optimizer.get_config())
    assert restored.l2 == wd and restored.momentum == momentum
    assert keras.saving.get_registered_name(PaperSGD) == "alexnet>PaperSGD"
