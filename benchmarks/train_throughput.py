"""Training and inference images/s of AlexNet in Keras, against PyTorch on the same machine.

For each variant and batch size this measures, interleaved repetition by repetition
so that a busy machine slows every figure alike:

- Keras training on random tensors already on the device (``synthetic``),
- Keras training fed from Imagenette as a run feeds it (``pipeline``), and that feeding
  alone (``input``): ``--feed arrays`` (the ``quick`` recipe: images decoded once into
  memory, crops cut on the host) or ``--feed files`` (tf.data from the files),
- Keras inference on random tensors (``inference``),
- the same layout in plain PyTorch eager (``torch_train``, ``torch_inference``;
  channels_last, autocast when Keras runs in mixed precision),
- a large matrix multiply (``matmul``: numpy float32 on CPU, torch on CUDA in the
  compute dtype), the roofline the fractions below refer to.

Keras, the PyTorch reference and the matmul probe each run in a process of their own
(this script with ``--worker``; the PyTorch and matmul ones never import TensorFlow), so
that neither framework's thread pools compete with the other's or slow it down, and they
take turns: Keras repetition 1, PyTorch repetition 1, matmul 1, Keras repetition 2, ...;
only one process works at a time while the others wait, idle, for their next turn.
Each answers with its figures as a line of JSON.

Training counts 3 x 2 x MACs FLOPs per image (forward, and two backward products),
inference 2 x MACs. Each figure is the median over ``--repeats``, after ``--warmup``
steps (compilation included there), and ratios are those of the medians; a Keras
repetition is timed from its first step's start to its last step's end, leaving out the
set-up of ``fit``/``predict``. Results, every repetition's figures and the processes'
ids go to a JSON file in ``--out`` (default: $OUT, else benchmarks/results/).

The ``synthetic`` and ``inference`` parts import neither TensorFlow nor the input
pipeline, so they run on a machine with only JAX or PyTorch:
``KERAS_BACKEND=jax python benchmarks/train_throughput.py --parts synthetic inference``.
Run it with ``alexnet`` importable: installed (``pip install -e .``) or with
``PYTHONPATH=<project root>``.
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import functools
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import common  # benchmarks/common.py: this folder is on the path (the script's or pytest's)

# TensorFlow's C++ log lines: quiet unless the user set a level (the workers inherit it).

# Nothing heavy is imported at the top of this file: --help answers at once, and the
# PyTorch and matmul workers (this file too) never load TensorFlow or Keras. Each worker
# imports what it measures with.

PROJECT = Path(__file__).resolve().parent.parent



RESULTS_DIR = common.RESULTS_DIR
PARTS = ("synthetic", "pipeline", "inference")
KINDS = {"synthetic": "train", "pipeline": "train", "torch_train": "train", "input": "input",
         "inference": "inference", "torch_inference": "inference", "matmul": "matmul"}


# ----------------------------------------------------------------- PyTorch reference

def torch_alexnet(variant: str, num_classes: int, image_size: int):
    """The Keras model's layout (model.py) in plain ``torch.nn``, channels first."""
    import torch
    import torch.nn as nn

    batchnorm = variant == "bn"

    def conv(c_in, c_out, kernel, stride=1, padding=0, groups=1):
        layers = [nn.Conv2d(c_in, c_out, kernel, stride, padding, groups=groups,
                            bias=not batchnorm)]
        return layers + ([nn.BatchNorm2d(c_out)] if batchnorm else []) + [nn.ReLU(inplace=True)]

    def dense(n_in, n_out):
        layers = [nn.Dropout(0.5), nn.Linear(n_in, n_out, bias=not batchnorm)]
        return layers + ([nn.BatchNorm1d(n_out)] if batchnorm else []) + [nn.ReLU(inplace=True)]

    if variant == "paper":  # torch's LRN divides alpha by size: 5e-4 / 5 is the paper's 1e-4
        lrn = dict(size=5, alpha=5e-4, beta=0.75, k=2.0)
        features = nn.Sequential(
            *conv(3, 96, 11, 4), nn.LocalResponseNorm(**lrn), nn.MaxPool2d(3, 2),
            *conv(96, 256, 5, padding=2, groups=2), nn.LocalResponseNorm(**lrn),
            nn.MaxPool2d(3, 2), *conv(256, 384, 3, padding=1),
            *conv(384, 384, 3, padding=1, groups=2), *conv(384, 256, 3, padding=1, groups=2),
            nn.MaxPool2d(3, 2), nn.Flatten())
        with torch.no_grad():  # no adaptive pooling here: fc6's width follows the image size
            flat = features(torch.zeros(1, 3, image_size, image_size)).shape[1]
        classifier = [nn.Linear(flat, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
                      nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5)]
    else:
        features = nn.Sequential(
            *conv(3, 64, 11, 4, 2), nn.MaxPool2d(3, 2), *conv(64, 192, 5, padding=2),
            nn.MaxPool2d(3, 2), *conv(192, 384, 3, padding=1), *conv(384, 256, 3, padding=1),
            *conv(256, 256, 3, padding=1), nn.MaxPool2d(3, 2), nn.AdaptiveAvgPool2d(6),
            nn.Flatten())
        classifier = [*dense(9216, 4096), *dense(4096, 4096)]
    return nn.Sequential(*features, *classifier, nn.Linear(4096, num_classes))


