"""In-memory data on the accelerator: batches of uint8 squares, reshuffled each epoch and
optionally mixed (MixUp, CutMix), and the augmentation as a Keras layer (``Augment``) in
front of the model, so cropping and flipping run where the model runs (any backend).
The spec of each augmentation is augment.py's.
"""

from __future__ import annotations

import os

import keras
import numpy as np
from keras import ops

from alexnet.data.augment import (
    EIGENVALUES,
    EIGENVECTORS,
    RRC_RATIO,
    RRC_SCALE,
    crop_fraction,
    five_crop_corners,
    lookup,
    resize_size,
)


@keras.saving.register_keras_serializable(package="alexnet")
class Augment(keras.layers.Layer):
    """uint8 squares (B, S, S, 3) -> float crops (B, image_size, image_size, 3), 0-255,
    on the accelerator: the training augmentation called ``augmentation`` when training,
    the centre crop otherwise (no randomness)."""

    def __init__(self, image_size: int, augmentation: str = "basic", seed: int | None = None,
                 **kwargs):
        # Models saved before augmentation names came here say crop="random"|"resized".
        crop, lighting = kwargs.pop("crop", None), kwargs.pop("lighting", 0.0)
        kwargs.pop("scale", None)
        if crop is not None:
            augmentation = "rrc" if crop == "resized" else "paper" if lighting else "basic"
        super().__init__(**kwargs)
        self.image_size, self.augmentation, self.seed = image_size, augmentation, seed
        self.spec = lookup(augmentation)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        x = ops.cast(images, "float32")
        size = self.image_size
        if training and self.spec.crop != "centre":
            x = ops.image.resize(x, (size, size), antialias=True)
            x = ops.image.affine_transform(x, self._crop_transforms(ops.shape(x)[0]),
                                           interpolation="bilinear", fill_mode="reflect")
            if self.spec.lighting > 0:
                x = x + self._lighting(ops.shape(x)[0])[:, None, None, :]
        else:
            side = resize_size(size)
            x = ops.image.resize(x, (side, side), antialias=True)
            offset = (side - size) // 2
            x = x[:, offset:offset + size, offset:offset + size, :]
        return x

    def _uniform(self, batch, low=0.0, high=1.0):
        return keras.random.uniform((batch,), low, high, seed=self.seed_generator)

    def _crop_transforms(self, batch):
        """Affine maps from output pixels to a random crop window (and its mirror)."""
        size = float(self.image_size)
        if self.spec.crop == "resized":
            area = self._uniform(batch, *RRC_SCALE)
            log_ratio = self._uniform(batch, *np.log(RRC_RATIO))
            width = ops.minimum(ops.sqrt(area * ops.exp(log_ratio)), 1.0) * size
            height = ops.minimum(ops.sqrt(area / ops.exp(log_ratio)), 1.0) * size
        else:  # an image_size window of the image resized to resize_size(image_size)
            width = height = ops.full((batch,), size * crop_fraction(self.image_size))
        left = self._uniform(batch) * (size - width)
        top = self._uniform(batch) * (size - height)
        sx, sy = width / size, height / size
        flip = ops.cast(self._uniform(batch) < 0.5, "float32") * float(self.spec.flip)
        a0 = sx * (1 - 2 * flip)
        a2 = left + flip * (size - 1) * sx
        zeros = ops.zeros_like(sx)
        return ops.stack([a0, zeros, a2, zeros, sy, top, zeros, zeros], axis=1)

    def _lighting(self, batch):
        alpha = keras.random.normal((batch, 3), stddev=self.spec.lighting,
                                    seed=self.seed_generator)
        return ops.matmul(alpha * np.array(EIGENVALUES, "float32"),
                          np.array(EIGENVECTORS, "float32").T) * 255.0

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.image_size, self.image_size, 3)

    def get_config(self):
        return {**super().get_config(), "image_size": self.image_size,
                "augmentation": self.augmentation, "seed": self.seed}


def with_augmentation(net: keras.Model, augmentation: str = "basic",
                      seed: int | None = None) -> keras.Model:
    """``net`` behind an ``Augment`` layer: a model that takes uint8 squares of any size,
    as ``arrays.load`` gives them."""
    inputs = keras.Input((None, None, 3), dtype="uint8", name="image_uint8")
    x = Augment(net.input_shape[1], augmentation, seed=seed, name="augment")(inputs)
    return keras.Model(inputs, net(x), name=net.name)


def ten_crops(images, image_size: int):
    """The paper's ten test crops of uint8 squares, 0-255 floats, (B, 10, size, size, 3):
    the five of ``five_crop_corners`` in the image resized to ``resize_size(image_size)``,
    then the same five mirrored."""
    side = resize_size(image_size)
    x = ops.image.resize(ops.cast(images, "float32"), (side, side), antialias=True)
    crops = [x[:, top:top + image_size, left:left + image_size, :]
             for top, left in five_crop_corners(side - image_size, side - image_size)]
    return ops.stack(crops + [ops.flip(crop, axis=2) for crop in crops], axis=1)


