"""AlexNet (Krizhevsky, Sutskever and Hinton, NIPS 2012) as functional Keras models.

- ``paper``: the 2012 network. Two towers (conv2, conv4 and conv5 see only their own
  tower's channels: ``groups=2``), LRN after conv1 and conv2, overlapping 3x3/2 pooling,
  dropout on FC6 and FC7. 227x227 inputs: (227 - 11) / 4 + 1 gives the 55x55 of the
  paper's Figure 2, its "224" does not.
- ``owt``: the single-tower net of "one weird trick" (Krizhevsky 2014), torchvision's
  ``alexnet``: 64-192-384-256-256 channels, no LRN, adaptive average pooling to 6x6.
- ``bn``: ``owt`` with BatchNorm after every convolution and hidden FC layer; trains
  from scratch quickly and reliably, the variant of the ``modern`` and ``quick`` recipes.

Every model takes RGB pixels in [0, 255] and normalises them itself (its first layer), so
a saved ``best.keras`` classifies a decoded photo as it is. It returns float32 softmax
probabilities. Weight decay is Keras' L2 kernel regularizer at half the decay: its
gradient, 2 * (wd / 2) * w, joins the loss's before momentum, as in the paper's update
rule (sec. 5) and PyTorch's SGD; biases and BatchNorm's gamma and beta are not decayed.
The ``bn`` and ``owt`` models are Keras layers only, so a saved one loads with
``keras.saving.load_model`` alone; ``paper`` needs ``import alexnet.models.layers``.
"""

from __future__ import annotations

import keras
from keras import layers

from alexnet.models import DEFAULT_IMAGE_SIZE, INITS, MAX_IMAGE_SIZE, MIN_IMAGE_SIZE, VARIANTS
from alexnet.models.layers import GroupedConv2D, LocalResponseNormalization

# ImageNet's RGB mean and standard deviation on the 0-255 scale (torchvision's).
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)
# Published ImageNet figures beside each definition, as torchvision keeps them.
METADATA = {
    "paper": {"parameters": 60_965_224, "top1_error": 40.7, "top5_error": 18.2,
              "source": "Krizhevsky et al. 2012, Table 2 (one CNN, 10 crops)"},
    "owt": {"parameters": 61_100_840, "top1_error": 43.48, "top5_error": 20.93,
            "source": "torchvision AlexNet_Weights.IMAGENET1K_V1 (centre crop)",
            "weights": "alexnet-owt-7be5be79.pth"},
    "bn": {"source": "this project (no published weights)"},
}
# The paper sets these biases to 1 "to accelerate the early stages of learning by
# providing the ReLUs with positive inputs"; the others to 0.
PAPER_BIAS_ONE = ("conv2", "conv4", "conv5", "fc6", "fc7")