class TorchReference:
    """One PyTorch model with the Keras recipe (SGD, momentum, weight decay, cross-entropy)."""

    def __init__(self, variant, num_classes, batch_size, image_size, policy, device):
        import torch

        self.torch, self.device = torch, device
        self.net = torch_alexnet(variant, num_classes, image_size).to(
            device, memory_format=torch.channels_last)
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=0.01, momentum=0.9,
                                         weight_decay=5e-4)
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(batch_size, 3, image_size, image_size, generator=generator).to(
            device, memory_format=torch.channels_last)
        self.y = torch.randint(0, num_classes, (batch_size,), generator=generator).to(device)
        self.dtype = {"mixed_float16": torch.float16, "mixed_bfloat16": torch.bfloat16}.get(policy)
        self.scaler = torch.amp.GradScaler(enabled=self.dtype == torch.float16)

    def _autocast(self):
        return self.torch.autocast(self.device.type, dtype=self.dtype,
                                   enabled=self.dtype is not None)

    def _sync(self):
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()

    def train(self, steps: int) -> float:
        """Seconds for ``steps`` training steps."""
        self.net.train()
        start = time.perf_counter()
        for _ in range(steps):
            self.optimizer.zero_grad(set_to_none=True)
            with self._autocast():
                loss = self.torch.nn.functional.cross_entropy(self.net(self.x), self.y)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        self._sync()
        return time.perf_counter() - start

    def infer(self, steps: int) -> float:
        self.net.eval()
        start = time.perf_counter()
        with self.torch.inference_mode(), self._autocast():
            for _ in range(steps):
                self.net(self.x)
        self._sync()
        return time.perf_counter() - start


# ----------------------------------------------------------------- Keras measurements

def repeat(tensors):
    """An endless generator of the same batch: Keras ``fit``/``predict`` then take
    device tensors as they are, with no copy per step."""
    while True:
        yield tensors


def real_pipeline(root: Path, image_size: int, batch_size: int, num_classes: int,
                  feed: str = "arrays"):
    """The training split of ``root`` as a run feeds it, endlessly, labels padded to
    ``num_classes`` (Imagenette's classes are ImageNet classes): ``arrays``, decoded once
    into memory (``quick``), or ``files``, decoded every epoch; both cropped and flipped
    by the core's augmentation (``basic``) in tf.data."""
    import tensorflow as tf

    from alexnet.data import augment, batches
    from alexnet.harness.shards import open_dataset

    train, _ = open_dataset(root).splits()
    if num_classes < len(train.class_names):
        raise ValueError(f"--classes {num_classes}: {root} has {len(train.class_names)} classes")
    pad = num_classes - len(train.class_names)
    data = batches.decode(train, image_size) if feed == "arrays" else train
    ds = batches.training(data, image_size, batch_size,
                          augment.augmentation("basic", image_size, seed=0), seed=0)
    return ds.map(lambda x, y: (x, tf.pad(y, [[0, 0], [0, pad]]))).repeat()


