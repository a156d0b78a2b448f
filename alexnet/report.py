"""The companion document ``AlexNet.pdf``, built from a run folder with Typst.

``build(run_dir)`` reads a run folder's small files, draws the figures, writes
``report.json`` beside a copy of ``docs/`` and compiles ``docs/AlexNet.typ`` with
the ``typst`` package (offline, no LaTeX). A run folder must hold ``config.json``,
``history.csv`` and ``metrics.json``; it may hold ``conv1_filters.npy`` and
``neighbours.json`` (see ``export_model_artifacts``), ``ablation.json``, and
``augmented.png`` as training drew it. Without the two model artifacts but with
``best.keras``, they are made from the checkpoint.

Only Keras and NumPy at module level, so ``export_model_artifacts`` runs on a
machine without TensorFlow; building the document needs no trained model.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from pathlib import Path

import keras
import numpy as np

from alexnet import data, model, plots

DOCS_DIR = data.PROJECT_DIR / "docs"
BENCHMARK_DIR = data.PROJECT_DIR / "benchmarks" / "results"
DEFAULT_PDF = data.PROJECT_DIR / "AlexNet.pdf"
FEATURE_LAYER = "fc7_relu"  # the paper's Figure 4 uses the last 4096-unit hidden layer
IMAGENET_TRAIN_IMAGES = 1_281_167
PAPER_EPOCHS = 90
RUN_FILES = ("config.json", "history.csv", "metrics.json")
OPTIONAL_FILES = ("conv1_filters.npy", "neighbours.json", "ablation.json", "augmented.png")
# What the training pipeline's augmentation modes do (config.json "augmentation").
AUGMENTATIONS = {"basic": "random crops and horizontal flips",
                 "paper": "random crops, horizontal flips and PCA colour augmentation",
                 "rrc": "random-resized crops and horizontal flips"}

# Published ImageNet (ILSVRC-2012 validation) figures, errors in percent.
PUBLISHED = [
    {"name": "Krizhevsky et al. 2012 (1 CNN)", "layout": "paper: two towers, LRN",
     "top1": 40.7, "top5": 18.2, "crops": "10-crop", "epochs": "~90"},
    {"name": "Caffe bvlc_alexnet", "layout": "paper", "top1": 42.9, "top5": 19.8,
     "crops": "centre", "epochs": "~72 (360k iterations of 256)"},
    {"name": "torchvision alexnet (IMAGENET1K_V1)", "layout": "owt: one tower, no LRN",
     "top1": 43.48, "top5": 20.93, "crops": "centre", "epochs": "90 (reference recipe)"},
]


def export_model_artifacts(net: keras.Model, run_dir: str | Path, query_images: np.ndarray,
                           query_files: list[str], gallery_images: np.ndarray,
                           gallery_files: list[str], neighbours: int = 6,
                           batch_size: int = 64) -> tuple[Path, Path]:
    """Writes ``conv1_filters.npy`` (the conv1 kernel, HWIO float32) and
    ``neighbours.json`` (for each query image, the gallery images nearest to it in
    Euclidean distance between ``fc7_relu`` features) into ``run_dir``.

    Images are normalised NHWC arrays as the model takes them; the file names are
    stored as given, best relative to the dataset root (``val/<class>/x.JPEG``).
    Keras and NumPy only: it runs on any Keras backend.
    """
    for images, files, what in ((query_images, query_files, "query"),
                                (gallery_images, gallery_files, "gallery")):
        if len(images) != len(files) or len(files) == 0:
            raise ValueError(f"{what}_images ({len(images)}) and {what}_files ({len(files)}) "
                             "must have the same, non-zero length")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    kernel = keras.ops.convert_to_numpy(net.get_layer("conv1").kernel).astype("float32")
    np.save(run_dir / "conv1_filters.npy", kernel)

    features = keras.Model(net.input, net.get_layer(FEATURE_LAYER).output)
    query = features.predict(query_images, batch_size=batch_size, verbose=0).astype("float64")
    gallery = features.predict(gallery_images, batch_size=batch_size, verbose=0).astype("float64")
    squared = ((query**2).sum(1)[:, None] + (gallery**2).sum(1)[None, :]
               - 2 * query @ gallery.T)
    distances = np.sqrt(np.maximum(squared, 0))
    nearest = np.argsort(distances, axis=1, kind="stable")[:, :neighbours]
    record = {"layer": FEATURE_LAYER, "metric": "euclidean", "gallery_size": len(gallery_files),
              "queries": [{"file": str(query_files[q]),
                           "neighbours": [{"file": str(gallery_files[g]),
                                           "distance": round(float(distances[q, g]), 4)}
                                          for g in row]}
                          for q, row in enumerate(nearest)]}
    path = run_dir / "neighbours.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return run_dir / "conv1_filters.npy", path


def artifacts_from_checkpoint(run_dir: Path, config: dict, root: Path, queries: int = 6,
                              gallery_per_class: int = 50) -> tuple[Path, Path]:
    """``export_model_artifacts`` for ``run_dir/best.keras``: ``queries`` validation
    images spread over the classes against the first ``gallery_per_class`` training
    images of each class (no more than the run trained on), as centre crops."""
    from alexnet import pipeline  # TensorFlow is needed here only

    net = model.load(run_dir / "best.keras")
    size = net.input_shape[1]

    def arrays(split: data.Split) -> tuple[np.ndarray, list[str]]:
        batches = pipeline.batches(split, size, 64, training=False)
        images = np.concatenate([np.asarray(x) for x, _ in batches])
        return images, [os.path.relpath(f, root) for f in split.files]

    settings = data.split_settings(config)  # the run's own validation images
    val = data.load_split(root, "val", config["class_names"], **settings).spread(queries)
    limit = min(gallery_per_class, config.get("limit") or gallery_per_class)
    train = data.load_split(root, "train", config["class_names"], limit=limit, **settings)
    return export_model_artifacts(net, run_dir, *arrays(val), *arrays(train))


@functools.cache
def reference_model(variant: str) -> keras.Model:
    """A variant for 1000 classes at its default input size, built once per process
    (the architecture figure and tables describe these)."""
    return model.build(variant, 1000)


def image_roots(config: dict, data_root: str | Path | None = None) -> list[Path]:
    """Where a run's image paths may be relative to, most specific first: ``data_root``,
    the dataset root recorded in config.json (also from the project folder),
    ``$ALEXNET_DATA/<name>``, ``$ALEXNET_DATA``, ``data/<name>``."""
    name = Path(str(config.get("data", "imagenette"))).name
    recorded = Path(str(config.get("dataset_root", name)))
    roots = [Path(data_root)] if data_root else []
    roots += [recorded, data.PROJECT_DIR / recorded]
    if os.environ.get("ALEXNET_DATA"):
        roots += [Path(os.environ["ALEXNET_DATA"]) / name, Path(os.environ["ALEXNET_DATA"])]
    return roots + [data.DATA_DIR / name]


def resolve_image(path: str, roots: list[Path]) -> Path | None:
    """The file ``path`` names, tried as is, then under each root, also from its last
    ``train/`` or held-out folder (``val/``...) on (for absolute paths from another machine)."""
    given = Path(path)
    if given.is_absolute() and given.is_file():
        return given
    tails = [given] + [Path(*given.parts[i:]) for i, part in enumerate(given.parts)
                       if part in ("train", *data.VAL_FOLDERS) and i > 0]
    for root in roots:
        for tail in reversed(tails):
            if not tail.is_absolute() and (root / tail).is_file():
                return root / tail
    return None


def _display_image(path: Path, size: int = 128) -> np.ndarray:
    """An image file as a square uint8 RGB thumbnail (centre crop), for figures."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        return np.asarray(image.crop((left, top, left + side, top + side)).resize((size, size)))


