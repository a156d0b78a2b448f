"""The companion document, ``AlexNet.pdf`` and ``AlexNet.ko.pdf``, built from a run folder.

``build(run_dir)`` reads a run folder's small files (``config.json``, ``history.csv``,
``metrics.json``; optionally the model files of artifacts.MODEL_FILES, made from
``best.keras`` when it is there, and ``augmented.png``), draws the figures, writes
``report.json`` beside a copy of ``docs/`` and compiles ``docs/AlexNet.typ`` with the
``typst`` package (offline, no LaTeX) once per edition, English and Korean (editions.py).
Each figure is drawn once per edition, the Korean one in Korean (korean.py).
It needs no trained model.

The parts: evidence.py reads the run folder and the benchmark results, runs.py the other
runs under ``results/`` (ablations, recipes, first steps), studies.py the small-data study,
the quick recipe's seeds and every cited run, headline.py the run's errors and the
recipes' settings, artifacts.py the model files and the run's images; figures.py and
study_figures.py draw (with plots.py and model_figures.py). ``report.json`` is data only
(numbers as strings, booleans, names): the document, in two languages, has the words;
``figures`` and ``figures_ko`` name each edition's figure files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shutil
from fractions import Fraction
from pathlib import Path

import keras
import numpy as np

from alexnet.data import augment as augmentation
from alexnet.data.splits import split_settings
from alexnet.harness import shards
from alexnet.harness.report import (
    architecture,
    artifacts,
    editions,
    evidence,
    headline,
    korean,
    runs,
    studies,
    study_figures,
)
from alexnet.harness.report import figures as report_figures
from alexnet.models import DEFAULT_IMAGE_SIZE
from alexnet.models.summary import count_macs, layer_macs
from alexnet.recipes import from_recipe

BUILT = ".built-by-alexnet-report"  # in a build folder the report made (and may clear)


def _check_build_dir(build_dir: Path) -> None:
    """Refuses, naming it, a build folder the report did not make (no ``BUILT`` mark in
    it): the build replaces the folder, and must not take the user's files with it."""
    if build_dir.exists() and not (build_dir / BUILT).is_file():
        raise FileExistsError(f"{build_dir}: a folder the report did not make is there (no "
                              f"{BUILT} in it); move it away, or give another --out")


def source_digest(run_dir: Path, project: Path) -> str:
    """SHA-256 of everything the document is built from: the run folder's input files,
    the other runs it cites (runs.evidence_files), ``docs/`` and the benchmark results.
    Stored in the PDF so a test can tell whether the committed PDF is up to date (a run
    committed under ``results/`` later makes it so)."""
    digest = hashlib.sha256()
    results_dir = Path(project) / "results"
    named = [(name, Path(run_dir) / name)
             for name in evidence.RUN_FILES + evidence.OPTIONAL_FILES]
    named += [(str(path.relative_to(results_dir)), path)  # however run_dir is spelt
              for path in runs.evidence_files(results_dir)]
    named += [(path.name, path) for path in sorted((Path(project) / "docs").glob("*.typ"))
              + sorted((Path(project) / "benchmarks" / "results").glob("*.json"))]
    for name, path in named:
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _run_name(run_dir: Path, project: Path) -> str:
    """The run folder relative to the project when inside it (``results/<run>``), so that
    the PDF names it the same on every machine; else its absolute path."""
    run_dir = Path(run_dir).resolve()
    try:
        return str(run_dir.relative_to(Path(project).resolve()))
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


def korean_figures(made: dict[str, str | None], folder: Path) -> dict[str, str]:
    """The Korean edition's figure files by name: each figure's Korean drawing
    (korean.edition_file) where the build made one, else the English file (a figure
    copied from the run folder, ``augmented.png``)."""
    files = {}
    for name, file in made.items():
        if file is not None:
            drawn = korean.edition_file(Path(file)).name
            files[name] = drawn if (Path(folder) / drawn).is_file() else file
    return files


def _ratio(value: float) -> str:
    return str(Fraction(value).limit_denominator(10))


