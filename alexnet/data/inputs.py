"""A run's inputs, one object per source with one interface, made from plain arguments.

- ``FileInputs``: images on disk (or TFRecord shards), decoded and augmented on the host
  by tf.data (pipeline.py).
- ``ArrayInputs``: the whole dataset decoded once into uint8 arrays (arrays.py); the
  training model crops them on the accelerator behind ``augment.Augment``.

``make_inputs`` chooses: in memory where asked and the decoded images fit, else files.
Both give ``train_batches(seed)`` and ``val_batches()`` for ``fit``, and for evaluating
the bare network (raw pixels in, as ``best.keras`` takes them) ``eval_batches()`` (centre
crops) and ``ten_crop_batches()`` (``(B, 10, S, S, 3)``: the paper's ten crops).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import keras
import numpy as np
from keras import ops

from alexnet.data import arrays, ondevice
from alexnet.data.augment import Augment, lookup, resize_size, ten_crops
from alexnet.data.splits import Split
from alexnet.training import devices

try:  # files are read by TensorFlow; machines that train from arrays (JAX) may lack it
    from alexnet.data import pipeline
except ModuleNotFoundError as missing:
    if missing.name != "tensorflow":
        raise
    pipeline = None


class FileInputs:
    """Files through tf.data; under a tf.distribute ``strategy`` each worker reads its own
    share of the files. ``train`` may be None where only evaluation is wanted."""

    def __init__(self, root: Path, train: Split | None, val: Split, image_size: int,
                 batch_size: int, augmentation: str = "basic", cache: bool = False,
                 strategy=None):
        if pipeline is None:
            raise ValueError(f"{root}: reading image files needs TensorFlow (pip install "
                             "tensorflow), or train --in-memory")
        self.root, self.train, self.val, self.strategy = root, train, val, strategy
        self.image_size, self.batch_size = image_size, batch_size
        self.augmentation, self.cache = augmentation, cache
        self.class_names = val.class_names
        self.val_batch_size = batch_size
        # ten crops an image: a tenth of the batch size keeps a batch's memory the same
        self.ten_crop_batch_size = max(1, batch_size // 10)

    def _batches(self, split: Split, training: bool, batch_size: int, seed=None,
                 ten_crop: bool = False):
        return pipeline.batches(split, self.image_size, batch_size, training=training,
                                seed=seed, cache=self.cache and not ten_crop,
                                augmentation=self.augmentation, ten_crop=ten_crop)

    def _sharded(self, split: Split, training: bool, seed=None):
        def make(shard: int, shards: int, batch_size: int):
            part = devices.shard(split, shard, shards, self.batch_size)
            left_out = len(split) - shards * len(part)
            if left_out and shard == 0:
                print(f"{left_out} of {len(split)} {'training' if training else 'validation'} "
                      f"images left out so that all {shards} workers take the same steps")
            return self._batches(part, training, batch_size, seed)
        return devices.datasets(self.strategy, self.batch_size, make)

    def train_batches(self, seed: int | None = None):
        if self.strategy is not None:
            return self._sharded(self.train, True, seed)
        return self._batches(self.train, True, self.batch_size, seed)

    def val_batches(self):
        if self.strategy is not None:
            return self._sharded(self.val, False)
        return self.eval_batches()

    def eval_batches(self):
        """All validation images in this process (the multi-worker chief evaluates alone)."""
        return self._batches(self.val, False, self.val_batch_size)

    def ten_crop_batches(self):
        return self._batches(self.val, False, self.ten_crop_batch_size, ten_crop=True)

    def examples(self, count: int, training: bool) -> tuple[np.ndarray, np.ndarray]:
        """``count`` images spread over the classes as training (augmented) or evaluation
        sees them (0-255), and their labels: for plots."""
        return pipeline.examples(self.train if training else self.val, self.image_size,
                                 count, training, self.augmentation)

    def eval_images(self, rows: np.ndarray) -> np.ndarray:
        """The centre crops (uint8) of the validation images at ``rows``, in that order."""
        split = dataclasses.replace(self.val, files=[self.val.files[r] for r in rows],
                                    labels=self.val.labels[rows])
        return pipeline.examples(split, self.image_size, len(rows), False)[0]


class ArrayInputs:
    """uint8 squares in memory; cropping, flipping and mixing happen on the device."""

    def __init__(self, root: Path, train: tuple[np.ndarray, Split],
                 val: tuple[np.ndarray, Split], image_size: int, batch_size: int,
                 augmentation: str = "basic", mixup: float = 0.0, cutmix: float = 0.0):
        self.root = root
        (self.train_images, self.train), (self.val_images, self.val) = train, val
        self.image_size, self.batch_size, self.augmentation = image_size, batch_size, augmentation
        self.mixup, self.cutmix = mixup, cutmix
        spec = lookup(augmentation)
        # squares cut and flipped here (plain slices); other augmentations by the model's
        # Augment layer on the device
        self.host_crops = spec.crop in ("square", "centre") and not spec.lighting
        self.crops = dict(crop=image_size, random_crop=spec.crop == "square",
                          flip=spec.flip) if self.host_crops else {}
        self.class_names = self.train.class_names
        self.val_batch_size = batch_size * 2  # inference holds no gradients
        self.ten_crop_batch_size = max(1, batch_size // 10)

    def _one_hot(self, split: Split) -> np.ndarray:
        return keras.utils.to_categorical(split.labels, len(self.class_names))

    def train_batches(self, seed: int | None = None) -> ondevice.ArrayBatches:
        return ondevice.ArrayBatches(self.train_images, self._one_hot(self.train),
                                     self.batch_size, shuffle=True, mixup=self.mixup,
                                     cutmix=self.cutmix, seed=seed, **self.crops)

    def val_batches(self) -> ondevice.ArrayBatches:
        """Centre crops for the bare network, or uint8 squares for the training model
        behind ``Augment`` (which takes the centre crop itself)."""
        crop = {"crop": self.image_size} if self.host_crops else {}
        return ondevice.ArrayBatches(self.val_images, self._one_hot(self.val),
                                     self.val_batch_size, **crop)

    def _crops(self, step: int, ten: bool):
        labels = self._one_hot(self.val)
        for i in range(0, len(self.val_images), step):
            crops = ten_crops(self.val_images[i:i + step], self.image_size)
            yield (crops if ten else crops[:, 4]), labels[i:i + step]  # 4: the centre

    def eval_batches(self):
        return self._crops(self.val_batch_size, ten=False)

    def ten_crop_batches(self):
        return self._crops(self.ten_crop_batch_size, ten=True)

    def examples(self, count: int, training: bool) -> tuple[np.ndarray, np.ndarray]:
        """As ``FileInputs.examples``, cropped as training crops them."""
        split, images = (self.train, self.train_images) if training else (self.val,
                                                                           self.val_images)
        rows = np.linspace(0, len(split) - 1, min(count, len(split))).astype(int)
        if self.host_crops:
            crops = self.crops if training else {"crop": self.image_size}
            batch = ondevice.ArrayBatches(images[rows], np.zeros((len(rows), 1)), len(rows),
                                          seed=0, **crops)
            return batch[0][0], split.labels[rows]
        augment = Augment(self.image_size, self.augmentation)
        return ops.convert_to_numpy(augment(images[rows], training=training)), split.labels[rows]

    def eval_images(self, rows: np.ndarray) -> np.ndarray:
        """The centre crops (uint8) of the validation images at ``rows``, in that order."""
        crops = ten_crops(self.val_images[np.asarray(rows)], self.image_size)[:, 4]
        return np.clip(ops.convert_to_numpy(crops), 0, 255).astype("uint8")


def make_inputs(root: Path, train: Split | tuple[np.ndarray, Split],
                val: Split | tuple[np.ndarray, Split], image_size: int, batch_size: int,
                augmentation: str = "basic", in_memory: bool = False, cache: bool = False,
                mixup: float = 0.0, cutmix: float = 0.0, strategy=None
                ) -> FileInputs | ArrayInputs:
    """A run's inputs: ``ArrayInputs`` for images already decoded (``(images, split)``,
    a pack's) or, with ``in_memory``, decoded now (arrays.py) where they fit in memory;
    else ``FileInputs``, ``cache``d where the decoded images fit."""
    if isinstance(train, tuple):
        return ArrayInputs(root, train, val, image_size, batch_size, augmentation, mixup, cutmix)
    images = len(train) + len(val)
    if in_memory and fits_in_memory(image_size, images, "--in-memory"):
        side = resize_size(image_size)
        return ArrayInputs(root, (arrays.load(train, side), train), (arrays.load(val, side), val),
                           image_size, batch_size, augmentation, mixup, cutmix)
    cache = cache and fits_in_memory(image_size, images, "--cache")
    return FileInputs(root, train, val, image_size, batch_size, augmentation, cache, strategy)


def fits_in_memory(image_size: int, images: int, setting: str) -> bool:
    """Whether ``images`` decoded for ``image_size`` crops (about 1.3 x side^2 x 3 bytes
    each at the side the crops are taken from) take under half the memory available;
    if not, it says so, and the files are read every epoch instead."""
    need = images * 1.3 * 3 * resize_size(image_size) ** 2
    available = available_memory()
    if need < available / 2:
        return True
    print(f"{setting} left out: the decoded images would take about {need / 1e9:.1f} GB of "
          f"the {available / 1e9:.1f} GB available; each epoch reads the files")
    return False


def available_memory() -> int:
    """Bytes of memory available for new data (Linux: MemAvailable, which counts the page
    cache that can be given back; elsewhere all physical memory)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