def _class_of(path: str, class_names: list[str]) -> str:
    """The class folder in ``path`` as a display name ("?" when there is none)."""
    for part in reversed(Path(path).parts[:-1]):
        if part in class_names:
            return data.display_names([part])[0]
    return "?"


def neighbours_figure(record: dict, class_names: list[str], roots: list[Path],
                      notes: list[str], rows: int = 6, columns: int = 5):
    """The nearest-neighbour figure from ``neighbours.json``; missing image files are
    counted and named in ``notes``; None when no query image can be found."""
    missing, queries, found, query_titles, found_titles = [], [], [], [], []
    for entry in record["queries"]:
        if len(queries) == rows:
            break
        query = resolve_image(entry["file"], roots)
        if query is None:
            missing.append(entry["file"])
            continue
        row, titles = [], []
        for neighbour in entry["neighbours"][:columns]:
            path = resolve_image(neighbour["file"], roots)
            if path is None:
                missing.append(neighbour["file"])
            row.append(None if path is None else _display_image(path))
            score = (f"d {neighbour['distance']:.3g}" if "distance" in neighbour
                     else f"cos {neighbour['similarity']:.3f}")  # Euclidean or cosine
            titles.append(f"{_class_of(neighbour['file'], class_names)}\n{score}")
        queries.append(_display_image(query))
        query_titles.append(f"{_class_of(entry['file'], class_names)}\nquery")
        found.append(row)
        found_titles.append(titles)
    if missing:
        where = ", ".join(str(r) for r in roots)
        notes.append(f"neighbours.json: {len(missing)} image file(s) not found, e.g. "
                     f"{missing[0]} (looked under: {where}; pass --data DATASET_ROOT)")
    if not queries:
        return None
    return plots.neighbours(queries, found, query_titles, found_titles)


