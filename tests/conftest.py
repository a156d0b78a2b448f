"""Shared fixtures: generated image trees (so the tests run on any machine), and the
real datasets beside the repo for the few tests that want real photographs."""

from __future__ import annotations

import colorsys
import gc
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROJECT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ALEXNET_SHARED", PROJECT.parent / "shared" / "datasets"))
IMAGENETTE = SHARED / "imagenette"
IMAGENET_SAMPLES = SHARED / "imagenet-samples"
REAL_DATA_MISSING = "real data not found"  # in each such skip's reason (see the summary hook)

# Imagenette's classes, and the ImageNet samples' names and sizes (``<wnid>_<name>.JPEG``).
IMAGENETTE_WNIDS = ("n01440764", "n02102040", "n02979186", "n03000684", "n03028079",
                    "n03394916", "n03417042", "n03425413", "n03445777", "n03888257")
SAMPLES = (("n01440764", "tench", (500, 375)), ("n01494475", "hammerhead", (333, 500)),
           ("n01514859", "hen", (500, 333)), ("n01532829", "house_finch", (500, 416)),
           ("n01560419", "bulbul", (334, 500)), ("n01601694", "water_ouzel", (500, 375)),
           ("n01622779", "great_grey_owl", (845, 563)),
           ("n01632458", "spotted_salamander", (500, 403)),
           ("n01644900", "tailed_frog", (375, 500)), ("n01667778", "terrapin", (500, 375)),
           ("n01685808", "whiptail", (500, 357)), ("n01704323", "triceratops", (500, 400)))


def skip_without(path: Path, what: str) -> None:
    """Skips the test when the real ``what`` is not at ``path``."""
    if not path.exists():
        pytest.skip(f"{REAL_DATA_MISSING}: {what} at {path}")


@pytest.fixture(scope="session")
def imagenette() -> Path:
    """The real Imagenette (for tests that need real photographs)."""
    skip_without(IMAGENETTE / "train", "Imagenette")
    return IMAGENETTE


def pytest_terminal_summary(terminalreporter) -> None:
    """One line on how to run the tests skipped for want of the real data."""
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if REAL_DATA_MISSING in str(getattr(r, "longrepr", ""))]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} test(s) skipped: the real datasets are not at {SHARED}; to run "
            "them, set ALEXNET_SHARED=/path/to/datasets (a folder holding imagenette/ and "
            "imagenet-samples/)", yellow=True)


