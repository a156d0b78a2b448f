"""What a trained network computes and gets wrong, as figures: the first layer's filters
(the paper's Figure 3), the feature maps of one image layer by layer, and a gallery of the
validation images it misclassified most confidently."""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np

from alexnet.data.names import display_names


def mosaic(kernel: np.ndarray, columns: int) -> np.ndarray:
    """The kernels (HWIO, RGB input) as one image, each scaled to its own range so that
    its pattern shows, with one-pixel white gaps."""
    kernel = np.asarray(kernel, "float32")
    if kernel.ndim != 4 or kernel.shape[2] != 3:
        raise ValueError(f"conv1 kernel must be HxWx3xN (HWIO, RGB), got shape {kernel.shape}")
    size, count = kernel.shape[0], kernel.shape[3]
    rows, cell = int(np.ceil(count / columns)), size + 1
    mosaic = np.ones((rows * cell + 1, columns * cell + 1, 3), "float32")
    for n in range(count):
        patch = kernel[..., n]
        patch = (patch - patch.min()) / max(float(np.ptp(patch)), 1e-12)
        r, c = divmod(n, columns)
        mosaic[1 + r * cell: r * cell + cell, 1 + c * cell: c * cell + cell] = patch
    return mosaic


def conv1_filters(kernel: np.ndarray, columns: int | None = None) -> plt.Figure:
    """The first layer's kernels (HWIO, RGB input) as colour patches, as the paper's
    Figure 3; each kernel is scaled to its own range so that its pattern shows."""
    count = np.shape(kernel)[-1]
    image = mosaic(kernel, columns or (16 if count % 16 == 0 and count > 64 else 8))
    fig, ax = plt.subplots(figsize=(6.5, 6.5 * image.shape[0] / image.shape[1] + 0.4))
    ax.imshow(image, interpolation="nearest")
    ax.set_title(f"conv1: {count} kernels of {kernel.shape[0]}×{kernel.shape[1]}×3",
                 fontsize=10)
    ax.axis("off")
    fig.tight_layout()
    return fig


def feature_maps(net: keras.Model, image: np.ndarray, layers: tuple[str, ...] = (
        "conv1_relu", "conv2_relu", "conv3_relu", "conv4_relu", "conv5_relu"),
        channels: int = 8) -> plt.Figure:
    """One image (uint8, the network's input size) through the network: the first
    ``channels`` maps of each layer in ``layers``, each scaled to its own range."""
    probe = keras.Model(net.input, [net.get_layer(name).output for name in layers])
    outputs = probe.predict(image[None].astype("float32"), verbose=0)
    fig, axes = plt.subplots(len(layers), channels + 1, squeeze=False,
                             figsize=(1.1 * (channels + 1), 1.15 * len(layers)))
    for row, name, maps in zip(axes, layers, outputs, strict=True):
        for ax in row:
            ax.axis("off")
        row[0].imshow(np.clip(image, 0, 255).astype("uint8"))
        row[0].set_title(f"{name.split('_')[0]} {maps.shape[1]}x{maps.shape[2]}", fontsize=7)
        for c, ax in enumerate(row[1:]):
            ax.imshow(np.asarray(maps[0, :, :, c], "float32"), cmap="viridis")
    fig.tight_layout(pad=0.2)
    return fig


def gallery(images: np.ndarray, probabilities: np.ndarray, labels: np.ndarray,
            class_names: list[str], columns: int = 4) -> plt.Figure:
    """Images (uint8) titled with the predicted class and its probability, and the true
    class: for the misclassified ones (``reading.mistakes`` picks them)."""
    names = display_names(class_names)
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, squeeze=False, figsize=(2.1 * columns, 2.3 * rows))
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, p, label in zip(axes.flat, images, probabilities, labels, strict=False):
        guess = int(np.argmax(p))
        ax.imshow(np.clip(image, 0, 255).astype("uint8"))
        ax.set_title(f"said {names[guess]} {p[guess]:.0%}\nis {names[label]}", fontsize=8,
                     color="tab:red" if guess != label else "black")
    fig.tight_layout(pad=0.3)
    return fig
