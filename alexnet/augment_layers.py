"""Augmentation as a Keras layer (``keras.ops`` only), run on the accelerator.

Used with in-memory datasets (arrays.py): the model takes a batch of uint8
squares and crops, flips, colours and normalises them on the device, so the
host only slices arrays. Training and inference differ as in pipeline.py:
random crops and flips for training, resize and centre crop for evaluation.
MixUp and CutMix, which change the labels too, mix the batches on the host
(``MixedBatches``).
"""

from __future__ import annotations

import os

import keras
import numpy as np
from keras import ops

from alexnet.data import EIGENVALUES, EIGENVECTORS, MEAN, RRC_SCALE, STD, resize_size


@keras.saving.register_keras_serializable(package="alexnet")
class Augment(keras.layers.Layer):
    """uint8 (B, S, S, 3) -> normalised float (B, image_size, image_size, 3).

    ``crop="random"``: the paper's crops (resize to 256/224 of the crop size, take
    a random crop); ``crop="resized"``: random-resized crops (area ``scale``,
    aspect ratio 3/4 to 4/3) as in Inception and torchvision. Both flip half the
    images; ``lighting`` > 0 adds PCA colour noise with that standard deviation
    (the paper's 0.1). At inference: resize and centre crop, no randomness.
    """

    def __init__(self, image_size: int, crop: str = "random", scale=RRC_SCALE,
                 lighting: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if crop not in ("random", "resized"):
            raise ValueError(f"unknown crop {crop!r}: choose 'random' or 'resized'")
        self.image_size, self.crop, self.scale = image_size, crop, tuple(scale)
        self.lighting, self.seed = lighting, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        x = ops.cast(images, "float32")
        size = self.image_size
        if training:
            x = ops.image.resize(x, (size, size), antialias=True)
            x = ops.image.affine_transform(x, self._crop_transforms(ops.shape(x)[0]),
                                           interpolation="bilinear", fill_mode="reflect")
            if self.lighting > 0:
                x = x + self._lighting(ops.shape(x)[0])[:, None, None, :]
        else:
            side = resize_size(size)
            x = ops.image.resize(x, (side, side), antialias=True)
            offset = (side - size) // 2
            x = x[:, offset:offset + size, offset:offset + size, :]
        return (x - np.array(MEAN, "float32")) / np.array(STD, "float32")

    def _uniform(self, batch, low=0.0, high=1.0):
        return keras.random.uniform((batch,), low, high, seed=self.seed_generator)

    def _crop_transforms(self, batch):
        """Affine maps from output pixels to a random crop window (and its mirror)."""
        size = float(self.image_size)
        if self.crop == "resized":
            area = self._uniform(batch, *self.scale)
            log_ratio = self._uniform(batch, np.log(3 / 4), np.log(4 / 3))
            width = ops.minimum(ops.sqrt(area * ops.exp(log_ratio)), 1.0) * size
            height = ops.minimum(ops.sqrt(area / ops.exp(log_ratio)), 1.0) * size
        else:  # a crop_size window of the image resized to resize_size(crop_size)
            side = size * size / resize_size(self.image_size)
            width = height = ops.full((batch,), side)
        left = self._uniform(batch) * (size - width)
        top = self._uniform(batch) * (size - height)
        sx, sy = width / size, height / size
        flip = ops.cast(self._uniform(batch) < 0.5, "float32")
        a0 = sx * (1 - 2 * flip)
        a2 = left + flip * (size - 1) * sx
        zeros = ops.zeros_like(sx)
        return ops.stack([a0, zeros, a2, zeros, sy, top, zeros, zeros], axis=1)

    def _lighting(self, batch):
        alpha = keras.random.normal((batch, 3), stddev=self.lighting, seed=self.seed_generator)
        return ops.matmul(alpha * np.array(EIGENVALUES, "float32"),
                         np.array(EIGENVECTORS, "float32").T) * 255.0

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.image_size, self.image_size, 3)

    def get_config(self):
        return {**super().get_config(), "image_size": self.image_size, "crop": self.crop,
                "scale": list(self.scale), "lighting": self.lighting, "seed": self.seed}


def with_augmentation(net: keras.Model, **augment_options) -> keras.Model:
    """``net`` behind an ``Augment`` layer: a model that takes uint8 squares of any
    size, as ``arrays.load`` gives them."""
    inputs = keras.Input((None, None, 3), dtype="uint8", name="image_uint8")
    x = Augment(net.input_shape[1], name="augment", **augment_options)(inputs)
    return keras.Model(inputs, net(x), name=net.name)