def _errors(entry) -> dict | None:
    """Top-1 and Top-5 error (fractions) of a metrics-like dict, or None."""
    if not isinstance(entry, dict):
        return None
    errors = {}
    for key in ("top1", "top5"):
        if f"{key}_error" in entry:
            errors[key] = float(entry[f"{key}_error"])
        elif key in entry:
            errors[key] = 1 - float(entry[key])
    return errors if "top1" in errors else None


def read_ablation(path: Path, notes: list[str]) -> list[dict] | None:
    """Rows of ``ablation.json``: a list of runs (or ``{"runs": [...]}``), each with a
    ``name``, optional ``augmentation``/``dropout``/``epochs`` and top1/top5 accuracy or
    ``top1_error``/``top5_error`` (fractions), directly or under ``metrics``."""
    if not path.is_file():
        return None
    try:
        runs = json.loads(path.read_text())
    except ValueError as error:
        notes.append(f"{path}: not valid JSON ({error}); ablation left out")
        return None
    runs = runs.get("runs", []) if isinstance(runs, dict) else runs
    rows = []
    for i, run in enumerate(runs if isinstance(runs, list) else []):
        errors = None
        if isinstance(run, dict):
            errors = _errors(run) or _errors(run.get("metrics"))
        if errors is None:
            notes.append(f"{path}: entry {i} has no top1/top1_error; left out")
            continue
        rows.append({"name": str(run.get("name", f"run {i + 1}")),
                     "augmentation": str(run.get("augmentation", "")),
                     "dropout": str(run.get("dropout", "")), "epochs": str(run.get("epochs", "")),
                     "top1": _percent(errors["top1"]), "top5": _percent(errors.get("top5"))})
    return rows or None


def _numbers(record, path=()):
    """(key path, value) for every number in a JSON value."""
    if isinstance(record, dict):
        for key, value in record.items():
            yield from _numbers(value, (*path, str(key)))
    elif isinstance(record, list):
        for i, value in enumerate(record):
            label = str(i)
            if isinstance(value, dict):  # name list entries by what they measured
                label = str(value.get("name") or value.get("mode") or i)
            yield from _numbers(value, (*path, label))
    elif isinstance(record, int | float) and not isinstance(record, bool):
        yield path, float(record)