def consume(dataset, steps: int) -> float:
    """Seconds to draw ``steps`` batches from a tf.data dataset or a PyDataset (the
    feeding alone)."""
    start = time.perf_counter()
    if hasattr(dataset, "take"):
        for _ in dataset.take(steps):
            pass
    else:
        for index in range(steps):
            dataset[index]
    return time.perf_counter() - start


@functools.cache
def _step_timer_class():
    import keras

    class StepTimer(keras.callbacks.Callback):
        """Seconds from the first step's start to the last one's end, so that the set-up
        and tear-down of ``fit``/``predict`` (iterator, callbacks: paid once per epoch
        however long) do not count against a few timed steps."""

        def _begin(self, batch):
            if batch == 0:
                self.start = time.perf_counter()

        def _end(self, result):
            keras.ops.convert_to_numpy(result)  # waits: the backends dispatch asynchronously
            self.seconds = time.perf_counter() - self.start

        def on_train_batch_begin(self, batch, logs=None):
            self._begin(batch)

        def on_train_batch_end(self, batch, logs=None):
            self._end(logs["loss"])

        def on_predict_batch_begin(self, batch, logs=None):
            self._begin(batch)

        def on_predict_batch_end(self, batch, logs=None):
            self._end(logs["outputs"])

    return StepTimer


def step_timer():
    """A new StepTimer: a Keras callback, its class made on first use (it needs Keras)."""
    return _step_timer_class()()


def synthetic_training(net, variant: str, image_size: int, batch_size: int, classes: int):
    """Compiles ``net`` as ``train`` does and returns a function(steps) -> seconds of
    training on one random batch held in memory (the A/B scripts time two models so)."""
    import keras
    import numpy as np

    from alexnet.recipes import TrainConfig
    from alexnet.training import compile_network

    compile_network(net, TrainConfig(variant=variant, image_size=image_size), 1)
    rng = np.random.default_rng(0)
    x = keras.ops.convert_to_tensor(
        rng.standard_normal((batch_size, image_size, image_size, 3), dtype=np.float32))
    y = keras.ops.one_hot(keras.ops.convert_to_tensor(np.arange(batch_size) % classes), classes)

    def train(steps: int) -> float:
        timer = step_timer()
        net.fit(repeat((x, y)), steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False,
                callbacks=[timer])
        return timer.seconds

    return train


def keras_info(policy: str, jit_compile, on_gpu: bool) -> dict:
    """Keras, its backend and the device, for the JSON record (in the Keras process)."""
    import keras

    from alexnet import training

    machine = training.machine()
    info = {"keras": keras.__version__, "keras_backend": keras.backend.backend(),
            "precision": policy, "jit_compile": str(jit_compile),
            "device": machine["gpu"] or f"{machine['cpu']}, {machine['threads']} cores"}
    if on_gpu:  # alexnet.report labels GPU figures with it
        info["gpu"] = info["device"]
    for name in ("tensorflow", "jax"):
        module = sys.modules.get(name)
        if module is not None:
            info[name] = module.__version__
    if sys.modules.get("tensorflow"):  # alexnet turns its oneDNN kernels on (__init__.py)
        info["TF_ENABLE_ONEDNN_OPTS"] = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    return info


def per_second(batch_size: int, seconds):
    """function(steps) -> images/s, of one that times ``steps`` steps of a batch."""
    return lambda steps: batch_size * steps / seconds(steps)