class ArrayBatches(keras.utils.PyDataset):
    """Batches of in-memory uint8 images and one-hot labels, reshuffled every epoch when
    ``shuffle``, optionally mixed by MixUp (Zhang et al. 2018) or CutMix (Yun et al. 2019):
    ``mixup``/``cutmix`` are the Beta(alpha, alpha) parameters of the mixing weight (0: off;
    both above 0: each batch one of the two at random). Each image is mixed with a random
    partner of its batch, and the labels by the share of pixels each image gave.

    The mixing runs where Keras puts tensors (the GPU, on a GPU machine) in Keras' own
    ``MixUp`` and ``CutMix`` layers; the mixed images are rounded back to uint8 for the
    model's ``Augment`` layer. CutMix's labels are weighted by the pixels of its mask
    (Keras' own weight uses the box's fractional area).

    ``crop``: cut ``crop``-pixel squares here, on the host, random (``random_crop``) or
    central, flipped at random with ``flip``: the ``basic`` and ``none`` augmentations of
    squares are plain slices, far cheaper on a CPU than ``Augment``'s resampling.
    """

    def __init__(self, images: np.ndarray, one_hot: np.ndarray, batch_size: int,
                 shuffle: bool = False, mixup: float = 0.0, cutmix: float = 0.0,
                 seed: int | None = None, workers: int = min(4, os.cpu_count() or 1),
                 crop: int | None = None, random_crop: bool = False, flip: bool = False):
        super().__init__(workers=workers if shuffle else 1, use_multiprocessing=False)
        self.images, self.one_hot, self.batch_size = images, one_hot, batch_size
        self.crop, self.random_crop, self.flip = crop, random_crop, flip
        self.shuffle, self.mixup, self.cutmix = shuffle, mixup, cutmix
        self.seed, self.epoch = np.random.SeedSequence(seed).entropy, -1
        # float32: the pixel arithmetic must not follow a mixed-precision policy
        self.mixers = {}
        if mixup > 0:
            self.mixers["mixup"] = keras.layers.MixUp(mixup, seed=seed, dtype="float32")
        if cutmix > 0:  # Keras draws CutMix's Beta parameter from a range: here one value
            self.mixers["cutmix"] = keras.layers.CutMix((cutmix, cutmix), seed=seed,
                                                        dtype="float32")
        self.on_epoch_end()  # the first epoch's order

    def __len__(self) -> int:
        return -(-len(self.images) // self.batch_size)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        rng = np.random.default_rng([self.seed, self.epoch])
        self.order = rng.permutation(len(self.images)) if self.shuffle else None

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(index)
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        if self.order is not None:
            rows = np.sort(self.order[rows])
        images, labels = self.images[rows], self.one_hot[rows].astype("float32")
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.crop:
            images = self._crops(images, rng)
        if not self.mixers:
            return images, labels
        name = rng.choice(sorted(self.mixers)) if len(self.mixers) > 1 else next(iter(self.mixers))
        return mix(self.mixers[name], images, labels)


    def _crops(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        count, side, size = len(images), images.shape[1], self.crop
        if self.random_crop:
            tops, lefts = rng.integers(0, side - size + 1, (2, count))
        else:
            tops = lefts = np.full(count, (side - size) // 2)
        crops = np.stack([image[t:t + size, s:s + size]
                          for image, t, s in zip(images, tops, lefts, strict=True)])
        if self.flip:
            mirrored = rng.random(count) < 0.5
            crops[mirrored] = crops[mirrored, :, ::-1]
        return crops

def mix(layer: keras.layers.Layer, images, labels) -> tuple:
    """One batch through Keras' ``MixUp`` or ``CutMix`` layer: uint8 images out (rounded),
    labels weighted by the share of each image's pixels."""
    batch = {"images": ops.convert_to_tensor(images), "labels": ops.convert_to_tensor(labels)}
    transformation = layer.get_random_transformation(batch, training=True)
    mixed = layer.transform_images(batch["images"], transformation)
    partner = ops.take(batch["labels"], transformation["permutation_order"], axis=0)
    if "batch_masks" in transformation:  # CutMix: the share of pixels left to each image
        kept = 1.0 - ops.mean(ops.cast(transformation["batch_masks"], "float32"), axis=(1, 2, 3))
    else:
        kept = ops.cast(transformation["mix_weight"], "float32")
    mixed_labels = kept[:, None] * batch["labels"] + (1.0 - kept[:, None]) * partner
    return ops.cast(ops.clip(ops.round(mixed), 0, 255), "uint8"), mixed_labels