def ten_crops(images, image_size: int) -> list:
    """The paper's 10 test crops of uint8 squares, normalised: four corners and the
    centre of the image resized to ``resize_size(image_size)``, each also mirrored."""
    side, size = resize_size(image_size), image_size
    x = ops.image.resize(ops.cast(images, "float32"), (side, side), antialias=True)
    x = (x - np.array(MEAN, "float32")) / np.array(STD, "float32")
    middle, far = (side - size) // 2, side - size
    crops = [x[:, top:top + size, left:left + size, :]
             for top, left in ((0, 0), (0, far), (far, 0), (far, far), (middle, middle))]
    return crops + [ops.flip(crop, axis=2) for crop in crops]


class MixedBatches(keras.utils.PyDataset):
    """Shuffled training batches of in-memory images with MixUp (Zhang et al. 2018) or
    CutMix (Yun et al. 2019), mixed here on the host before the on-device augmentation.

    Each image is mixed with the next one of its batch, with one weight per batch, as
    timm does: MixUp blends whole images, ``lam * a + (1 - lam) * b`` with ``lam`` drawn
    from Beta(``mixup``, ``mixup``); CutMix pastes a box of ``b`` covering ``1 - lam`` of
    ``a``, ``lam`` from Beta(``cutmix``, ``cutmix``). The one-hot labels are mixed by the
    same weights. With both alphas above 0, each batch uses one of the two at random.
    """

    def __init__(self, images: np.ndarray, one_hot: np.ndarray, batch_size: int,
                 mixup: float = 0.0, cutmix: float = 0.0, seed: int | None = None,
                 workers: int = min(8, os.cpu_count() or 1)):
        # threads: NumPy lets go of the GIL, so batches are mixed while the device trains
        super().__init__(workers=workers, use_multiprocessing=False)
        if mixup <= 0 and cutmix <= 0:
            raise ValueError("MixedBatches needs mixup or cutmix above 0")
        self.images, self.one_hot, self.batch_size = images, one_hot, batch_size
        self.mixup, self.cutmix = mixup, cutmix
        self.seed, self.epoch = np.random.SeedSequence(seed).entropy, -1
        self.on_epoch_end()  # the first epoch's order

    def __len__(self) -> int:
        return -(-len(self.images) // self.batch_size)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.images))

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch, index])  # the same from any thread
        rows = np.sort(self.order[index * self.batch_size:(index + 1) * self.batch_size])
        images, labels = self.images[rows], self.one_hot[rows].astype("float32")
        partner_images, partner_labels = np.roll(images, 1, axis=0), np.roll(labels, 1, axis=0)
        use_cutmix = self.cutmix > 0 and (self.mixup <= 0 or rng.random() < 0.5)
        if use_cutmix:
            images, lam = paste_box(images, partner_images, rng.beta(self.cutmix, self.cutmix), rng)
        else:  # the labels take the weight the pixels got, rounded to 1/256
            weight = round(rng.beta(self.mixup, self.mixup) * 256)
            images, lam = blend(images, partner_images, weight), weight / 256
        return images, lam * labels + (1 - lam) * partner_labels


def blend(images: np.ndarray, partner: np.ndarray, weight: int) -> np.ndarray:
    """MixUp of uint8 images: ``(weight * a + (256 - weight) * b) / 256``, rounded, in
    16-bit integers and a few images at a time (large temporaries cost more than the
    arithmetic)."""
    out = np.empty_like(images)
    for i in range(0, len(images), 16):
        mixed = images[i:i + 16].astype(np.uint16)
        mixed *= weight
        other = partner[i:i + 16].astype(np.uint16)
        other *= 256 - weight
        mixed += other
        mixed += 128
        mixed >>= 8
        out[i:i + 16] = mixed
    return out


def paste_box(images: np.ndarray, partner: np.ndarray, lam: float,
              rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """CutMix: a box of ``partner`` over ``1 - lam`` of each image, centred at random and
    clipped at the borders; returns the images and the share of pixels left to them."""
    height, width = images.shape[1:3]
    cut_h, cut_w = round(height * np.sqrt(1 - lam)), round(width * np.sqrt(1 - lam))
    cy, cx = rng.integers(height), rng.integers(width)
    top, bottom = np.clip([cy - cut_h // 2, cy + cut_h - cut_h // 2], 0, height)
    left, right = np.clip([cx - cut_w // 2, cx + cut_w - cut_w // 2], 0, width)
    images = images.copy()
    images[:, top:bottom, left:right] = partner[:, top:bottom, left:right]
    return images, 1 - (bottom - top) * (right - left) / (height * width)