def check_settings(variant: str, image_size: int | None = None, init: str = "he",
                   num_classes: int = 10, dropout: float = 0.5) -> int:
    """Raises a ValueError naming the setting out of bounds; returns the image size
    (the variant's default for None). The one check of a network's settings: ``build``
    calls it, and the command line before it makes a run folder."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: choose one of {', '.join(VARIANTS)}")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}: choose one of {', '.join(INITS)}")
    size = DEFAULT_IMAGE_SIZE[variant] if image_size is None else image_size
    if not MIN_IMAGE_SIZE[variant] <= size <= MAX_IMAGE_SIZE:
        raise ValueError(f"--image-size {size}: variant {variant!r} takes "
                         f"{MIN_IMAGE_SIZE[variant]} to {MAX_IMAGE_SIZE} pixels")
    if num_classes < 2:
        raise ValueError(f"{num_classes} class(es): a classifier needs at least 2")
    if not 0 <= dropout < 1:
        raise ValueError(f"--dropout {dropout}: must be in [0, 1)")
    return size


def initializers(init: str, name: str) -> tuple:
    """Kernel and bias initialisers of layer ``name``: ``he`` (He-normal, both recipes),
    ``glorot`` (Keras' default) or ``paper`` (N(0, 0.01); biases 1 in PAPER_BIAS_ONE)."""
    if init == "paper":
        return (keras.initializers.RandomNormal(0.0, 0.01),
                "ones" if name in PAPER_BIAS_ONE else "zeros")
    return {"he": "he_normal", "glorot": "glorot_uniform"}[init], "zeros"


def preprocessing(name: str = "preprocess") -> layers.Normalization:
    """Pixels in [0, 255] -> zero mean and unit variance per channel (ImageNet's), in
    float32 whatever the precision policy (faster than bfloat16 on CPUs too)."""
    return layers.Normalization(mean=MEAN, variance=[s * s for s in STD], name=name,
                                dtype="float32")


def build(variant: str = "bn", num_classes: int = 10, image_size: int | None = None,
          init: str = "he", dropout: float = 0.5, weight_decay: float = 0.0) -> keras.Model:
    """One AlexNet variant for ``image_size`` square RGB images (default 227 for
    ``paper``, else 224), its kernels decayed by ``weight_decay`` (see above)."""
    batchnorm = variant == "bn"
    decay = keras.regularizers.L2(weight_decay / 2) if weight_decay else None

    def conv(x, filters, kernel, name, strides=1, groups=1):
        kernel_init, bias_init = initializers(init, name)
        x = (GroupedConv2D if groups > 1 else layers.Conv2D)(
            filters, kernel, strides, padding="valid" if kernel == 11 else "same",
            groups=groups, use_bias=not batchnorm, kernel_initializer=kernel_init,
            bias_initializer=bias_init, kernel_regularizer=decay, name=name)(x)
        if batchnorm:  # momentum 0.9 (PyTorch's 0.1): 0.99 lags at ~40 steps an epoch
            x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    def dense(x, units, name):
        kernel_init, bias_init = initializers(init, name)
        x = layers.Dense(units, use_bias=not batchnorm, kernel_initializer=kernel_init,
                         bias_initializer=bias_init, kernel_regularizer=decay, name=name)(x)
        if batchnorm:
            x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    def pool(x, name):  # overlapping pooling: 3x3 windows, stride 2
        return layers.MaxPooling2D(3, 2, name=name)(x)

    size = check_settings(variant, image_size, init, num_classes, dropout)
    inputs = keras.Input((size, size, 3), name="image")
    x = preprocessing()(inputs)
    if variant == "paper":                                                   # at 227 px:
        x = conv(x, 96, 11, "conv1", strides=4)                              # 55x55x96
        x = pool(LocalResponseNormalization(name="lrn1")(x), "pool1")        # 27x27x96
        x = conv(x, 256, 5, "conv2", groups=2)                               # 27x27x256
        x = pool(LocalResponseNormalization(name="lrn2")(x), "pool2")        # 13x13x256
        x = conv(x, 384, 3, "conv3")                                         # 13x13x384
        x = conv(x, 384, 3, "conv4", groups=2)                               # 13x13x384
        x = pool(conv(x, 256, 3, "conv5", groups=2), "pool5")                # 6x6x256
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dropout(dropout, name="drop6")(dense(x, 4096, "fc6"))
        x = layers.Dropout(dropout, name="drop7")(dense(x, 4096, "fc7"))
    else:  # owt and bn: torchvision's features / avgpool / classifier         # at 224 px:
        x = layers.ZeroPadding2D(2, name="pad1")(x)
        x = pool(conv(x, 64, 11, "conv1", strides=4), "pool1")               # 27x27x64
        x = pool(conv(x, 192, 5, "conv2"), "pool2")                          # 13x13x192
        x = conv(x, 384, 3, "conv3")                                         # 13x13x384
        x = conv(x, 256, 3, "conv4")                                         # 13x13x256
        x = pool(conv(x, 256, 3, "conv5"), "pool5")                          # 6x6x256
        # Keras' adaptive pooling fails on the 1x1 maps of inputs under 95 px, where
        # averaging to 6x6 repeats the one pixel: Keras' nearest upsampling (so that a
        # bn or owt model of any size loads with Keras alone)
        x = (layers.AdaptiveAveragePooling2D(6, name="avgpool") if x.shape[1] > 1
             else layers.UpSampling2D(6, name="avgpool"))(x)                     # 6x6
        x = layers.Flatten(name="flatten")(x)
        x = dense(layers.Dropout(dropout, name="drop6")(x), 4096, "fc6")
        x = dense(layers.Dropout(dropout, name="drop7")(x), 4096, "fc7")
    kernel_init, bias_init = initializers(init, "fc8")
    x = layers.Dense(num_classes, kernel_initializer=kernel_init, bias_initializer=bias_init,
                     kernel_regularizer=decay, name="fc8")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name=f"alexnet_{variant}")