def measured_throughput(folder: Path = BENCHMARK_DIR, notes: list[str] | None = None,
                        limit: int = 8) -> list[dict]:
    """Training images/s found in ``benchmarks/results/*.json`` (any layout: every number
    whose key says images per second and whose path says train, not inference), with the
    90-epoch ImageNet time each projects, fastest first."""
    rows = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            if notes is not None:
                notes.append(f"{path}: unreadable ({error}); not used")
            continue
        device = next((str(record[k]) for k in ("device", "machine", "gpu", "host")
                       if isinstance(record, dict) and isinstance(record.get(k), str)), "")
        machine = record.get("machine") if isinstance(record, dict) else None
        if not device and isinstance(machine, dict):  # train_throughput.py's layout
            device = str(machine.get("gpu") or f"{machine.get('cpu_count', '?')}-core CPU")
        for keys, value in _numbers(record):
            key, where = keys[-1].lower(), "/".join(keys).lower()
            per_second = any(s in where for s in ("images_per_s", "img_per_s", "images/s",
                                                  "img/s", "imgs_per_s", "throughput"))
            training = "train" in where or key in ("synthetic", "pipeline")  # train_throughput.py
            if not per_second or not training or value <= 0 or any(
                    s in where for s in ("infer", "predict", "eval", "reference", "torch",
                                         "matmul", "input")):
                continue
            hours = IMAGENET_TRAIN_IMAGES * PAPER_EPOCHS / value / 3600
            owner = record
            for k in keys[:-2]:  # the dict that holds this figure's settings, if any
                if isinstance(owner, list):
                    owner = owner[int(k)] if k.isdigit() and int(k) < len(owner) else {}
                else:
                    owner = owner.get(k, {}) if isinstance(owner, dict) else {}
            settings = (f"{owner['variant']} {owner.get('image_size', '')} px, batch "
                        f"{owner.get('batch_size', '?')}, {key}"
                        if isinstance(owner, dict) and "variant" in owner
                        else "/".join(keys[:-1]) or keys[-1])
            rows.append({"source": f"{path.name}: {settings}",
                         "device": device, "images_per_s": f"{value:,.0f}",
                         "time": f"{hours:,.1f} h" if hours < 48 else f"{hours / 24:,.1f} days",
                         "value": value})
    rows.sort(key=lambda row: -row["value"])
    return rows[:limit]


def _percent(fraction) -> str:
    return "–" if fraction is None else f"{100 * fraction:.1f}"


def layer_rows(net: keras.Model) -> list[dict]:
    """The layer table: every layer but ReLU, with its output shape, parameters and
    multiply-accumulates per image (convolution and FC layers only)."""
    rows = []
    for layer in net.layers:
        kind = plots.layer_kind(layer)
        if kind == "ReLU":
            continue
        macs = 0
        if kind == "Conv2D":
            _, h, w, c_out = layer.output.shape
            kh, kw, c_in, _ = layer.kernel.shape
            macs = h * w * c_out * kh * kw * c_in
            kind = f"conv {kh}×{kw}" + (f"/{layer.strides[0]}" if layer.strides[0] > 1 else "")
            kind += f", groups {layer.groups}" if layer.groups > 1 else ""
        elif kind == "Dense":
            macs = layer.kernel.shape[0] * layer.kernel.shape[1]
            kind = "fully connected"
        else:
            kind = plots.layer_label(layer) if kind != "InputLayer" else "input"
        rows.append({"name": layer.name, "kind": kind,
                     "shape": "×".join(str(d) for d in layer.output.shape[1:]),
                     "params": f"{layer.count_params():,}",
                     "macs": f"{macs / 1e6:,.1f}" if macs else ""})
    return rows


