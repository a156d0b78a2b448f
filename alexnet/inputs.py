"""A run's inputs: one object per source, with one interface.

- ``FileInputs``: images on disk (or TFRecord shards), decoded and augmented on the
  host by tf.data (tfdata.py); the model takes normalised crops.
- ``ArrayInputs``: the whole dataset decoded once into uint8 arrays (arrays.py), for
  datasets that fit in RAM and for Keras backends without TensorFlow; the model is
  wrapped behind ``augmentation.Augment``, which crops on the accelerator, and MixUp
  and CutMix (Keras' own layers) mix batches there too.

Both give ``train_batches(seed)`` and ``val_batches()`` for ``fit`` and evaluation
through the trained model, and ``ten_crop_batches()``: ``(images (B, 10, S, S, 3), one-hot
labels)`` for the bare network (``model.unwrap``), the paper's 10-crop test.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
from keras import ops

from alexnet import arrays, augmentation, data
from alexnet.config import TrainConfig

try:  # files are read by TensorFlow; machines that train from arrays (JAX) may lack it
    from alexnet import distribute, tfdata
except ModuleNotFoundError as missing:
    if missing.name != "tensorflow":
        raise
    distribute = tfdata = None


class FileInputs:
    """Files through tf.data; under a tf.distribute ``strategy`` each worker reads its
    own share of the files. ``train`` may be None where only evaluation is wanted."""

    normalised = True  # batches are normalised crops: for the bare network

    def __init__(self, config: TrainConfig, root: Path, train: data.Split | None,
                 val: data.Split, strategy=None):
        self.config, self.root, self.train, self.val = config, root, train, val
        self.strategy = strategy
        self.class_names = val.class_names
        self.val_batch_size = config.batch_size
        # ten crops an image: a tenth of the batch size keeps a batch's memory the same
        self.ten_crop_batch_size = max(1, config.batch_size // 10)

    def _batches(self, split: data.Split, training: bool, batch_size: int, seed=None,
                 ten_crop: bool = False):
        return tfdata.batches(split, self.config.image_size, batch_size, training=training,
                              seed=seed, cache=self.config.cache and not ten_crop,
                              augmentation=self.config.augmentation, ten_crop=ten_crop)

    def _sharded(self, split: data.Split, training: bool, seed=None):
        def make(shard: int, shards: int, batch_size: int):
            part = distribute.shard(split, shard, shards, self.config.batch_size)
            left_out = len(split) - shards * len(part)
            if left_out and shard == 0:
                print(f"{left_out} of {len(split)} {'training' if training else 'validation'} "
                      f"images left out so that all {shards} workers take the same steps")
            return self._batches(part, training, batch_size, seed)
        return distribute.datasets(self.strategy, self.config.batch_size, make)

    def train_batches(self, seed: int | None = None):
        if self.strategy is not None:
            return self._sharded(self.train, True, seed)
        return self._batches(self.train, True, self.config.batch_size, seed)

    def val_batches(self, whole: bool = False):
        """Validation batches; ``whole``: all of them in this process (the multi-worker
        chief evaluates alone)."""
        if self.strategy is not None and not whole:
            return self._sharded(self.val, False)
        return self._batches(self.val, False, self.val_batch_size)

    def examples(self, count: int, training: bool) -> tuple[np.ndarray, np.ndarray]:
        """``count`` normalised images spread over the classes, as training (augmented)
        or evaluation sees them, and their labels: for plots."""
        return tfdata.examples(self.train if training else self.val, self.config.image_size,
                               count, training, self.config.augmentation)

    def ten_crop_batches(self):
        return self._batches(self.val, False, self.ten_crop_batch_size, ten_crop=True)


class ArrayInputs:
    """uint8 squares in memory; cropping, flipping and mixing happen on the device."""

    normalised = False  # batches are uint8 squares: for the model behind ``Augment``

    def __init__(self, config: TrainConfig, root: Path, train: tuple[np.ndarray, data.Split],
                 val: tuple[np.ndarray, data.Split]):
        self.config, self.root = config, root
        (self.train_images, self.train), (self.val_images, self.val) = train, val
        self.class_names = self.train.class_names
        self.val_batch_size = config.batch_size * 2  # inference holds no gradients
        self.ten_crop_batch_size = max(1, config.batch_size // 10)

    def _one_hot(self, split: data.Split) -> np.ndarray:
        return keras.utils.to_categorical(split.labels, len(self.class_names))

    def train_batches(self, seed: int | None = None) -> ArrayBatches:
        return ArrayBatches(self.train_images, self._one_hot(self.train),
                            self.config.batch_size, shuffle=True, mixup=self.config.mixup,
                            cutmix=self.config.cutmix, seed=seed)

    def val_batches(self, whole: bool = False) -> ArrayBatches:
        return ArrayBatches(self.val_images, self._one_hot(self.val), self.val_batch_size)

    def examples(self, count: int, training: bool) -> tuple[np.ndarray, np.ndarray]:
        """As ``FileInputs.examples``, cropped by the model's own ``Augment`` layer."""
        split, images = (self.train, self.train_images) if training else (self.val,
                                                                           self.val_images)
        rows = np.linspace(0, len(split) - 1, min(count, len(split))).astype(int)
        augment = augmentation.Augment(self.config.image_size, self.config.augmentation,
                                       seed=self.config.seed)
        return (ops.convert_to_numpy(augment(images[rows], training=training)),
                split.labels[rows])

    def ten_crop_batches(self):
        size, step = self.config.image_size, self.ten_crop_batch_size
        labels = self._one_hot(self.val)
        for i in range(0, len(self.val_images), step):
            yield augmentation.ten_crops(self.val_images[i:i + step], size), labels[i:i + step]


def load_inputs(config: TrainConfig, strategy=None) -> FileInputs | ArrayInputs:
    """The inputs ``config`` asks for: a packed ``.npz`` (arrays.pack) or ``in_memory``
    give ``ArrayInputs``, other datasets ``FileInputs``."""
    if str(config.data).endswith(".npz"):
        unpacked = arrays.unpack(Path(config.data))
        return ArrayInputs(config, Path(config.data), unpacked["train"], unpacked["val"])
    root = data.locate(config.data)
    # the run's seed, not a resumed epoch's: a resumed run holds out the same images
    train, val = data.load(root, limit=config.limit, val_dir=config.val_dir,
                           validation_split=config.validation_split, seed=config.seed)
    if not config.in_memory:
        if tfdata is None:
            raise ValueError(f"--data {config.data}: reading image files needs TensorFlow "
                             "(pip install tensorflow), or train --in-memory")
        return FileInputs(config, root, train, val, strategy)
    source = augmentation.resize_size(config.image_size)
    return ArrayInputs(config, root, (arrays.load(train, source), train),
                       (arrays.load(val, source), val))


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
    """

    def __init__(self, images: np.ndarray, one_hot: np.ndarray, batch_size: int,
                 shuffle: bool = False, mixup: float = 0.0, cutmix: float = 0.0,
                 seed: int | None = None, workers: int = min(4, os.cpu_count() or 1)):
        super().__init__(workers=workers if shuffle else 1, use_multiprocessing=False)
        self.images, self.one_hot, self.batch_size = images, one_hot, batch_size
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
        if not self.mixers:
            return images, labels
        rng = np.random.default_rng([self.seed, self.epoch, index])
        name = rng.choice(sorted(self.mixers)) if len(self.mixers) > 1 else next(iter(self.mixers))
        return mix(self.mixers[name], images, labels)


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