def write_image(path: Path, size=(40, 30), mode="RGB", seed=0) -> Path:
    """A random image file; the format follows the suffix (JPEG or PNG)."""
    rng = np.random.default_rng(seed)
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    image = Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def photo(size=(500, 375), seed=0) -> Image.Image:
    """A photograph-like RGB image: smooth brightness gradients and soft blobs, gently
    tinted (photographs are seldom saturated), with a little grain; so JPEG treats it as
    it treats photographs (small re-encoding error, files of tens of kilobytes)."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width] / max(size)
    a, b, c = rng.uniform(-1, 1, 3)
    light = 120 + 50 * a * x + 50 * b * y + 25 * np.sin(6 * c * x + 3 * y)
    tint = np.zeros((height, width, 3)) + rng.uniform(-15, 15, 3)
    for _ in range(6):
        cy, cx, radius = rng.uniform(0, height / max(size)), rng.uniform(0, 1), rng.uniform(.05, .2)
        blob = np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * radius ** 2))
        light += blob * rng.uniform(-70, 70)
        tint += blob[..., None] * rng.uniform(-20, 20, 3)
    pixels = light[..., None] + tint + rng.normal(0, 4, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def class_image(label: int, size: tuple[int, int], seed: int, classes: int = 10) -> Image.Image:
    """An image of class ``label``: the class's own colour and stripe direction (which
    survive crops, flips and resizing, so a network can learn them), with random
    phase, brightness and noise."""
    rng = np.random.default_rng([seed, label])
    width, height = size
    y, x = np.mgrid[0:height, 0:width] / max(size)
    angle = np.pi * label / classes
    period = 4 + label % 3
    stripes = np.sin(2 * np.pi * period * (x * np.cos(angle) + y * np.sin(angle))
                     + rng.uniform(0, 2 * np.pi))
    colour = np.array(colorsys.hsv_to_rgb(label / classes, 0.7, 0.85)) * 255
    pixels = colour * rng.uniform(0.7, 1.1) * (0.75 + 0.25 * stripes[..., None])
    pixels += rng.normal(0, 12, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def make_imagenette_like(root: Path, per_split: dict[str, int] | None = None,
                         seed: int = 0) -> Path:
    """An Imagenette-shaped tree of generated images: ``split/<wnid>/<wnid>_<n>.JPEG``
    for Imagenette's 10 classes, ``per_split`` images per class (default 8 in train/,
    5 in val/), 80-160 px on a side in any aspect; some greyscale JPEGs and some PNGs."""
    rng = np.random.default_rng(seed)
    for split, count in (per_split or {"train": 8, "val": 5}).items():
        for label, wnid in enumerate(IMAGENETTE_WNIDS):
            folder = root / split / wnid
            folder.mkdir(parents=True, exist_ok=True)
            for n in range(count):
                size = tuple(int(s) for s in rng.integers(80, 161, 2))
                image = class_image(label, size, seed=int(rng.integers(2**31)))
                if n % 4 == 3:  # a PNG, as in real datasets now and then
                    image.save(folder / f"{wnid}_{n}.png")
                    continue
                if n % 4 == 2:  # greyscale JPEGs (Imagenette has a few hundred)
                    image = image.convert("L")
                image.save(folder / f"{wnid}_{n}.JPEG", quality=90)
    return root


@pytest.fixture(scope="session")
def imagenette_like(tmp_path_factory) -> Path:
    """A generated stand-in for Imagenette (train/ 8 and val/ 5 images per class, 10
    classes, learnable); read-only for the tests: copy what you change."""
    return make_imagenette_like(tmp_path_factory.mktemp("imagenette-like"))


@pytest.fixture(scope="session")
def sample_photos(tmp_path_factory) -> Path:
    """Generated stand-ins for the ImageNet samples: ``<wnid>_<name>.JPEG``
    photograph-like JPEGs (4:4:4, as the real ones) of the real samples' sizes (the first
    is 500 x 375)."""
    folder = tmp_path_factory.mktemp("imagenet-samples")
    for index, (wnid, name, size) in enumerate(SAMPLES):
        photo(size, seed=index).save(folder / f"{wnid}_{name}.JPEG", quality=90, subsampling=0)
    return folder


@pytest.fixture(scope="session")
def sample_photo(sample_photos) -> Path:
    """One photograph-like 500 x 375 JPEG."""
    return sample_photos / f"{SAMPLES[0][0]}_{SAMPLES[0][1]}.JPEG"


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    """train/ and val/ with 3 classes of mixed formats, modes and sizes."""
    kinds = [("a.jpg", "RGB", (40, 30)), ("b.png", "RGBA", (25, 50)),
             ("c.JPEG", "L", (64, 64)), ("d.png", "L", (33, 47))]
    for split in ("train", "val"):
        for c, cls in enumerate(("cat", "dog", "eel")):
            for i, (name, mode, size) in enumerate(kinds):
                write_image(tmp_path / split / cls / name, size, mode, seed=10 * c + i)
    return tmp_path


def compiled(net, config=None, steps_per_epoch: int = 1):
    """``net`` compiled as ``train.compile_model`` compiles a run's model (the recipe's SGD
    and schedule for ``steps_per_epoch`` steps an epoch, cross-entropy, Top-1/Top-5), for
    tests that train a model of their own without a run folder."""
    from alexnet.harness import train
    from alexnet.recipes import TrainConfig

    config = config or TrainConfig()
    run = train.Run(config, Path("unused"), Path("unused"), lock=None, model=net,
                    train_data=range(steps_per_epoch * config.batch_size))
    return train.compile_model(run)


@pytest.fixture(autouse=True)
def _float32_policy():
    """Training sets Keras' global dtype policy (``--precision auto``: mixed bfloat16 on
    CPUs with AMX or AVX512-BF16); put it back, so that no other test inherits it."""
    yield
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(autouse=True, scope="module")
def _free_models():
    """Each test module's models go with it (a 60-million-parameter network and its
    optimizer hold about a gigabyte): a whole run's memory stays that of one module."""
    yield
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session(free_memory=True)
    gc.collect()


def stub_training(monkeypatch, run_dir: Path, calls: list | None = None) -> list:
    """``python -m alexnet train`` in-process with its training steps stubbed: the
    returned list gets the TrainConfig that ``train.start`` was given, then the name of
    each later step as it is called (``make_callbacks(estimate)`` where the callbacks
    include the time estimate, ``fit``, ...)."""
    from types import SimpleNamespace

    from alexnet.harness import train

    calls = [] if calls is None else calls
    run = SimpleNamespace(run_dir=run_dir, strategy=None, metrics=None, made=None,
                          lock=SimpleNamespace(release=lambda **_: None))

    def start(config, resume_run=False, command=None):
        calls.append(config)
        return run

    def step(*_, name: str, **options):
        calls.append(f"{name}(estimate)" if options.get("estimate") else name)

    monkeypatch.setattr(train, "start", start)
    for name in ("load_data", "build_model", "compile_model", "make_callbacks", "fit",
                 "finish"):
        monkeypatch.setattr(train, name, lambda *args, name=name, **kw: step(*args, name=name,
                                                                             **kw))
    return calls


def huge_header_jpeg(size: int = 60_000) -> bytes:
    """A tiny JPEG whose header claims ``size`` x ``size`` pixels: a decompression bomb."""
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(out, "JPEG")
    jpeg = bytearray(out.getvalue())
    sof = jpeg.index(b"\xff\xc0")  # baseline frame header: length, precision, height, width
    jpeg[sof + 5:sof + 9] = size.to_bytes(2, "big") * 2
    return bytes(jpeg)


def outputs_without_alexnet(model_file: Path, pixels: np.ndarray, folder: Path,
                            compile: bool = True) -> np.ndarray:
    """``model_file`` loaded by ``keras.saving.load_model`` in a process that never imports
    alexnet, and its outputs for ``pixels`` (the test fails if the load fails or alexnet
    gets imported)."""
    np.save(folder / "pixels.npy", pixels)
    code = (
        "import sys, numpy as np, keras\n"
        f"net = keras.saving.load_model({str(model_file)!r}, compile={compile})\n"
        f"np.save({str(folder / 'out.npy')!r}, "
        f"net.predict_on_batch(np.load({str(folder / 'pixels.npy')!r})))\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'alexnet'], 'imported'\n")
    env = {**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return np.load(folder / "out.npy")
