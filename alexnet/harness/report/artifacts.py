"""The model files a run folder may carry for the PDF, and the run's images on any machine.

``export_model_artifacts`` writes ``conv1_filters.npy`` and ``neighbours.json`` from a
model and normalised images; ``artifacts_from_checkpoint`` does so for a folder's
``best.keras``, and writes ``mistakes.json`` (the most confident misclassified
validation images, for the mistakes figure). ``image_roots`` and ``resolve_image`` find
the image files those records name, also when the run was trained on another machine.

Only Keras and NumPy at module level, so ``export_model_artifacts`` runs on a
machine without TensorFlow (any Keras backend).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import keras
import numpy as np

from alexnet import evaluate
from alexnet.data import batches
from alexnet.data.augment import centre_crop
from alexnet.data.datasets import VAL_FOLDERS
from alexnet.data.splits import Split, split_settings
from alexnet.harness import runfolder, shards
from alexnet.models.alexnet import build

FEATURE_LAYER = "fc7_relu"  # the paper's Figure 4 uses the last 4096-unit hidden layer
MODEL_FILES = ("conv1_filters.npy", "neighbours.json", "mistakes.json")


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
    net = runfolder.load_model(run_dir / "best.keras")
    size = net.input_shape[1]

    def arrays(split: Split) -> tuple[np.ndarray, list[str]]:
        images = np.concatenate([np.asarray(x) for x, _ in batches.evaluation(split, 64, size)])
        return images, [os.path.relpath(f, root) for f in split.files]

    settings = split_settings(config)  # the run's own validation images
    dataset = shards.open_dataset(root)
    val = dataset.split("val", config["class_names"], **settings).spread(queries)
    limit = min(gallery_per_class, config.get("limit") or gallery_per_class)
    train = dataset.split("train", config["class_names"], limit=limit, **settings)
    written = export_model_artifacts(net, run_dir, *arrays(val), *arrays(train))
    mistakes_from_checkpoint(run_dir, config, root, net)
    return written


def select_mistakes(probabilities: np.ndarray, labels: np.ndarray, files: list[str],
                    class_names: list[str], count: int = 8) -> dict:
    """``mistakes.json``'s record: the ``count`` most confident misclassified images,
    one per (true, predicted) pair first, so that the figure shows different confusions
    rather than eight of the commonest, then the next most confident of any pair."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    ranked = wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind="stable")]
    pairs, first, rest = set(), [], []
    for i in ranked:
        pair = (int(labels[i]), int(predicted[i]))
        (rest if pair in pairs else first).append(i)
        pairs.add(pair)
    return {"examples": len(labels), "wrong": len(wrong),
            "mistakes": [{"file": str(files[i]), "true": class_names[labels[i]],
                          "predicted": class_names[predicted[i]],
                          "confidence": round(float(probabilities[i, predicted[i]]), 4)}
                         for i in (first + rest)[:count]]}