def source_digest(run_dir: Path) -> str:
    """SHA-256 of everything the document is built from: the run folder's input files,
    ``docs/`` and the benchmark results. Stored in the PDF so a test can tell whether
    the committed PDF is up to date."""
    digest = hashlib.sha256()
    files = [Path(run_dir) / name for name in RUN_FILES + OPTIONAL_FILES]
    files += sorted(DOCS_DIR.glob("*.typ")) + sorted(BENCHMARK_DIR.glob("*.json"))
    for path in files:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _run_name(run_dir: Path) -> str:
    """The run folder relative to the project when inside it (``results/<run>``), so that
    the PDF names it the same on every machine; else its absolute path."""
    run_dir = Path(run_dir).resolve()
    try:
        return str(run_dir.relative_to(data.PROJECT_DIR))
    except ValueError:
        return str(run_dir)


def _command(config: dict) -> str:
    """The training command a config.json stands for (its ``command`` if it records one)."""
    if config.get("command"):
        return str(config["command"])
    flags = [("data", "--data"), ("variant", "--variant"), ("epochs", "--epochs"),
             ("batch_size", "--batch-size"), ("image_size", "--image-size"), ("lr", "--lr"),
             ("limit", "--limit"), ("seed", "--seed")]
    parts = [f"{flag} {config[key]}" for key, flag in flags if config.get(key) is not None]
    return "python -m alexnet train " + " ".join(parts)


def _save(fig, path: Path) -> str:
    """Saves at print resolution; photographs as JPEG, which keeps the PDF small."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=200, **({"pil_kwargs": {"quality": 90}}
                                  if path.suffix == ".jpg" else {}))
    plt.close(fig)
    return path.name


def _fit(fig, width: float = 6.5):
    """Resizes a figure to its printed width so that its text prints at its nominal size,
    with whole-number epoch ticks."""
    from matplotlib.ticker import MaxNLocator

    w, h = fig.get_size_inches()
    fig.set_size_inches(width, h * width / w)
    for ax in fig.axes:
        if ax.get_xlabel() == "epoch":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def _dataset(roots: list[Path]) -> Path | None:
    return next((r for r in roots if (r / "train").is_dir()), None)  # the held-out folder may vary


def figures(run_dir: Path, config: dict, metrics: dict, history: dict, roots: list[Path],
            paper: keras.Model, out: Path, notes: list[str]) -> dict[str, str | None]:
    """Draws every figure into ``out``; name -> file name, None where it cannot be made
    (the reason goes to ``notes``). Augmented samples are drawn afresh, sized for print,
    when the dataset is at hand; otherwise training's ``augmented.png`` is used."""
    made: dict[str, str | None] = dict.fromkeys(
        ("architecture", "augmented", "curves", "errors", "confusion", "per_class",
         "conv1_filters", "neighbours"))
    made["architecture"] = _save(plots.architecture(paper), out / "architecture.png")
    made["curves"] = _save(_fit(plots.curves(history)), out / "curves.png")
    made["errors"] = _save(_fit(plots.errors(history), 5), out / "errors.png")
    made["confusion"] = _save(_fit(plots.confusion(metrics), 5.5), out / "confusion.png")
    made["per_class"] = _save(plots.per_class(metrics), out / "per_class.png")

    root = _dataset(roots)
    if root is not None:
        train = data.list_split(root, "train", config["class_names"])
        images, labels = plots.examples(train, config["image_size"], 12, training=True,
                                        augmentation=config.get("augmentation", "basic"))
        made["augmented"] = _save(_fit(plots.samples(images, labels, train.class_names,
                                                     columns=6)), out / "augmented.jpg")
    elif (run_dir / "augmented.png").is_file():
        made["augmented"] = Path(shutil.copy(run_dir / "augmented.png", out)).name
    else:
        notes.append("augmented.png: not in the run folder, and no dataset to draw it from; "
                     "figure left out")

    kernel_file, neighbours_file = run_dir / "conv1_filters.npy", run_dir / "neighbours.json"
    if kernel_file.is_file():
        made["conv1_filters"] = _save(plots.conv1_filters(np.load(kernel_file)),
                                      out / "conv1_filters.png")
    else:
        notes.append(f"{kernel_file.name}: not in the run folder (nor best.keras and the "
                     "dataset to make it from); conv1 figure left out")
    if neighbours_file.is_file():
        fig = neighbours_figure(json.loads(neighbours_file.read_text()),
                                config["class_names"], roots, notes)
        if fig is not None:
            made["neighbours"] = _save(fig, out / "neighbours.jpg")
    else:
        notes.append(f"{neighbours_file.name}: not in the run folder (nor best.keras and the "
                     "dataset to make it from); nearest-neighbour figure left out")
    return made