def keras_worker(spec: dict):
    """The Keras parts of one configuration: ({name: function(steps) -> images/s},
    what the parent needs to know: the policy, the device, FLOPs per image)."""
    import alexnet  # noqa: F401, I001  first: how TensorFlow loads (alexnet/__init__.py)
    import keras

    if "pipeline" in spec["parts"]:
        import tensorflow  # noqa: F401  (tf.data; Keras may run on another backend)
    import numpy as np

    from alexnet import training
    from alexnet.models.alexnet import build
    from alexnet.models.summary import count_macs
    from alexnet.recipes import TrainConfig
    from alexnet.training import compile_network

    variant, batch_size, image_size = spec["variant"], spec["batch_size"], spec["image_size"]
    classes = spec["classes"]
    policy = training.precision(spec["precision"])
    keras.mixed_precision.set_global_policy(policy)
    on_gpu = training.gpu_capability() is not None
    net = build(variant, classes, image_size)
    compile_network(net, TrainConfig(variant=variant, image_size=image_size,
                                     jit_compile=spec["jit_compile"]), 1)  # the default recipe
    rng = np.random.default_rng(0)
    x = keras.ops.convert_to_tensor(
        rng.uniform(0, 255, (batch_size, image_size, image_size, 3)).astype(np.float32))
    y = keras.ops.one_hot(keras.ops.convert_to_tensor(np.arange(batch_size) % classes), classes)

    def train_on(dataset):
        def train(n: int) -> float:
            timer = step_timer()
            net.fit(dataset, steps_per_epoch=n, epochs=1, verbose=0, shuffle=False,
                    callbacks=[timer])
            return timer.seconds
        return train

    def infer(n: int) -> float:
        timer = step_timer()
        net.predict(repeat((x,)), steps=n, verbose=0, callbacks=[timer])
        return timer.seconds

    parts = {}
    if "synthetic" in spec["parts"]:
        parts["synthetic"] = per_second(batch_size, train_on(repeat((x, y))))
    if "pipeline" in spec["parts"]:
        dataset = real_pipeline(Path(spec["data"]), image_size, batch_size, classes,
                                spec.get("feed", "arrays"))
        parts["input"] = per_second(batch_size, lambda n: consume(dataset, n))
        parts["pipeline"] = per_second(batch_size, train_on(dataset))
    if "inference" in spec["parts"]:
        parts["inference"] = per_second(batch_size, infer)
    jit_compile = training.jit_compile(spec["jit_compile"])
    ready = {"policy": policy, "on_gpu": on_gpu, "jit_compile": net.jit_compile,
             "train_flops": 6 * count_macs(net),
             "info": keras_info(policy, jit_compile, on_gpu)}
    return parts, ready


def torch_worker(spec: dict):
    """The PyTorch reference of one configuration: (parts, ready), as ``keras_worker``'s.
    No TensorFlow here."""
    import torch

    device = torch.device("cuda" if spec["on_gpu"] else "cpu")
    reference = TorchReference(spec["variant"], spec["classes"], spec["batch_size"],
                               spec["image_size"], spec["policy"], device)
    parts = {}
    if spec["train"]:
        parts["torch_train"] = per_second(spec["batch_size"], reference.train)
    if spec["inference"]:
        parts["torch_inference"] = per_second(spec["batch_size"], reference.infer)
    info = {"torch": torch.__version__, "device": str(device),
            "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads()}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
    return parts, {"info": info}


def matmul_seconds(flop_target: float, policy: str, on_gpu: bool) -> tuple[float, float]:
    """(FLOPs, seconds) of square matrix multiplies: numpy float32 on CPU; on a GPU,
    torch in the compute dtype."""
    if on_gpu:
        import torch

        dtype = {"mixed_float16": torch.float16,
                 "mixed_bfloat16": torch.bfloat16}.get(policy, torch.float32)
        n, reps = 8192, 20
        a = torch.randn(n, n, device="cuda", dtype=dtype)
        b = torch.randn(n, n, device="cuda", dtype=dtype)
        a @ b  # warm-up: cuBLAS picks its kernel
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(reps):
            a @ b
        torch.cuda.synchronize()
        return 2 * n**3 * reps, time.perf_counter() - start
    import numpy as np

    n = 2048
    reps = max(1, round(flop_target / (2 * n**3)))
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, n, n), dtype=np.float32)
    a @ b  # warm-up: thread pool start
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps, time.perf_counter() - start


