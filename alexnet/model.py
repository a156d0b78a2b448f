"""AlexNet variants as functional Keras models.

- ``paper``: Krizhevsky, Sutskever & Hinton (NIPS 2012). Two towers (conv2, conv4
  and conv5 see only their own tower's channels: ``groups=2``; conv3 and the FC
  layers connect across), LRN after the ReLUs of conv1 and conv2, overlapping
  3x3/2 max-pooling after LRN1, LRN2 and conv5, dropout on FC6 and FC7. The
  paper says 224x224 inputs, but (224 - 11) / 4 + 1 = 54.25 does not give the
  55x55 of its Figure 2; (227 - 11) / 4 + 1 = 55 does, so 227 is this variant's
  default. 60,965,224 parameters with 1000 classes.
- ``owt``: the single-tower "one weird trick" net (Krizhevsky 2014) that
  torchvision's ``alexnet`` implements: 64-192-384-256-256 channels, conv1
  padding 2, no LRN, adaptive average pooling to 6x6, dropout before FC6 and
  FC7. 61,100,840 parameters with 1000 classes; torchvision weights port into
  it (port.py).
- ``bn``: ``owt`` with BatchNorm after every convolution and hidden FC layer
  (no biases there): trains quickly and reliably from scratch, the default for
  small datasets.

The model takes normalised float images (NHWC) and returns softmax
probabilities; the softmax is float32 so mixed precision stays stable.
"""

from __future__ import annotations

from pathlib import Path

import keras
from keras import layers

from alexnet import augmentation, optimizer  # noqa: F401  register Augment and PaperSGD for load()
from alexnet.layers import (
    AdaptiveAveragePooling2D,
    FusedBatchNormalization,
    GroupedConv2D,
    LocalResponseNormalization,
    TapwiseConv2D,
)

VARIANTS = ("paper", "owt", "bn")
DEFAULT_IMAGE_SIZE = {"paper": 227, "owt": 224, "bn": 224}
# Smallest inputs that survive every pooling (pool5 at least 1x1).
MIN_IMAGE_SIZE = {"paper": 67, "owt": 63, "bn": 63}

# Metadata beside the definitions (as torchvision does); ImageNet figures are published ones.
METADATA = {
    "paper": {"params_1000": 60_965_224, "imagenet_top1_err": 40.7, "imagenet_top5_err": 18.2,
              "source": "Krizhevsky et al. 2012, Table 2 (1 CNN, 10-crop)"},
    "owt": {"params_1000": 61_100_840, "imagenet_top1_err": 43.48, "imagenet_top5_err": 20.93,
            "source": "torchvision AlexNet_Weights.IMAGENET1K_V1 (centre crop)"},
    "bn": {"source": "this project"},
}


# Layers whose biases the paper sets to 1 "to accelerate the early stages of learning by
# providing the ReLUs with positive inputs"; all other biases start at 0.
PAPER_BIAS_ONE = ("conv2", "conv4", "conv5", "fc6", "fc7")
INITS = ("glorot", "he", "paper")


def _initializers(init: str, name: str):
    """Kernel and bias initialisers for the layer ``name``.

    ``glorot`` (default, Keras' own): Glorot-uniform weights, zero biases; stable
    for every variant with the SGD recipe of train.py (lr 0.01, momentum 0.9).
    ``he`` (He-normal) suits ``bn`` but makes ``owt`` diverge to NaN within ten
    steps on Imagenette. ``paper``: N(0, 0.01) weights; biases 1 in conv2, conv4,
    conv5, fc6 and fc7, 0 elsewhere (Caffe's reference model found bias 1 gave a
    flat loss and used 0.1).
    """
    if init == "paper":
        bias = "ones" if name in PAPER_BIAS_ONE else "zeros"
        return keras.initializers.RandomNormal(0.0, 0.01), bias
    if init == "glorot":
        return "glorot_uniform", "zeros"
    if init == "he":
        return "he_normal", "zeros"
    raise ValueError(f"unknown init {init!r}: choose one of {', '.join(INITS)}")


