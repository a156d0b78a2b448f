"""Porting torchvision's ImageNet AlexNet weights into the ``owt`` variant.

torchvision's ``alexnet`` is the one-weird-trick net, layer for layer our ``owt``.
Two layouts differ: PyTorch stores convolution kernels as OIHW (Keras: HWIO) and
dense kernels as (out, in) (Keras: (in, out)); and FC6 reads the 6x6x256 feature
map flattened channel-first (NCHW: index c*36 + h*6 + w) where Keras flattens
channel-last (NHWC: index h*1536 + w*256 + c), so FC6's input rows are permuted.
Both normalise RGB images with ImageNet's mean and std; ours does so in its first layer,
so the ported model takes pixels in [0, 255].
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import keras
import numpy as np

from alexnet.models.alexnet import METADATA, build

# torchvision module index -> our layer name (features.1 is a ReLU, features.2 a pool, ...).
LAYERS = {"features.0": "conv1", "features.3": "conv2", "features.6": "conv3",
          "features.8": "conv4", "features.10": "conv5",
          "classifier.1": "fc6", "classifier.4": "fc7", "classifier.6": "fc8"}
POOLED = 6  # torchvision's adaptive average pool output: 6x6


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Reads a ``.pth`` state dict with ``torch.load(weights_only=True)``: tensors and
    plain containers only, so a file cannot run code when it is read."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        import torch  # optional: only porting weights needs PyTorch
    except ImportError as error:
        raise OSError(f"reading {path} needs PyTorch (pip install torch): {error}") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        raise ValueError(f"{path}: not a PyTorch weights file that loads with "
                         f"weights_only=True ({_reason(error)})") from None
    if not isinstance(state, Mapping) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f"{path}: expected a state dict (names -> tensors), got "
                         f"{type(state).__name__}")
    return {name: tensor.detach().float().numpy() for name, tensor in state.items()}


def _reason(error: Exception) -> str:
    """torch.load's error in one line: its type, and after its paragraphs on
    ``weights_only`` the unpickler's own words (``Unsupported operand 95``), else its
    first line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    said = [i for i, line in enumerate(lines[:-1]) if line.endswith("WeightsUnpickler error:")]
    reason = lines[said[0] + 1] if said else (lines[0] if lines else "")
    return f"{type(error).__name__}: {reason}" if reason else type(error).__name__


def keras_weights(state: Mapping[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """torchvision AlexNet tensors -> ``[kernel, bias]`` per Keras layer, in Keras layout."""
    expected = {f"{module}.{kind}" for module in LAYERS for kind in ("weight", "bias")}
    missing, unexpected = sorted(expected - state.keys()), sorted(state.keys() - expected)
    if missing or unexpected:
        raise ValueError(f"not a torchvision AlexNet state dict: missing {missing or 'none'}, "
                         f"unexpected {unexpected or 'none'}")
    weights = {}
    for module, name in LAYERS.items():
        kernel, bias = state[f"{module}.weight"], state[f"{module}.bias"]
        if kernel.ndim == 4:                      # conv: (out, in, h, w) -> (h, w, in, out)
            kernel = kernel.transpose(2, 3, 1, 0)
        elif name == "fc6":                       # (out, c*h*w) -> (h*w*c, out)
            out, flat = kernel.shape
            channels, rest = divmod(flat, POOLED * POOLED)
            if rest:
                raise ValueError(f"{module}.weight: {flat} inputs is not a {POOLED}x{POOLED} "
                                 "feature map flattened")
            kernel = kernel.reshape(out, channels, POOLED, POOLED).transpose(2, 3, 1, 0)
            kernel = kernel.reshape(flat, out)
        else:                                     # dense: (out, in) -> (in, out)
            kernel = kernel.T
        weights[name] = [np.ascontiguousarray(kernel), bias]
    return weights


def port_state_dict(state: Mapping[str, np.ndarray], image_size: int = 224) -> keras.Model:
    """An ``owt`` model holding a torchvision AlexNet state dict's weights; the number
    of classes is read from the last layer."""
    weights = keras_weights(state)
    net = build("owt", num_classes=weights["fc8"][1].shape[0], image_size=image_size)
    for name, values in weights.items():
        layer = net.get_layer(name)
        for variable, value in zip(layer.weights, values, strict=True):
            if tuple(variable.shape) != value.shape:
                raise ValueError(f"{name}.{variable.name}: torchvision tensor has shape "
                                 f"{value.shape} in Keras layout, the owt model needs "
                                 f"{tuple(variable.shape)}")
        layer.set_weights(values)
    if net.output_shape[-1] == 1000 and net.count_params() != METADATA["owt"]["parameters"]:
        raise ValueError(f"{net.count_params():,} parameters, where torchvision's AlexNet "
                         f"has {METADATA['owt']['parameters']:,}")
    return net


def port(pth: str | Path, out: str | Path, image_size: int = 224) -> keras.Model:
    """Reads a torchvision AlexNet ``.pth`` state dict and saves it as an ``owt``
    ``.keras`` model at ``out``."""
    out = Path(out)
    if out.suffix != ".keras":
        raise ValueError(f"{out}: the output file must end in .keras")
    net = port_state_dict(load_state_dict(pth), image_size)
    out.parent.mkdir(parents=True, exist_ok=True)
    net.save(out)
    return net
