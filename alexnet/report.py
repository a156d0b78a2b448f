"""The companion document ``AlexNet.pdf``, built from a run folder with Typst.

``build(run_dir)`` reads a run folder's small files, draws the figures, writes
``report.json`` beside a copy of ``docs/`` and compiles ``docs/AlexNet.typ`` with
the ``typst`` package (offline, no LaTeX). A run folder must hold ``config.json``,
``history.csv`` and ``metrics.json``; it may hold ``conv1_filters.npy`` and
``neighbours.json`` (see ``artifacts.export_model_artifacts``), ``ablation.json``,
and ``augmented.png`` as training drew it. Without the two model artifacts but with
``best.keras``, they are made from the checkpoint. Building the document needs no
trained model.

The parts live beside this module: evidence.py reads the run folder and the other
files the document cites, artifacts.py the model files and the run's images,
plots.py and figures.py draw the figures of the run and of the model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import keras
import numpy as np
from matplotlib.ticker import MaxNLocator

from alexnet import artifacts, augmentation, data, evidence, figures, model, plots, tfdata
from alexnet.plots import plt  # pyplot on the backend plots.py selects (Agg outside notebooks)

DOCS_DIR = data.PROJECT_DIR / "docs"
DEFAULT_PDF = data.PROJECT_DIR / "AlexNet.pdf"
# What the training pipeline's augmentation modes do (config.json "augmentation").
# Published ImageNet (ILSVRC-2012 validation) figures, errors in percent.
PUBLISHED = [
    {"name": "Krizhevsky et al. 2012 (1 CNN)", "layout": "paper: two towers, LRN",
     "top1": 40.7, "top5": 18.2, "crops": "10-crop", "epochs": "~90"},
    {"name": "Caffe bvlc_alexnet", "layout": "paper", "top1": 42.9, "top5": 19.8,
     "crops": "centre", "epochs": "~72 (360k iterations of 256)"},
    {"name": "torchvision alexnet (IMAGENET1K_V1)", "layout": "owt: one tower, no LRN",
     "top1": 43.48, "top5": 20.93, "crops": "centre", "epochs": "90 (reference recipe)"},
]


def layer_rows(net: keras.Model) -> list[dict]:
    """The layer table: every layer but ReLU, with its output shape, parameters and
    multiply-accumulates per image (``model.layer_macs``: convolution and FC layers)."""
    rows, layer_macs = [], model.layer_macs(net)
    for layer in net.layers:
        kind = figures.layer_kind(layer)
        if kind == "ReLU":
            continue
        macs = layer_macs.get(layer.name, 0)
        if kind == "Conv2D":
            kh, kw = layer.kernel_size
            kind = f"conv {kh}×{kw}" + (f"/{layer.strides[0]}" if layer.strides[0] > 1 else "")
            kind += f", groups {layer.groups}" if layer.groups > 1 else ""
        elif kind == "Dense":
            kind = "fully connected"
        else:
            kind = figures.layer_label(layer) if kind != "InputLayer" else "input"
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
    files = [Path(run_dir) / name for name in evidence.RUN_FILES + evidence.OPTIONAL_FILES]
    files += sorted(DOCS_DIR.glob("*.typ")) + sorted(evidence.BENCHMARK_DIR.glob("*.json"))
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
    fig.savefig(path, dpi=200, **({"pil_kwargs": {"quality": 90}}
                                  if path.suffix == ".jpg" else {}))
    plt.close(fig)
    return path.name


def _fit(fig, width: float = 6.5):
    """Resizes a figure to its printed width so that its text prints at its nominal size,
    with whole-number epoch ticks."""
    w, h = fig.get_size_inches()
    fig.set_size_inches(width, h * width / w)
    for ax in fig.axes:
        if ax.get_xlabel() == "epoch":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def draw_figures(run_dir: Path, config: dict, metrics: dict, history: dict, roots: list[Path],
                 paper: keras.Model, out: Path, notes: list[str]) -> dict[str, str | None]:
    """Draws every figure into ``out``; name -> file name, None where it cannot be made
    (the reason goes to ``notes``). Augmented samples are drawn afresh, sized for print,
    when the dataset is at hand; otherwise training's ``augmented.png`` is used."""
    made: dict[str, str | None] = dict.fromkeys(
        ("architecture", "augmented", "curves", "errors", "confusion", "per_class",
         "conv1_filters", "neighbours"))
    made["architecture"] = _save(figures.architecture(paper), out / "architecture.png")
    made["curves"] = _save(_fit(plots.curves(history)), out / "curves.png")
    made["errors"] = _save(_fit(plots.errors(history), 5), out / "errors.png")
    made["confusion"] = _save(_fit(plots.confusion(metrics), 5.5), out / "confusion.png")
    made["per_class"] = _save(plots.per_class(metrics), out / "per_class.png")

    root = artifacts.find_dataset(roots)
    if root is not None:
        train = data.load_split(root, "train", config["class_names"], **data.split_settings(config))
        images, labels = tfdata.examples(train, config["image_size"], 12, training=True,
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
        made["conv1_filters"] = _save(figures.conv1_filters(np.load(kernel_file)),
                                      out / "conv1_filters.png")
    else:
        notes.append(f"{kernel_file.name}: not in the run folder (nor best.keras and the "
                     "dataset to make it from); conv1 figure left out")
    if neighbours_file.is_file():
        fig = figures.neighbours_figure(json.loads(neighbours_file.read_text()),
                                        config["class_names"], roots, notes)
        if fig is not None:
            made["neighbours"] = _save(fig, out / "neighbours.jpg")
    else:
        notes.append(f"{neighbours_file.name}: not in the run folder (nor best.keras and the "
                     "dataset to make it from); nearest-neighbour figure left out")
    return made


def document_data(run_dir: Path, config: dict, metrics: dict, history: dict,
                  paper: keras.Model, made: dict, notes: list[str]) -> dict:
    """Everything ``docs/AlexNet.typ`` shows, numbers formatted, as ``report.json``;
    ``paper`` is the paper variant for 1000 classes."""
    rows = layer_rows(paper)
    dense = [layer for layer in paper.layers if type(layer).__name__ == "Dense"]
    fc_params = sum(layer.count_params() for layer in dense)
    macs = model.layer_macs(paper)
    conv_macs = model.count_macs(paper) - sum(macs[layer.name] for layer in dense)
    variants = []
    for name in model.VARIANTS:
        net = artifacts.reference_model(name)
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
    ten = evidence.top_errors(metrics.get("ten_crop"))
    neighbours = None
    if (run_dir / "neighbours.json").is_file():
        record = json.loads((run_dir / "neighbours.json").read_text())
        neighbours = {"layer": record.get("layer", artifacts.FEATURE_LAYER),
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
                "augmentation": augmentation.lookup(config.get("augmentation", "basic")).words,
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
                  "top1": evidence.percent(metrics["top1_error"]),
                  "top5": evidence.percent(metrics["top5_error"]),
                  "ten_top1": evidence.percent(ten["top1"]) if ten else None,
                  "ten_top5": evidence.percent(ten.get("top5")) if ten else None,
                  "best_epoch": str(best + 1),
                  "chance": evidence.percent(1 - 1 / len(config["class_names"]))},
        "layers": rows,
        "paper_totals": {"params": f"{paper.count_params():,}",
                         "macs": f"{model.count_macs(paper) / 1e9:.3f}",
                         "fc_params": f"{fc_params / paper.count_params():.0%}",
                         "conv_macs": f"{conv_macs / model.count_macs(paper):.0%}"},
        "variants": variants,
        "published": PUBLISHED,
        "ablation": evidence.read_ablation(run_dir / "ablation.json", notes),
        "throughput": [{k: v for k, v in row.items() if k != "value"}
                       for row in evidence.measured_throughput(notes=notes)],
        "imagenet": {"images": f"{evidence.IMAGENET_TRAIN_IMAGES:,}",
                     "epochs": str(evidence.PAPER_EPOCHS)},
        "neighbours": neighbours,
        "figures": made,
        "notes": notes,
    }