def build(variant: str = "bn", num_classes: int = 10, image_size: int | None = None,
          init: str = "glorot", dropout: float = 0.5) -> keras.Model:
    """Builds one AlexNet variant for ``image_size`` x ``image_size`` RGB inputs
    (default: 227 for ``paper``, 224 otherwise)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: choose one of {', '.join(VARIANTS)}")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}: choose one of {', '.join(INITS)}")
    if num_classes < 1:
        raise ValueError(f"number of classes must be at least 1, got {num_classes}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    image_size = image_size or DEFAULT_IMAGE_SIZE[variant]
    if image_size < MIN_IMAGE_SIZE[variant]:
        raise ValueError(f"image size {image_size} is too small for variant {variant!r} "
                         f"(minimum {MIN_IMAGE_SIZE[variant]})")
    inputs = keras.Input((image_size, image_size, 3), name="image")
    batchnorm = variant == "bn"
    # Moving statistics at PyTorch's rate (its momentum 0.1), not Keras' 0.99: with the
    # 37 steps of an Imagenette epoch, 0.99 lagged so far behind the weights that after
    # 11 epochs validation accuracy was 30% with them and 66% with each batch's own
    # statistics (scripts/bn_statistics.py; docs/results.md).
    bn_momentum = 0.9

    def conv(x, filters, kernel, name, stride=1, groups=1):
        kernel_init, bias_init = _initializers(init, name)
        conv_layer = GroupedConv2D if groups > 1 else TapwiseConv2D  # Keras' Conv2D, faster on CPU
        x = conv_layer(filters, kernel, stride, padding="valid" if kernel == 11 else "same",
                       groups=groups, use_bias=not batchnorm, kernel_initializer=kernel_init,
                       bias_initializer=bias_init, name=name)(x)
        if batchnorm:  # Keras' BatchNormalization, one fused kernel on TensorFlow
            x = FusedBatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    def dense(x, units, name):
        kernel_init, bias_init = _initializers(init, name)
        x = layers.Dense(units, use_bias=not batchnorm, kernel_initializer=kernel_init,
                         bias_initializer=bias_init, name=name)(x)
        if batchnorm:
            x = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    def pool(x, name):
        return layers.MaxPooling2D(3, 2, name=name)(x)  # overlapping: 3x3 windows, stride 2

    if variant == "paper":
        x = conv(inputs, 96, 11, "conv1", stride=4)                        # 55x55x96
        x = pool(LocalResponseNormalization(name="lrn1")(x), "pool1")      # 27x27x96
        x = conv(x, 256, 5, "conv2", groups=2)                             # 27x27x256
        x = pool(LocalResponseNormalization(name="lrn2")(x), "pool2")      # 13x13x256
        x = conv(x, 384, 3, "conv3")                                       # 13x13x384
        x = conv(x, 384, 3, "conv4", groups=2)                             # 13x13x384
        x = conv(x, 256, 3, "conv5", groups=2)                             # 13x13x256
        x = layers.Flatten(name="flatten")(pool(x, "pool5"))               # 6x6x256
        x = layers.Dropout(dropout, name="drop6")(dense(x, 4096, "fc6"))
        x = layers.Dropout(dropout, name="drop7")(dense(x, 4096, "fc7"))
    else:  # owt and bn share torchvision's single-tower layout
        x = layers.ZeroPadding2D(2, name="pad1")(inputs)
        x = pool(conv(x, 64, 11, "conv1", stride=4), "pool1")              # 27x27x64
        x = pool(conv(x, 192, 5, "conv2"), "pool2")                        # 13x13x192
        x = conv(x, 384, 3, "conv3")
        x = conv(x, 256, 3, "conv4")
        x = pool(conv(x, 256, 3, "conv5"), "pool5")                        # 6x6x256
        x = AdaptiveAveragePooling2D(6, name="avgpool")(x)
        x = layers.Flatten(name="flatten")(x)
        x = dense(layers.Dropout(dropout, name="drop6")(x), 4096, "fc6")
        x = dense(layers.Dropout(dropout, name="drop7")(x), 4096, "fc7")

    kernel_init, bias_init = _initializers(init, "fc8")
    logits = layers.Dense(num_classes, kernel_initializer=kernel_init,
                          bias_initializer=bias_init, name="fc8")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(logits)
    return keras.Model(inputs, outputs, name=f"alexnet_{variant}")


def count_macs(model: keras.Model) -> int:
    """Multiply-accumulates per image in the convolution and dense layers.

    A grouped convolution costs 1/groups of a full one. ReLU, LRN, pooling and
    BatchNorm are left out: a few million operations, under 1% of the total.
    """
    return sum(layer_macs(model).values())


def layer_macs(model: keras.Model) -> dict[str, int]:
    """``count_macs`` layer by layer: layer name -> multiply-accumulates per image, for
    each convolution and dense layer (the only layers counted)."""
    macs = {}
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw, c_in_per_group, _ = layer.kernel.shape
            macs[layer.name] = int(h * w * c_out * kh * kw * c_in_per_group)
        elif isinstance(layer, layers.Dense):
            macs[layer.name] = int(layer.kernel.shape[0] * layer.kernel.shape[1])
    return macs


def layout(model: keras.Model) -> dict[str, list[str]]:
    """Where LRN, BatchNorm and grouped convolutions sit, read from the built model:
    the conv/FC layer each LRN or BatchNorm follows, and the grouped (two-tower) layers."""
    where = {"lrn": [], "batchnorm": [], "grouped": []}
    last = None
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D | layers.Dense):
            last = layer.name
            if getattr(layer, "groups", 1) > 1:
                where["grouped"].append(layer.name)
        elif isinstance(layer, LocalResponseNormalization):
            where["lrn"].append(last)
        elif isinstance(layer, layers.BatchNormalization):
            where["batchnorm"].append(last)
    return where


def compare_variants(num_classes: int = 1000) -> list[dict]:
    """One row per variant at its default input size: parameters, MACs per image and
    where LRN, BatchNorm and grouping sit (for the notebook's side-by-side table)."""
    rows = []
    for variant in VARIANTS:
        net = build(variant, num_classes)
        rows.append({"variant": variant, "input": f"{net.input_shape[1]}x{net.input_shape[2]}",
                     "parameters": net.count_params(), "macs": count_macs(net),
                     **{key: ", ".join(names) or "-" for key, names in layout(net).items()}})
    return rows


def comparison_table(rows: list[dict]) -> str:
    """``compare_variants()`` rows as a Markdown table (MACs in G)."""
    header = ["variant", "input", "parameters", "MACs", "LRN after", "BatchNorm after",
              "grouped (groups=2)"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in rows:
        cells = [row["variant"], row["input"], f"{row['parameters']:,}",
                 f"{row['macs'] / 1e9:.3f} G", row["lrn"], row["batchnorm"], row["grouped"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def logits_model(model: keras.Model) -> keras.Model:
    """The same network without its final softmax (for porting checks and features)."""
    return keras.Model(model.input, model.get_layer("fc8").output)


def load(path) -> keras.Model:
    """Loads a saved ``.keras`` model with ``safe_mode=True`` (no arbitrary code)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    return keras.saving.load_model(path, safe_mode=True)


def unwrap(net: keras.Model) -> keras.Model:
    """The AlexNet inside a model trained with on-device augmentation (``--in-memory``),
    which takes normalised images as the tf.data pipelines give them; other models as
    they are."""
    inner = [layer for layer in net.layers
             if isinstance(layer, keras.Model) and layer.name.startswith("alexnet_")]
    return inner[0] if inner else net