def evidence_data(others: dict, config: dict, history: dict, train_images: int | None,
                  notes: list[str], benchmarks: Path) -> dict:
    """The document's parts drawn from other files than the run's: the other runs
    (runs.collect), the augmentations' settings, the recipe and time for ImageNet."""
    recipe = dataclasses.asdict(from_recipe("modern"))
    size = DEFAULT_IMAGE_SIZE[recipe["variant"]]
    projection = evidence.imagenet_projection(evidence.benchmark_rates(benchmarks, notes),
                                              recipe["variant"], size, recipe["batch_size"])
    steps = (len(history["epoch"]) * math.ceil(train_images / config["batch_size"])
             if train_images and config.get("batch_size") else None)
    paper_steps = (evidence.IMAGENET_TRAIN_IMAGES * evidence.PAPER_EPOCHS
                   / evidence.PAPER_BATCH_SIZE)
    by_folder = {row["folder"]: row for row in others["recipes"]}
    paper_run = by_folder.get(runs.PAPER_RUN, {})
    return {
        "ablation": others["ablation"], "ablation_gaps": others["ablation_gaps"],
        "ablation_moves": others["ablation_moves"],
        "recipes": others["recipes"],
        "paper_run": paper_run if paper_run.get("measured") else None,
        "paper_run_folder": runs.PAPER_RUN,
        "paper_2012": by_folder.get(runs.PAPER_2012) if by_folder.get(
            runs.PAPER_2012, {}).get("measured") else None,
        "first_steps": others["first_steps"], "init_tries": others["init_tries"],
        "conv1": {"partner": others["conv1_partner"] is not None,
                  "steps": f"{steps:,}" if steps else None,
                  "paper_steps": f"{round(paper_steps, -4):,.0f}"},
        "augment": {"area": "–".join(f"{100 * a:.0f}" for a in augmentation.RRC_SCALE),
                    "ratio": "–".join(_ratio(r) for r in augmentation.RRC_RATIO),
                    "lighting": f"{augmentation.PAPER_LIGHTING:g}",
                    "resize": str(augmentation.resize_size(224))},
        "imagenet": {"images": f"{evidence.IMAGENET_TRAIN_IMAGES:,}",
                     "epochs": str(evidence.PAPER_EPOCHS), "recipe": "modern",
                     "variant": recipe["variant"], "image_size": str(size),
                     "settings": {key: f"{value:g}" if isinstance(value, float) else str(value)
                                  for key, value in recipe.items()},
                     "augmentation": augmentation.WORDS[recipe["augmentation"]],
                     "projection": projection},
    }


def document_data(run_dir: Path, project: Path, config: dict, metrics: dict, history: dict,
                  paper: keras.Model, made: dict, notes: list[str],
                  train_images: int | None = None) -> dict:
    """Everything ``docs/AlexNet.typ`` shows about the run and the model, numbers
    formatted (``paper`` is the paper variant for 1000 classes); evidence_data adds the
    rest of ``report.json``."""
    rows = architecture.layer_rows(paper)
    dense = [layer for layer in paper.layers if type(layer).__name__ == "Dense"]
    fc_params = sum(layer.count_params() for layer in dense)
    macs = layer_macs(paper)
    conv_macs = count_macs(paper) - sum(macs[layer.name] for layer in dense)
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
        "run": {"name": _run_name(run_dir, project), "command": _command(config),
                "variant": str(config.get("variant", "?")),
                "image_size": str(config.get("image_size", "?")),
                "epochs_run": str(len(history["epoch"])),
                "epochs_planned": str(config.get("epochs", "?")),
                "batch_size": str(config.get("batch_size", "?")),
                "lr": str(config.get("lr", "?")), "init": str(config.get("init", "?")),
                "dropout": str(config.get("dropout", "?")),
                "augmentation": augmentation.WORDS[config.get("augmentation", "basic")],
                "augmentation_name": str(config.get("augmentation", "basic")),
                "minutes": (f"{np.sum(history['epoch_seconds']) / 60:.1f}"
                            if "epoch_seconds" in history else "?"),
                "train_images": f"{train_images:,}" if train_images else "?",
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
                  # the same as accuracies, as the notebook shows them
                  "top1_acc": evidence.percent(1 - metrics["top1_error"]),
                  "top5_acc": evidence.percent(None if metrics["top5_error"] is None
                                               else 1 - metrics["top5_error"]),
                  "ten_top1_acc": evidence.percent(1 - ten["top1"]) if ten else None,
                  "ten_top5_acc": (evidence.percent(1 - ten["top5"])
                                   if ten and ten.get("top5") is not None else None),
                  "best_epoch": str(best + 1),
                  "chance": evidence.percent(1 - 1 / len(config["class_names"])),
                  "chance_top1": evidence.percent(1 / len(config["class_names"]))},
        "layers": rows,
        "paper_totals": {"params": f"{paper.count_params():,}",
                         "macs": f"{count_macs(paper) / 1e9:.3f}",
                         "fc_params": f"{fc_params / paper.count_params():.0%}",
                         "conv_macs": f"{conv_macs / count_macs(paper):.0%}"},
        "variants": architecture.variant_rows(config.get("variant")),
        "published": architecture.PUBLISHED,
        "neighbours": neighbours,
        "figures": made,
        "notes": notes,
    }


