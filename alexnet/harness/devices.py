"""How a run uses the machine's devices (``--strategy``); the number format and XLA are
the core's (``training.precision``, ``training.jit_compile``).

Devices: tf.distribute, data-parallel. ``mirrored``: every local GPU (or, with none,
every logical CPU) holds a replica; Keras splits each global batch across them and
all-reduces the gradients. ``multiworker``: ``MultiWorkerMirroredStrategy`` over the
machines ``TF_CONFIG`` names; each worker reads its own shard of the files and the
gradients are all-reduced over the network; only the chief writes the run folder. Batch
sizes are global throughout: ``--batch-size 256`` on 8 replicas is 32 per replica.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable

import tensorflow as tf

from alexnet.data.batches import Squares
from alexnet.harness.shards import ShardSplit
from alexnet.recipes import STRATEGIES


def strategy(name: str | None) -> tf.distribute.Strategy:
    """The strategy for ``--strategy name`` (None: the default, one device).

    Create it before anything else touches TensorFlow: the multi-worker one sets up
    collective communication and must come first.
    """
    if name is not None and name not in STRATEGIES:
        raise ValueError(f"unknown --strategy {name!r}: choose one of {', '.join(STRATEGIES)}")
    if name is None:
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    tf_config_worker()  # a clear error before TensorFlow's
    return _multi_worker_strategy()


def _multi_worker_strategy() -> tf.distribute.Strategy:
    """MultiWorkerMirroredStrategy as Keras 3 needs it.

    Keras 3's TensorFlow trainer calls ``strategy.reduce`` on a whole ``(x, y)`` batch (to
    build the model) and on scalar metrics with ``axis=0``; the collective implementation
    handles neither (keras-team/keras#20585). This reduces nested values one by one and
    scalars without an axis; nothing else changes.
    """
    class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis):
            if tf.nest.is_nested(value):
                return tf.nest.map_structure(lambda v: self.reduce(reduce_op, v, axis), value)
            if axis is not None and self.experimental_local_results(value)[0].shape.rank == 0:
                axis = None
            return super().reduce(reduce_op, value, axis)

    return MultiWorkerMirroredStrategy()


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def tf_config_worker() -> tuple[int, int]:
    """(this task's index, number of tasks) among TF_CONFIG's chief and workers,
    chief first: index 0 is the chief."""
    if not os.environ.get("TF_CONFIG"):
        raise ValueError("--strategy multiworker needs TF_CONFIG (the cluster and this "
                         "worker's task; see docs/reliability.md) in the environment")
    try:
        config = json.loads(os.environ["TF_CONFIG"])
        cluster, task = config["cluster"], (config["task"]["type"], config["task"]["index"])
        tasks = [(kind, i) for kind in ("chief", "worker")
                 for i in range(len(cluster.get(kind, [])))]
        return tasks.index(task), len(tasks)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ValueError("TF_CONFIG must be JSON with a 'cluster' of 'worker' (and optionally "
                         "'chief') addresses and this process's 'task' in it") from None


def worker(strategy: tf.distribute.Strategy) -> tuple[int, int]:
    """(this worker's index, number of workers); (0, 1) outside multi-worker training."""
    return tf_config_worker() if is_multi_worker(strategy) else (0, 1)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """The one process that writes checkpoints, history and plots: the ``chief``
    task if TF_CONFIG has one, else worker 0."""
    return worker(strategy)[0] == 0


def datasets(strategy: tf.distribute.Strategy, global_batch: int,
             make: Callable[[int, int, int], tf.data.Dataset]):
    """A dataset ``fit`` can take under ``strategy``.

    ``make(shard, shards, batch_size)`` builds the pipeline for one shard of the
    data. One worker: a single pipeline batched globally (Keras splits each batch
    across the local replicas). Several workers: each worker builds its own
    shard, batched per replica, so no worker decodes another's images; the shards
    must give every worker the same number of batches (see ``shard``).
    """
    if not is_multi_worker(strategy):
        return make(0, 1, global_batch)

    def per_worker(context: tf.distribute.InputContext) -> tf.data.Dataset:
        return make(context.input_pipeline_id, context.num_input_pipelines,
                    context.get_per_replica_batch_size(global_batch))

    return strategy.distribute_datasets_from_function(per_worker)


def shard(data, index: int, count: int, global_batch: int):
    """Worker ``index`` of ``count``'s share of a split or of decoded squares: every
    ``count``-th image (so every class), cut so that all workers run the same number of
    full steps (a worker with a step more would wait for the others forever)."""
    if count == 1:
        return data
    share = global_batch // count
    size = (len(data) // count) // share * share
    if size == 0:
        raise ValueError(f"{len(data)} images are too few for {count} workers with "
                         f"--batch-size {global_batch}")
    if isinstance(data, Squares):
        return Squares(data.images[index::count][:size], data.labels[index::count][:size],
                       data.split)
    if isinstance(data, ShardSplit):  # TFRecord shards: every count-th file, a share of records
        return dataclasses.replace(data, files=data.files[index::count], records=size)
    return dataclasses.replace(data, files=data.files[index::count][:size],
                               labels=data.labels[index::count][:size])