def _read_run(run_dir: Path) -> tuple[dict, dict, dict]:
    """config.json, metrics.json and history.csv of a run folder, checked for what the
    document uses, so that a bad file is named rather than failing halfway."""
    missing = [name for name in RUN_FILES if not (run_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{run_dir}: not a complete run folder, missing "
                                f"{', '.join(missing)} (needs {', '.join(RUN_FILES)})")
    loaded = []
    for name, keys in (("config.json", ("class_names", "image_size")),
                       ("metrics.json", ("examples", "loss", "top1", "top1_error",
                                         "top5_error", "class_names", "per_class_accuracy",
                                         "confusion_matrix"))):
        try:
            record = json.loads((run_dir / name).read_text())
        except ValueError as error:
            raise ValueError(f"{run_dir / name}: not valid JSON ({error})") from None
        absent = [key for key in keys if key not in record]
        if absent:
            raise ValueError(f"{run_dir / name}: no {', '.join(absent)}")
        loaded.append(record)
    history = plots.read_history(run_dir / "history.csv")
    absent = [key for key in ("epoch", "loss", "accuracy", "top5_accuracy", "val_loss",
                              "val_accuracy", "val_top5_accuracy") if key not in history]
    if absent:
        raise ValueError(f"{run_dir / 'history.csv'}: no column {', '.join(absent)}")
    return loaded[0], loaded[1], history


def document_data(run_dir: Path, config: dict, metrics: dict, history: dict,
                  paper: keras.Model, made: dict, notes: list[str]) -> dict:
    """Everything ``docs/AlexNet.typ`` shows, numbers formatted, as ``report.json``;
    ``paper`` is the paper variant for 1000 classes."""
    rows = layer_rows(paper)
    dense = [layer for layer in paper.layers if type(layer).__name__ == "Dense"]
    fc_params = sum(layer.count_params() for layer in dense)
    conv_macs = model.count_macs(paper) - sum(int(np.prod(la.kernel.shape)) for la in dense)
    variants = []
    for name in model.VARIANTS:
        net = reference_model(name)
        kinds = {type(layer).__name__ for layer in net.layers}
        variants.append({"name": name, "image_size": str(net.input_shape[1]),
                         "params": f"{net.count_params():,}",
                         "macs": f"{model.count_macs(net) / 1e9:.3f}",
                         "lrn": "yes" if "LocalResponseNormalization" in kinds else "no",
                         "bn": "yes" if "BatchNormalization" in kinds else "no",
                         "towers": "2" if any(getattr(la, "groups", 1) > 1
                                              for la in net.layers) else "1",
                         "trained": name == config.get("variant")})
    val_top1 = 1 - history["val_accuracy"]
    best = int(np.argmin(val_top1))
    ten = _errors(metrics.get("ten_crop"))
    neighbours = None
    if (run_dir / "neighbours.json").is_file():
        record = json.loads((run_dir / "neighbours.json").read_text())
        neighbours = {"layer": record.get("layer", FEATURE_LAYER),
                      "gallery": str(record.get("gallery_size", "?")),
                      "measure": ("cosine similarity" if record.get("metric") == "cosine"
                                  else "Euclidean distance")}
    return {
        "run": {"name": _run_name(run_dir), "command": _command(config),
                "variant": str(config.get("variant", "?")),
                "image_size": str(config.get("image_size", "?")),
                "epochs_run": str(len(history["epoch"])),
                "epochs_planned": str(config.get("epochs", "?")),
                "batch_size": str(config.get("batch_size", "?")),
                "lr": str(config.get("lr", "?")), "init": str(config.get("init", "?")),
                "dropout": str(config.get("dropout", "?")),
                "augmentation": AUGMENTATIONS.get(config.get("augmentation", "basic"),
                                                  str(config.get("augmentation"))),
                "weight_decay": str(config.get("weight_decay", "?")),
                # runs saved before optimizer.PaperSGD used Keras' decoupled decay
                "paper_weight_decay": config.get("optimizer") == "PaperSGD",
                "limit": str(config.get("limit") or "all"),
                "momentum": str(config.get("momentum", "?")),
                "machine": str(config.get("machine", "not recorded")),
                "backend": str(config.get("keras_backend", "?")),
                "dataset": Path(str(config.get("data", "?"))).name,
                "classes": str(len(config["class_names"]))},
        "final": {"examples": f"{metrics['examples']:,}", "loss": f"{metrics['loss']:.3f}",
                  "top1": _percent(metrics["top1_error"]), "top5": _percent(metrics["top5_error"]),
                  "ten_top1": _percent(ten["top1"]) if ten else None,
                  "ten_top5": _percent(ten.get("top5")) if ten else None,
                  "best_epoch": str(best + 1),
                  "chance": _percent(1 - 1 / len(config["class_names"]))},
        "layers": rows,
        "paper_totals": {"params": f"{paper.count_params():,}",
                         "macs": f"{model.count_macs(paper) / 1e9:.3f}",
                         "fc_params": f"{fc_params / paper.count_params():.0%}",
                         "conv_macs": f"{conv_macs / model.count_macs(paper):.0%}"},
        "variants": variants,
        "published": PUBLISHED,
        "ablation": read_ablation(run_dir / "ablation.json", notes),
        "throughput": [{k: v for k, v in row.items() if k != "value"}
                       for row in measured_throughput(notes=notes)],
        "imagenet": {"images": f"{IMAGENET_TRAIN_IMAGES:,}", "epochs": str(PAPER_EPOCHS)},
        "neighbours": neighbours,
        "figures": made,
        "notes": notes,
    }


def build(run_dir: str | Path, out: str | Path = DEFAULT_PDF, data_root: str | Path | None = None,
          build_dir: str | Path | None = None) -> tuple[Path, list[str]]:
    """Builds the PDF from ``run_dir``; returns its path and the notes on what was left
    out (also printed in the document). Figures and ``report.json`` go to ``build_dir``
    (default ``build/report`` beside ``out``)."""
    import typst

    run_dir, out = Path(run_dir), Path(out)
    config, metrics, history = _read_run(run_dir)
    roots = image_roots(config, data_root)
    notes: list[str] = []
    artifacts = [run_dir / "conv1_filters.npy", run_dir / "neighbours.json"]
    if (run_dir / "best.keras").is_file() and not all(p.is_file() for p in artifacts):
        root = _dataset(roots)
        if root is None:
            notes.append("best.keras found but not the dataset, so conv1_filters.npy and "
                         "neighbours.json could not be made; pass --data DATASET_ROOT")
        else:
            artifacts_from_checkpoint(run_dir, config, root)

    build_dir = Path(build_dir) if build_dir else out.parent / "build" / "report"
    shutil.rmtree(build_dir, ignore_errors=True)
    shutil.copytree(DOCS_DIR, build_dir, ignore=shutil.ignore_patterns("build"))
    (build_dir / "figures").mkdir()
    paper = reference_model("paper")
    made = figures(run_dir, config, metrics, history, roots, paper, build_dir / "figures", notes)
    record = document_data(run_dir, config, metrics, history, paper, made, notes)
    (build_dir / "report.json").write_text(json.dumps(record, indent=1) + "\n")

    digest = source_digest(run_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    typst.compile(build_dir / "AlexNet.typ", output=out, root=build_dir, ignore_system_fonts=True,
                  sys_inputs={"digest": digest, "run": record["run"]["name"]}, timestamp=0)
    return out, notes