def matmul_worker(spec: dict):
    """The roofline probe: (parts, ready), as ``keras_worker``'s, but its figure is FLOP/s."""
    import numpy as np

    def probe(_steps: int) -> float:
        flops, seconds = matmul_seconds(spec["flop_target"], spec["policy"], spec["on_gpu"])
        return flops / seconds

    info = {"library": "torch" if spec["on_gpu"] else "numpy", "numpy": np.__version__}
    return {"matmul": probe}, {"info": info}


WORKERS = {"keras": keras_worker, "torch": torch_worker, "matmul": matmul_worker}


def worker(kind: str, spec_json: str) -> None:
    """A worker process: sets up ``kind``'s parts, warms them up, answers "ready", then
    measures one repetition per line it reads, answering each with a line of JSON on its
    stdout (what else it prints goes to stderr), until its stdin closes."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints (libraries) to stderr: stdout carries only the answers

    def answer(message: dict) -> None:
        answers.write(json.dumps(message) + "\n")

    spec = json.loads(spec_json)
    try:
        parts, ready = WORKERS[kind](spec)
        warmup_s = {}
        for name, function in parts.items():
            if spec["warmup"]:  # compilation, thread pools, cuBLAS's choice of kernel
                start = time.perf_counter()
                function(spec["warmup"])
                warmup_s[name] = round(time.perf_counter() - start, 2)
        answer({"pid": os.getpid(), "warmup_s": warmup_s, **ready})
        for _ in sys.stdin:
            answer({"figures": {name: function(spec["steps"]) for name, function in parts.items()}})
    except Exception as error:
        answer({"error": str(error), "type": type(error).__name__})
        if isinstance(error, OSError | ValueError):  # a missing file, a bad setting: the
            sys.exit(2)                               # parent says it in one line
        raise


# ----------------------------------------------------------------- the parent process

class Worker:
    """A worker process seen from the parent: started with ``spec``, ready once it has
    set up and warmed up; ``measure()`` runs one repetition there."""

    def __init__(self, kind: str, spec: dict, env: dict):
        self.kind, start = kind, time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", kind, json.dumps(spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        try:
            self.ready = self._answer()
        except BaseException:
            self.close()
            raise
        self.ready["startup_s"] = round(time.perf_counter() - start, 1)

    def _answer(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.kind} worker ended (exit status "
                               f"{self.process.wait()}) without answering; see its output above")
        message = json.loads(line)
        if "error" in message:  # a bad setting or a missing file stays that kind of error
            error = getattr(builtins, message["type"], None)
            if not (isinstance(error, type) and issubclass(error, Exception)):
                error = RuntimeError
            raise error(f"{self.kind} worker: {message['error']}")
        return message

    def measure(self) -> dict:
        """One repetition: {name: images/s (FLOP/s for matmul)}."""
        with contextlib.suppress(BrokenPipeError):  # a dead worker: _answer says so
            self.process.stdin.write("measure\n")
            self.process.stdin.flush()
        return self._answer()["figures"]

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def worker_env() -> dict:
    """The workers' environment: this one, where ``alexnet`` is importable as it is here
    (a source checkout not on PYTHONPATH, as under pytest, goes on their PYTHONPATH)."""
    spec = importlib.util.find_spec("alexnet")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("No module named 'alexnet': install the project "
                                  "(pip install -e .) or run with PYTHONPATH=<project root>")
    env, root = dict(os.environ), str(Path(spec.origin).resolve().parent.parent)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root == str(PROJECT) and root not in paths:
        env["PYTHONPATH"] = os.pathsep.join([root, *paths])
    return env


def bench_config(variant, batch_size, image_size, args, root, env, info: dict) -> dict:
    """All figures for one variant and batch size; ``info`` gathers the workers' own."""
    spec = {"variant": variant, "batch_size": batch_size, "image_size": image_size,
            "classes": args.classes, "parts": args.parts, "data": str(root) if root else None,
            "precision": args.precision, "jit_compile": args.jit_compile,
            "warmup": args.warmup, "steps": args.steps, "feed": args.feed}
    with contextlib.ExitStack() as stack:
        workers = {}

        def start(kind: str, worker_spec: dict, about: str) -> dict:
            workers[kind] = stack.enter_context(Worker(kind, worker_spec, env))
            ready = workers[kind].ready
            warmups = ", ".join(f"{n} {s:.1f} s" for n, s in ready["warmup_s"].items())
            print(f"  {kind} process {ready['pid']} ({about.format(**ready)}) ready in "
                  f"{ready['startup_s']} s" + (f"; warm-up {warmups}" if warmups else ""),
                  flush=True)
            return ready

        keras_ready = start("keras", spec, "{info[keras_backend]}, {policy}, "
                            "jit_compile={jit_compile}")
        info.update(keras_ready["info"])
        shared = {**spec, "policy": keras_ready["policy"], "on_gpu": keras_ready["on_gpu"]}
        train = "synthetic" in args.parts or "pipeline" in args.parts
        if args.reference and (train or "inference" in args.parts):
            torch_ready = start("torch", {**shared, "train": train,
                                          "inference": "inference" in args.parts},
                                "torch {info[torch]} on {info[device]}, {info[threads]} threads")
            info["torch"] = torch_ready["info"]["torch"]
        flop_target = keras_ready["train_flops"] * batch_size * args.steps / 10
        start("matmul", {**shared, "flop_target": flop_target}, "{info[library]}")

        runs = {}
        for r in range(args.repeats):
            for w in workers.values():  # one process at a time, the others wait
                for name, value in w.measure().items():
                    runs.setdefault(name, []).append(value)
            print(f"  round {r + 1}/{args.repeats}: " + ", ".join(
                f"{n} {v[-1] / 1e9:.0f} GFLOP/s" if n == "matmul" else f"{n} {v[-1]:.1f}"
                for n, v in runs.items()), flush=True)

    train_flops = keras_ready["train_flops"]
    flops_per_image = {"train": train_flops, "inference": train_flops / 3}
    medians = {name: statistics.median(values) for name, values in runs.items()}
    result = {"variant": variant, "batch_size": batch_size, "image_size": image_size,
              "jit_compile": keras_ready["jit_compile"],
              "train_gflop_per_image": train_flops / 1e9,
              "images_per_s": medians, "runs": runs, "vs_torch": {}, "roofline_fraction": {},
              "processes": {kind: {"pid": w.ready["pid"], "startup_s": w.ready["startup_s"],
                                   "warmup_s": w.ready["warmup_s"]}
                            for kind, w in workers.items()},
              "order": "each repetition: " + ", then ".join(workers) + ", one at a time",
              "reference": None}
    if "torch" in workers:
        result["reference"] = {"process": "separate", "pid": workers["torch"].ready["pid"],
                               **workers["torch"].ready["info"]}
    for name in medians:
        kind = KINDS[name]
        if kind in flops_per_image:
            result["roofline_fraction"][name] = (
                medians[name] * flops_per_image[kind] / medians["matmul"])
            reference_name = f"torch_{kind}"
            if reference_name in medians and name != reference_name:
                result["vs_torch"][name] = medians[name] / medians[reference_name]
    return result


