"""tf.distribute on CPU: MirroredStrategy over 2 logical CPUs, and 2 worker processes
on 127.0.0.1 under MultiWorkerMirroredStrategy, each compared with one process on the
same global batch. A small model stands in for AlexNet (no dropout or BatchNorm, whose
per-replica randomness and statistics differ by design); the training loop, callbacks,
checkpoints and resume are the project's."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import PROJECT

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "",
       "PYTHONPATH": str(PROJECT)}
ATOL = 1e-5  # float32 sums in another order; observed differences are below 1e-6

# Trains 2 epochs with the run's callbacks, then resumes in a fresh model to 3 epochs;
# saves the final weights and losses. argv: strategy (single|mirrored|multiworker),
# run folder, output .npz.
SCRIPT = '''
import json, sys
import tensorflow as tf
name, run, out = sys.argv[1:]
if name == "mirrored":  # two logical CPUs, before TensorFlow starts
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from alexnet.harness import devices, resume, train
from alexnet.harness.callbacks import run_callbacks
from alexnet.recipes import TrainConfig
strategy = devices.strategy(None if name == "single" else name)
import keras, numpy as np
from pathlib import Path

rng = np.random.default_rng(0)
x = rng.normal(size=(96, 8, 8, 3)).astype("float32")
y = np.eye(6, dtype="float32")[rng.integers(0, 6, 96)]
def make(shard, shards, batch_size):  # worker k of n takes every n-th example
    part = (x[shard::shards], y[shard::shards])
    return tf.data.Dataset.from_tensor_slices(part).batch(batch_size)
data = devices.datasets(strategy, 16, make)
config = TrainConfig(lr=0.05, patience=10, batch_size=16)  # 6 steps an epoch
chief = devices.is_chief(strategy)
write_dir = Path(run) if chief else Path(run + "-scratch-" + str(devices.worker(strategy)[0]))

def fit(epochs):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        net = keras.Sequential([keras.Input((8, 8, 3)),
                                keras.layers.Conv2D(4, 3, activation="relu"),
                                keras.layers.Flatten(),
                                keras.layers.Dense(6, activation="softmax")])
        train.compile_model(train.Run(config, Path(run), write_dir, lock=None, model=net,
                                      strategy=strategy, train_data=range(len(x))))
    history = net.fit(data, validation_data=data, epochs=epochs, verbose=0,
                      initial_epoch=resume.initial_epoch(Path(run), epochs),
                      callbacks=run_callbacks(Path(run), config, write_dir))
    return net, history.history["loss"]

_, losses = fit(2)
# A barrier: once the chief is here it has committed epoch 2, which the others resume from.
strategy.reduce("SUM", strategy.run(lambda: tf.constant(1.0)), axis=None)
net, resumed = fit(3)
np.savez(out, *[np.asarray(w) for w in net.get_weights()], loss=losses + resumed)
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "chief": chief,
                  "iterations": int(net.optimizer.iterations.numpy())}))
'''


def run_script(tmp_path: Path, name: str, run: str, out: str, env: dict | None = None):
    script = tmp_path / "distributed_fit.py"
    script.write_text(SCRIPT)
    return subprocess.Popen([sys.executable, str(script), name, str(tmp_path / run),
                             str(tmp_path / out)], cwd=PROJECT, env=env or ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen) -> dict:
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output[-4000:]
    # The report is the last JSON line: a worker may log after it (e.g. gRPC noise when
    # the chief, which hosts the cluster's coordination service, exits first).
    return json.loads([line for line in output.splitlines() if line.startswith("{")][-1])


def load(path: Path) -> tuple[list[np.ndarray], np.ndarray]:
    saved = np.load(path)
    return [saved[k] for k in saved.files if k != "loss"], saved["loss"]


def check_run(run: Path, epochs: int) -> None:
    state = json.loads((run / "state" / "state.json").read_text())
    assert state["epoch"] == epochs
    assert [row["epoch"] for row in state["history"]] == list(range(epochs))
    assert (run / "history.csv").read_text().count("\n") == epochs + 1
    assert (run / "best.keras").is_file()


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[list[np.ndarray], np.ndarray]:
    """Weights and losses of one process, one device, the same global batch."""
    tmp_path = tmp_path_factory.mktemp("single")
    report = finish(run_script(tmp_path, "single", "single-run", "single.npz"))
    assert report == {"replicas": 1, "chief": True, "iterations": 18}  # 3 epochs of 6 steps
    check_run(tmp_path / "single-run", 3)
    return load(tmp_path / "single.npz")


@pytest.mark.slow
def test_mirrored_two_cpus_matches_one_device(tmp_path, reference):
    mirrored = finish(run_script(tmp_path, "mirrored", "mirrored-run", "mirrored.npz"))
    assert mirrored == {"replicas": 2, "chief": True, "iterations": 18}
    (ref, ref_loss), (weights, loss) = reference, load(tmp_path / "mirrored.npz")
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
    for a, b in zip(weights, ref, strict=True):
        np.testing.assert_allclose(a, b, atol=ATOL)
    check_run(tmp_path / "mirrored-run", 3)


@pytest.mark.slow
def test_two_workers_match_one_process(tmp_path, reference):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = [run_script(tmp_path, "multiworker", "mw-run", f"worker{i}.npz", env={
        **ENV, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker",
                                                                     "index": i}})})
               for i in range(2)]
    reports = [finish(worker) for worker in workers]
    assert [r["chief"] for r in reports] == [True, False]
    assert all(r["replicas"] == 2 and r["iterations"] == 18 for r in reports)
    (w0, loss0), (w1, loss1) = load(tmp_path / "worker0.npz"), load(tmp_path / "worker1.npz")
    ref, ref_loss = reference
    for a, b, c in zip(w0, w1, ref, strict=True):
        np.testing.assert_array_equal(a, b)  # all-reduced: bit-identical on both workers
        np.testing.assert_allclose(a, c, atol=ATOL)
    np.testing.assert_array_equal(loss0, loss1)
    np.testing.assert_allclose(loss0, ref_loss, rtol=1e-5)
    check_run(tmp_path / "mw-run", 3)  # written by the chief; resumed by both workers
    scratch = tmp_path / "mw-run-scratch-1"
    assert json.loads((scratch / "state" / "state.json").read_text())["epoch"] == 3


def test_multiworker_needs_tf_config(monkeypatch, capsys):
    from alexnet.__main__ import main

    monkeypatch.delenv("TF_CONFIG", raising=False)
    for recipe in ([], ["--recipe", "modern"]):  # the CPU's (quick: in memory) and the GPU's
        assert main(["train", *recipe, "--strategy", "multiworker"]) == 2
        assert "--strategy multiworker needs TF_CONFIG" in capsys.readouterr().err


def test_each_worker_gets_its_share_of_files_or_squares():
    """``devices.shard``: worker k of n takes every n-th image (so every class) of a split
    or of decoded squares (--in-memory), cut so that every worker runs the same number of
    full steps; too few images for the workers is one line."""
    from alexnet.data.batches import Squares
    from alexnet.data.splits import Split
    from alexnet.harness import devices

    labels = np.arange(23, dtype="int32") % 3
    split = Split([f"img{i}.jpg" for i in range(23)], labels, ["a", "b", "c"])
    squares = Squares(np.arange(23, dtype="uint8")[:, None, None, None] * np.ones(
        (1, 4, 4, 3), "uint8"), labels, split)
    assert devices.shard(split, 0, 1, 8) is split and devices.shard(squares, 0, 1, 8) is squares
    shares = [devices.shard(split, k, 2, 8) for k in range(2)]
    assert [len(s) for s in shares] == [8, 8]  # 11 each, cut to whole steps of 4 a worker
    assert shares[0].files == [f"img{i}.jpg" for i in range(0, 16, 2)]
    assert shares[1].files == [f"img{i}.jpg" for i in range(1, 16, 2)]
    assert all(s.class_names == split.class_names and set(s.labels) == {0, 1, 2}
               for s in shares)
    in_memory = [devices.shard(squares, k, 2, 8) for k in range(2)]
    for share, files in zip(in_memory, shares, strict=True):
        assert isinstance(share, Squares) and len(share) == 8
        np.testing.assert_array_equal(share.images[:, 0, 0, 0],
                                      [int(f[3:-4]) for f in files.files])
        np.testing.assert_array_equal(share.labels, files.labels)
    with pytest.raises(ValueError, match="23 images are too few for 2 workers with "
                                         "--batch-size 64"):
        devices.shard(split, 0, 2, 64)
