"""AlexNet variants as functional Keras models.

- ``paper``: Krizhevsky, Sutskever & Hinton (NIPS 2012). Two towers (conv2, conv4
  and conv5 see only their own tower's channels: ``groups=2``), LRN after conv1
  and conv2, overlapping 3x3/2 max-pooling. The paper says 224x224 inputs, but
  (224 - 11) / 4 + 1 = 54.25 does not give the 55x55 of its Figure 2; 227 does,
  so 227 is the default for this variant.
- ``owt``: the single-tower "one weird trick" net (Krizhevsky 2014) that
  torchvision's ``alexnet`` implements: 64-192-384-256-256 channels, no LRN,
  adaptive average pooling to 6x6. torchvision weights port into it (port.py).
- ``bn``: ``owt`` with BatchNorm after every convolution and hidden FC layer:
  trains quickly and reliably from scratch, the default for small datasets.

The model takes normalised float images (NHWC) and returns softmax
probabilities; the softmax is float32 so mixed precision stays stable.
"""

from __future__ import annotations

import keras
from keras import layers

from alexnet.layers import LocalResponseNormalization

VARIANTS = ("paper", "owt", "bn")
DEFAULT_IMAGE_SIZE = {"paper": 227, "owt": 224, "bn": 224}
# Smallest inputs that run: owt/bn need pool5 at least 2x2 for Keras' adaptive pooling to 6x6.
MIN_IMAGE_SIZE = {"paper": 67, "owt": 95, "bn": 95}

# Metadata beside the definitions (as torchvision does); ImageNet figures are published ones.
METADATA = {
    "paper": {"params_1000": 60_965_224, "imagenet_top1_err": 40.7, "imagenet_top5_err": 18.2,
              "source": "Krizhevsky et al. 2012, Table 2 (1 CNN, 10-crop)"},
    "owt": {"params_1000": 61_100_840, "imagenet_top1_err": 43.45, "imagenet_top5_err": 20.93,
            "source": "torchvision AlexNet_Weights.IMAGENET1K_V1 (centre crop)"},
    "bn": {"source": "this project"},
}


def _initializers(init: str, bias_one: bool):
    """Kernel and bias initialisers for one layer.

    ``paper``: N(0, 0.01) weights; biases 1 in conv2, conv4, conv5, fc6 and fc7
    (to feed ReLUs positive inputs early), 0 elsewhere. Caffe found bias 1 gave a
    flat loss and used 0.1. ``he`` (default): He-normal weights, zero biases.
    """
    if init == "paper":
        return keras.initializers.RandomNormal(0.0, 0.01), ("ones" if bias_one else "zeros")
    if init == "he":
        return "he_normal", "zeros"
    raise ValueError(f"unknown init {init!r}: choose 'he' or 'paper'")


def build(variant: str = "bn", num_classes: int = 10, image_size: int | None = None,
          init: str = "he", dropout: float = 0.5) -> keras.Model:
    """Builds one AlexNet variant for ``image_size`` x ``image_size`` RGB inputs."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: choose one of {', '.join(VARIANTS)}")
    image_size = image_size or DEFAULT_IMAGE_SIZE[variant]
    if image_size < MIN_IMAGE_SIZE[variant]:
        raise ValueError(f"image size {image_size} is too small for variant {variant!r} "
                         f"(minimum {MIN_IMAGE_SIZE[variant]})")
    inputs = keras.Input((image_size, image_size, 3), name="image")
    batchnorm = variant == "bn"

    def conv(x, filters, kernel, name, stride=1, groups=1, bias_one=False):
        kernel_init, bias_init = _initializers(init, bias_one)
        x = layers.Conv2D(filters, kernel, stride, padding="valid" if kernel == 11 else "same",
                          groups=groups, use_bias=not batchnorm, kernel_initializer=kernel_init,
                          bias_initializer=bias_init, name=name)(x)
        if batchnorm:
            x = layers.BatchNormalization(name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    def dense(x, units, name, bias_one=False):
        kernel_init, bias_init = _initializers(init, bias_one)
        x = layers.Dense(units, use_bias=not batchnorm, kernel_initializer=kernel_init,
                         bias_initializer=bias_init, name=name)(x)
        if batchnorm:
            x = layers.BatchNormalization(name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    def pool(x, name):
        return layers.MaxPooling2D(3, 2, name=name)(x)  # overlapping: 3x3 windows, stride 2

    if variant == "paper":
        x = conv(inputs, 96, 11, "conv1", stride=4)                        # 55x55x96
        x = pool(LocalResponseNormalization(name="lrn1")(x), "pool1")      # 27x27x96
        x = conv(x, 256, 5, "conv2", groups=2, bias_one=True)              # 27x27x256
        x = pool(LocalResponseNormalization(name="lrn2")(x), "pool2")      # 13x13x256
        x = conv(x, 384, 3, "conv3")                                       # 13x13x384
        x = conv(x, 384, 3, "conv4", groups=2, bias_one=True)              # 13x13x384
        x = conv(x, 256, 3, "conv5", groups=2, bias_one=True)              # 13x13x256
        x = layers.Flatten(name="flatten")(pool(x, "pool5"))               # 6x6x256
        x = layers.Dropout(dropout, name="drop6")(dense(x, 4096, "fc6", bias_one=True))
        x = layers.Dropout(dropout, name="drop7")(dense(x, 4096, "fc7", bias_one=True))
    else:  # owt and bn share torchvision's single-tower layout
        x = layers.ZeroPadding2D(2, name="pad1")(inputs)
        x = pool(conv(x, 64, 11, "conv1", stride=4), "pool1")              # 27x27x64
        x = pool(conv(x, 192, 5, "conv2"), "pool2")                        # 13x13x192
        x = conv(x, 384, 3, "conv3")
        x = conv(x, 256, 3, "conv4")
        x = pool(conv(x, 256, 3, "conv5"), "pool5")                        # 6x6x256
        x = layers.AdaptiveAveragePooling2D(6, name="avgpool")(x)
        x = layers.Flatten(name="flatten")(x)
        x = dense(layers.Dropout(dropout, name="drop6")(x), 4096, "fc6", bias_one=True)
        x = dense(layers.Dropout(dropout, name="drop7")(x), 4096, "fc7", bias_one=True)

    kernel_init, _ = _initializers(init, False)
    logits = layers.Dense(num_classes, kernel_initializer=kernel_init, name="fc8")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(logits)
    return keras.Model(inputs, outputs, name=f"alexnet_{variant}")


def count_macs(model: keras.Model) -> int:
    """Multiply-accumulates per image in the convolution and dense layers."""
    macs = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw, c_in_per_group, _ = layer.kernel.shape
            macs += h * w * c_out * kh * kw * c_in_per_group
        elif isinstance(layer, layers.Dense):
            macs += layer.kernel.shape[0] * layer.kernel.shape[1]
    return macs


def logits_model(model: keras.Model) -> keras.Model:
    """The same network without its final softmax (for porting checks and features)."""
    return keras.Model(model.input, model.get_layer("fc8").output)


def load(path) -> keras.Model:
    """Loads a saved ``.keras`` model with ``safe_mode=True`` (no arbitrary code)."""
    from pathlib import Path

    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    return keras.saving.load_model(path, safe_mode=True)
