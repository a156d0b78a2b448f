"""In-memory data for the accelerator: batches of uint8 squares, reshuffled each epoch and
optionally mixed (MixUp, CutMix) where Keras puts tensors, for a training model that
crops and flips them itself behind ``augment.Augment`` (any backend).
"""

from __future__ import annotations

import os

import keras
import numpy as np
from keras import ops


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