def write_mistakes(run_dir: Path, record: dict) -> Path:
    """Writes ``mistakes.json`` (select_mistakes' record) into ``run_dir``."""
    path = Path(run_dir) / "mistakes.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def mistakes_from_checkpoint(run_dir: Path, config: dict, root: Path,
                             net: keras.Model | None = None) -> Path:
    """``mistakes.json`` for ``run_dir/best.keras`` (or ``net``) on the run's own
    validation images, as centre crops (as metrics.json's top-1), file names relative
    to the dataset root as neighbours.json stores them."""
    net = net or runfolder.load_model(Path(run_dir) / "best.keras")
    val = shards.open_dataset(root).split("val", config["class_names"], limit=config.get("limit"),
                                   **split_settings(config))  # as metrics.json's evaluation
    probabilities, labels = evaluate.predict(
        net, batches.evaluation(val, 64, net.input_shape[1]), -(-len(val) // 64))
    dropped = {file for file, _ in val.skipped}  # images the pipeline could not decode
    files = [os.path.relpath(f, root) for f in val.files if f not in dropped]
    return write_mistakes(run_dir, select_mistakes(probabilities, labels, files,
                                                   config["class_names"]))


def make_model_files(run_dir: Path, config: dict, root: Path | None, notes: list[str]) -> None:
    """The model files (MODEL_FILES) a run folder lacks, made from its ``best.keras`` with
    the dataset at hand, or ``mistakes.json`` from its ``predictions.npz`` (GPU runs)
    without it; a note says what could not be made. A folder with neither file: nothing."""
    run_dir = Path(run_dir)
    missing = [name for name in MODEL_FILES if not (run_dir / name).is_file()]
    if "mistakes.json" in missing and (run_dir / "predictions.npz").is_file():
        with np.load(run_dir / "predictions.npz") as saved:
            write_mistakes(run_dir, select_mistakes(
                saved["probabilities"].astype("float32"), saved["labels"],
                [str(f) for f in saved["files"]], config["class_names"]))
        missing.remove("mistakes.json")
    if not missing or not (run_dir / "best.keras").is_file():
        return
    if root is None:
        notes.append(f"best.keras found but not the dataset, so {' and '.join(missing)} "
                     "could not be made; pass --data DATASET_ROOT")
    elif missing == ["mistakes.json"]:
        mistakes_from_checkpoint(run_dir, config, root)
    else:
        artifacts_from_checkpoint(run_dir, config, root)


@functools.cache
def reference_model(variant: str) -> keras.Model:
    """A variant for 1000 classes at its default input size, built once per process
    (the architecture figure and tables describe these)."""
    return build(variant, 1000)


def image_roots(config: dict, project: Path, data_root: str | Path | None = None) -> list[Path]:
    """Where a run's image paths may be relative to, most specific first: ``data_root``,
    the dataset root recorded in config.json (also from the project folder),
    ``$ALEXNET_DATA/<name>``, ``$ALEXNET_DATA``, ``<project>/data/<name>``."""
    name = Path(str(config.get("data", "imagenette"))).name
    recorded = Path(str(config.get("dataset_root", name)))
    roots = [Path(data_root)] if data_root else []
    roots += [recorded, project / recorded]
    if os.environ.get("ALEXNET_DATA"):
        roots += [Path(os.environ["ALEXNET_DATA"]) / name, Path(os.environ["ALEXNET_DATA"])]
    return roots + [project / "data" / name]


def find_dataset(roots: list[Path]) -> Path | None:
    """The first root that holds a dataset (``train/``; its held-out folder may vary), or
    None."""
    return next((r for r in roots if (r / "train").is_dir()), None)


def resolve_image(path: str, roots: list[Path]) -> Path | None:
    """The file ``path`` names, tried as is, then under each root, also from its last
    ``train/`` or held-out folder (``val/``...) on (for absolute paths from another machine)."""
    given = Path(path)
    if given.is_absolute() and given.is_file():
        return given
    tails = [given] + [Path(*given.parts[i:]) for i, part in enumerate(given.parts)
                       if part in ("train", *VAL_FOLDERS) and i > 0]
    for root in roots:
        for tail in reversed(tails):
            if not tail.is_absolute() and (root / tail).is_file():
                return root / tail
    return None


def export_run(run_dir: Path, train: batches.Squares, val: batches.Squares,
               image_size: int) -> None:
    """For a run trained on decoded squares (a pack): ``predictions.npz`` (the best
    model's centre-crop probabilities on the validation images), ``mistakes.json`` from
    them, and ``export_model_artifacts`` for 8 validation queries against up to 2,000
    training images."""
    best = runfolder.load_model(Path(run_dir) / "best.keras")
    probabilities, labels = evaluate.predict(best, batches.evaluation(val, 256, image_size))
    files = list(val.split.files)
    np.savez_compressed(Path(run_dir) / "predictions.npz",
                        probabilities=probabilities.astype("float16"), labels=labels,
                        files=np.array(files))
    write_mistakes(run_dir, select_mistakes(probabilities, labels, files,
                                            val.split.class_names))

    def crops(data: batches.Squares, count: int) -> tuple[np.ndarray, list]:
        rows = np.linspace(0, len(data) - 1, min(count, len(data))).astype(int)
        images = keras.ops.convert_to_numpy(centre_crop(image_size)(data.images[rows]))
        return images, [data.split.files[r] for r in rows]

    export_model_artifacts(best, run_dir, *crops(val, 8), *crops(train, 2000))
