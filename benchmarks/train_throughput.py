"""Training and inference images/s of AlexNet in Keras, against PyTorch in the same run.

For each variant and batch size this measures, interleaved repetition by repetition
so that a busy machine slows every figure alike:

- Keras training on random tensors already on the device (``synthetic``),
- Keras training fed by the real tf.data pipeline from Imagenette (``pipeline``),
  and that pipeline alone (``input``),
- Keras inference on random tensors (``inference``),
- the same layout in plain PyTorch eager (``torch_train``, ``torch_inference``;
  channels_last, autocast when Keras runs in mixed precision),
- a large matrix multiply (``matmul``: numpy float32 on CPU, torch on CUDA in the
  compute dtype), the roofline the fractions below refer to.

Training counts 3 x 2 x MACs FLOPs per image (forward, and two backward products),
inference 2 x MACs. Each figure is the median over ``--repeats``, after
``--warmup`` steps (compilation included there); a Keras repetition is timed from its
first step's start to its last step's end, leaving out the set-up of ``fit``/``predict``.
Results go to a JSON file in ``--out`` (default: $OUT, else benchmarks/results/).

The ``synthetic`` and ``inference`` parts import neither TensorFlow nor the input
pipeline, so they run on a machine with only JAX or PyTorch:
``KERAS_BACKEND=jax python benchmarks/train_throughput.py --parts synthetic inference``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import alexnet  # noqa: E402, F401, I001  first: turns on TensorFlow's oneDNN kernels
import keras  # noqa: E402

from alexnet import data, model, precision  # noqa: E402
from alexnet.train import TrainConfig, compile_model  # noqa: E402

PARTS = ("synthetic", "pipeline", "inference")
RESULTS_DIR = Path(__file__).resolve().parent / "results"


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


# ----------------------------------------------------------------- measurements

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
    n = 2048
    reps = max(1, round(flop_target / (2 * n**3)))
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, n, n), dtype=np.float32)
    a @ b  # warm-up: thread pool start
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps, time.perf_counter() - start


def repeat(tensors):
    """An endless generator of the same batch: Keras ``fit``/``predict`` then take
    device tensors as they are, with no copy per step."""
    while True:
        yield tensors


def real_pipeline(root: Path, image_size: int, batch_size: int, num_classes: int):
    """The training split of ``root`` through alexnet.pipeline, labels padded to
    ``num_classes`` (Imagenette's classes are ImageNet classes)."""
    import tensorflow as tf

    from alexnet import pipeline

    split = data.list_split(root, "train")
    if num_classes < len(split.class_names):
        raise ValueError(f"--classes {num_classes}: {root} has {len(split.class_names)} classes")
    pad = num_classes - len(split.class_names)
    ds = pipeline.batches(split, image_size, batch_size, training=True, seed=0)
    return ds.map(lambda x, y: (x, tf.pad(y, [[0, 0], [0, pad]]))).repeat()


def consume(dataset, steps: int) -> float:
    """Seconds to draw ``steps`` batches from a tf.data dataset (the pipeline alone)."""
    start = time.perf_counter()
    for _ in dataset.take(steps):
        pass
    return time.perf_counter() - start


class StepTimer(keras.callbacks.Callback):
    """Seconds from the first step's start to the last one's end, so that the set-up and
    tear-down of ``fit``/``predict`` (iterator, callbacks: paid once per epoch however
    long) do not count against a few timed steps."""

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


def bench_config(variant, batch_size, image_size, args, policy, on_gpu, root) -> dict:
    """All figures for one variant and batch size."""
    classes, steps, warmup = args.classes, args.steps, args.warmup
    net = model.build(variant, classes, image_size)
    compile_model(net, TrainConfig(variant=variant, image_size=image_size,
                                   jit_compile=args.jit_compile))  # the default recipe
    train_flops = 6 * model.count_macs(net)
    rng = np.random.default_rng(0)
    x = keras.ops.convert_to_tensor(
        rng.standard_normal((batch_size, image_size, image_size, 3), dtype=np.float32))
    y = keras.ops.one_hot(keras.ops.convert_to_tensor(np.arange(batch_size) % classes), classes)

    def train_on(dataset):
        def train(n: int) -> float:
            timer = StepTimer()
            net.fit(dataset, steps_per_epoch=n, epochs=1, verbose=0, shuffle=False,
                    callbacks=[timer])
            return timer.seconds
        return train

    def infer(n: int) -> float:
        timer = StepTimer()
        net.predict(repeat((x,)), steps=n, verbose=0, callbacks=[timer])
        return timer.seconds

    # Each entry: (name, kind, function(steps) -> seconds); kind: train|inference|input|matmul.
    parts = []
    if "synthetic" in args.parts:
        parts.append(("synthetic", "train", train_on(repeat((x, y)))))
    if "pipeline" in args.parts:
        dataset = real_pipeline(root, image_size, batch_size, classes)
        parts.append(("input", "input", lambda n: consume(dataset, n)))
        parts.append(("pipeline", "train", train_on(dataset)))
    if "inference" in args.parts:
        parts.append(("inference", "inference", infer))
    if args.reference:
        import torch

        reference = TorchReference(variant, classes, batch_size, image_size, policy,
                                   torch.device("cuda" if on_gpu else "cpu"))
        if any(kind == "train" for _, kind, _ in parts):
            parts.append(("torch_train", "train", reference.train))
        if "inference" in args.parts:
            parts.append(("torch_inference", "inference", reference.infer))
    parts.append(("matmul", "matmul", None))

    flops_per_image = {"train": train_flops, "inference": train_flops / 3}
    runs = {name: [] for name, _, _ in parts}
    for name, _, function in parts:
        if function is not None and warmup:
            start = time.perf_counter()
            function(warmup)
            compile_s = time.perf_counter() - start
            print(f"  warm-up {name}: {compile_s:.1f} s", flush=True)
    for r in range(args.repeats):
        for name, kind, function in parts:
            if kind == "matmul":  # measured each round, so it sees the same load
                flops, seconds = matmul_seconds(train_flops * batch_size * steps / 10, policy,
                                                on_gpu)
                runs[name].append(flops / seconds)
            else:
                runs[name].append(batch_size * steps / function(steps))
        print(f"  round {r + 1}/{args.repeats}: " + ", ".join(
            f"{n} {v[-1] / 1e9:.0f} GFLOP/s" if n == "matmul" else f"{n} {v[-1]:.1f}"
            for n, v in runs.items()), flush=True)

    medians = {name: statistics.median(values) for name, values in runs.items()}
    result = {"variant": variant, "batch_size": batch_size, "image_size": image_size,
              "jit_compile": net.jit_compile,
              "train_gflop_per_image": train_flops / 1e9,
              "images_per_s": medians, "runs": runs, "vs_torch": {}, "roofline_fraction": {}}
    for name, kind, _ in parts:
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


def machine(on_gpu: bool, policy: str, jit_compile) -> dict:
    info = {"platform": platform.platform(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "keras": keras.__version__, "keras_backend": keras.backend.backend(),
            "precision": policy, "jit_compile": str(jit_compile)}
    try:
        info["load_average"] = os.getloadavg()
    except OSError:
        pass
    for name in ("tensorflow", "jax", "torch"):
        module = sys.modules.get(name)
        if module is not None:
            info[name] = module.__version__
    if "tensorflow" in sys.modules:  # alexnet turns its oneDNN kernels on (alexnet/__init__.py)
        info["TF_ENABLE_ONEDNN_OPTS"] = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    if on_gpu:
        import torch

        info["gpu"] = torch.cuda.get_device_name() if torch.cuda.is_available() else "unknown"
    return info


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", nargs="+", choices=model.VARIANTS,
                        default=list(model.VARIANTS))
    parser.add_argument("--batch-size", nargs="+", type=int, default=[64, 128])
    parser.add_argument("--image-size", type=int, help="default: the variant's (224; paper 227)")
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--data", help="dataset for the pipeline part (default: as "
                        "alexnet.data.locate finds imagenette, never downloading)")
    parser.add_argument("--precision", choices=precision.PRECISIONS, default="auto")
    parser.add_argument("--jit-compile", choices=precision.JIT_COMPILE, default="auto")
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
    root = data.locate(args.data, download=False) if "pipeline" in args.parts else None
    started = time.time()
    previous_policy = keras.mixed_precision.global_policy().name
    policy = precision.set_precision(args.precision)
    on_gpu = precision.gpu_capability() is not None
    out = Path(args.out or os.environ.get("OUT") or RESULTS_DIR)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = out / (args.name or f"train_throughput-{keras.backend.backend()}-"
                  f"{'gpu' if on_gpu else 'cpu'}-{stamp}.json")
    record = {"command": " ".join(["python", *sys.argv] if argv is None
                                  else ["train_throughput.py", *argv]),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "settings": {k: v for k, v in vars(args).items() if k not in ("out", "name")},
              "data": str(root) if root else None, "results": [], "skipped": []}
    try:
        for variant in args.variant:
            image_size = args.image_size or model.DEFAULT_IMAGE_SIZE[variant]
            for batch_size in args.batch_size:
                if args.time_budget and time.time() - started > args.time_budget:
                    record["skipped"].append({"variant": variant, "batch_size": batch_size,
                                              "reason": "time budget spent"})
                    print(f"skipped {variant} batch {batch_size}: time budget spent")
                    continue
                print(f"{variant} {image_size} px, batch {batch_size} "
                      f"({keras.backend.backend()}, {policy}, jit_compile={args.jit_compile}, "
                      f"{time.time() - started:.0f} s so far)", flush=True)
                result = bench_config(variant, batch_size, image_size, args, policy, on_gpu,
                                      root)
                record["results"].append(result)
                print(report(result), flush=True)
                keras.backend.clear_session()
    except Exception as error:
        record["error"] = f"{type(error).__name__}: {error}"
        raise
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
        record["machine"] = machine(on_gpu, policy, precision.resolve_jit_compile(args.jit_compile))
        record["seconds"] = round(time.time() - started, 1)
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2) + "\n")
        print(f"Wrote {path}")
    return path


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `timeout`: still write the JSON
    try:
        main()
    except (OSError, ValueError) as error:  # a missing dataset, a bad setting: one line
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