def report(result: dict) -> str:
    lines = [f"{result['variant']} {result['image_size']} px, batch {result['batch_size']}: "
             f"matmul {result['images_per_s']['matmul'] / 1e9:.0f} GFLOP/s"]
    for name, value in result["images_per_s"].items():
        if name == "matmul":
            continue
        ratio = result["vs_torch"].get(name)
        roof = result["roofline_fraction"].get(name)
        lines.append(f"  {name:16s} {value:10.1f} img/s"
                     + (f"  {ratio:5.2f}x torch" if ratio else " " * 14)
                     + (f"  {roof:6.1%} of matmul roofline" if roof is not None else ""))
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", nargs="+", choices=common.VARIANTS,
                        default=list(common.VARIANTS))
    parser.add_argument("--batch-size", nargs="+", type=int, default=[64, 128])
    parser.add_argument("--image-size", type=int, help="default: the variant's (224; paper 227)")
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--data", help="dataset for the pipeline part (default: as "
                        "alexnet.data.datasets.locate finds imagenette, never downloading)")
    parser.add_argument("--feed", choices=("arrays", "files"), default="arrays",
                        help="how the pipeline part reads the data: arrays (decoded once "
                             "into memory, the quick recipe's) or files (tf.data)")
    parser.add_argument("--precision", choices=common.PRECISIONS, default="auto")
    parser.add_argument("--jit-compile", choices=common.JIT_COMPILE, default="auto")
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="skip the PyTorch reference")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps (compilation)")
    parser.add_argument("--steps", type=int, default=3, help="steps per timed repetition")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--time-budget", type=float, help="seconds; configurations that "
                        "would start after it are skipped (and listed as skipped)")
    parser.add_argument("--out", help="folder for the JSON file (default: $OUT, else "
                        "benchmarks/results/)")
    parser.add_argument("--name", help="JSON file name (default: train_throughput-"
                        "<backend>-<cpu|gpu>-<UTC time>.json)")
    args = parser.parse_args(argv)
    for flag, least in (("batch_size", 1), ("warmup", 0), ("steps", 1), ("repeats", 1),
                        ("classes", 1)):
        values = getattr(args, flag)
        if min(values if isinstance(values, list) else [values]) < least:
            parser.error(f"--{flag.replace('_', '-')} must be at least {least}")
    return args