def build(run_dir: str | Path, out: str | Path = DEFAULT_PDF, data_root: str | Path | None = None,
          build_dir: str | Path | None = None) -> tuple[Path, list[str]]:
    """Builds the PDF from ``run_dir``; returns its path and the notes on what was left
    out (also printed in the document). Figures and ``report.json`` go to ``build_dir``
    (default ``build/report`` beside ``out``)."""
    import typst  # lazy: only building the PDF needs it, not the rest of this module

    run_dir, out = Path(run_dir), Path(out)
    config, metrics, history = evidence.read_run(run_dir)
    roots = artifacts.image_roots(config, data_root)
    notes: list[str] = []
    model_files = [run_dir / "conv1_filters.npy", run_dir / "neighbours.json"]
    if (run_dir / "best.keras").is_file() and not all(p.is_file() for p in model_files):
        root = artifacts.find_dataset(roots)
        if root is None:
            notes.append("best.keras found but not the dataset, so conv1_filters.npy and "
                         "neighbours.json could not be made; pass --data DATASET_ROOT")
        else:
            artifacts.artifacts_from_checkpoint(run_dir, config, root)

    build_dir = Path(build_dir) if build_dir else out.parent / "build" / "report"
    shutil.rmtree(build_dir, ignore_errors=True)
    shutil.copytree(DOCS_DIR, build_dir, ignore=shutil.ignore_patterns("build"))
    (build_dir / "figures").mkdir()
    paper = artifacts.reference_model("paper")
    made = draw_figures(run_dir, config, metrics, history, roots, paper, build_dir / "figures",
                        notes)
    record = document_data(run_dir, config, metrics, history, paper, made, notes)
    (build_dir / "report.json").write_text(json.dumps(record, indent=1) + "\n")

    digest = source_digest(run_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    typst.compile(build_dir / "AlexNet.typ", output=out, root=build_dir, ignore_system_fonts=True,
                  sys_inputs={"digest": digest, "run": record["run"]["name"]}, timestamp=0)
    return out, notes