def build(run_dir: str | Path, project: Path, out: str | Path | None = None,
          data_root: str | Path | None = None,
          build_dir: str | Path | None = None) -> tuple[list[Path], list[str]]:
    """Builds the PDF's two editions from ``run_dir`` and the other runs under
    ``<project>/results``: ``out`` (default ``<project>/AlexNet.pdf``) in English and
    ``<stem>.ko.pdf`` beside it in Korean (editions.py); returns the files written and the
    notes on what was left out (also printed in the document). Figures and
    ``report.json``, the same for both, go to ``build_dir`` (default ``build/report``
    beside ``out``)."""
    editions.korean_font_dir()  # a missing font stops the build first, not after a minute
    project = Path(project)
    results_dir, docs_dir = project / "results", project / "docs"
    run_dir = Path(run_dir)
    out = Path(out) if out else project / "AlexNet.pdf"
    build_dir = Path(build_dir) if build_dir else out.parent / "build" / "report"
    _check_build_dir(build_dir)  # before any work
    config, metrics, history = evidence.read_run(run_dir)
    roots = artifacts.image_roots(config, project, data_root)
    root = artifacts.find_dataset(roots)
    notes: list[str] = []
    artifacts.make_model_files(run_dir, config, root, notes)
    train = None if root is None else shards.open_dataset(root).split(
        "train", config["class_names"], **split_settings(config))

    _check_build_dir(build_dir)
    shutil.rmtree(build_dir, ignore_errors=True)  # the report's own, of an earlier build
    shutil.copytree(docs_dir, build_dir, ignore=shutil.ignore_patterns("build"))
    (build_dir / BUILT).touch()  # marks the folder as the report's own, to clear next time
    (build_dir / "figures").mkdir()
    paper = artifacts.reference_model("paper")
    others = runs.collect(results_dir, config, notes)
    studied = studies.collect(results_dir, lambda c: artifacts.image_roots(c, project, data_root),
                              notes)
    made = report_figures.draw(run_dir, config, metrics, history, train, roots, paper, others,
                               build_dir / "figures", notes)
    made |= study_figures.draw(studied, run_dir, roots, build_dir / "figures", notes)
    record = document_data(run_dir, project, config, metrics, history, paper, made, notes,
                           train and len(train.files))
    record |= evidence_data(others, config, history, train and len(train.files), notes,
                            project / "benchmarks" / "results")
    record["figures_ko"] = korean_figures(made, build_dir / "figures")
    record |= studied["record"] | {
        "recipe_settings": headline.recipe_settings(),
        "smoothing_floor": headline.smoothing_floor(config),
        "errors": headline.errors(metrics, made["mistakes"] is not None),
        "curve": headline.curve(history)}
    (build_dir / "report.json").write_text(json.dumps(record, indent=1) + "\n")

    out.parent.mkdir(parents=True, exist_ok=True)
    inputs = {"digest": source_digest(run_dir, project), "run": record["run"]["name"]}
    return editions.compile_editions(build_dir / "AlexNet.typ", out, build_dir, inputs), notes