def main(argv=None) -> Path:
    args = parse_args(argv)
    env = worker_env()
    root = None
    if "pipeline" in args.parts:
        from alexnet.data import datasets  # no Keras, no TensorFlow

        root = datasets.locate(args.data, download=False)
    started = time.time()
    out = Path(args.out or os.environ.get("OUT") or RESULTS_DIR)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    record = {"command": " ".join(["python", *sys.argv] if argv is None
                                  else ["train_throughput.py", *argv]),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "settings": {k: v for k, v in vars(args).items() if k not in ("out", "name")},
              "data": str(root) if root else None, "results": [], "skipped": []}
    info = {}  # what the workers say of Keras, its backend and device, and PyTorch
    try:
        for variant in args.variant:
            image_size = args.image_size or common.DEFAULT_IMAGE_SIZE[variant]
            for batch_size in args.batch_size:
                if args.time_budget and time.time() - started > args.time_budget:
                    record["skipped"].append({"variant": variant, "batch_size": batch_size,
                                              "reason": "time budget spent"})
                    print(f"skipped {variant} batch {batch_size}: time budget spent")
                    continue
                print(f"{variant} {image_size} px, batch {batch_size} "
                      f"(precision {args.precision}, jit_compile={args.jit_compile}, "
                      f"{time.time() - started:.0f} s so far)", flush=True)
                result = bench_config(variant, batch_size, image_size, args, root, env, info)
                record["results"].append(result)
                print(report(result), flush=True)
    except Exception as error:
        record["error"] = f"{type(error).__name__}: {error}"
        raise
    finally:
        record["machine"] = {**common.host_info(), **info}
        record["seconds"] = round(time.time() - started, 1)
        path = out / (args.name or f"train_throughput-{info.get('keras_backend', 'unknown')}-"
                      f"{'gpu' if 'gpu' in info else 'cpu'}-{stamp}.json")
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2) + "\n")
        print(f"Wrote {path}")
    return path


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:  # a measuring process started by main()
        worker(*sys.argv[2:4])
        sys.exit(0)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `timeout`: still write the JSON
    try:
        main()
    except (OSError, ValueError, ImportError) as error:  # a missing dataset, a bad setting
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
