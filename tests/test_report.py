"""The companion PDF: built from a tiny real run, its parts, and its tolerance of odd input."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from alexnet.__main__ import main
from alexnet.harness.report import architecture, artifacts, editions, evidence
from alexnet.harness.report import build as report
from alexnet.harness.report import model_figures as figures
from alexnet.models.summary import count_macs
from conftest import PROJECT, write_image

HANGUL = re.compile("[\uac00-\ud7a3]")  # the precomposed syllables
SECTIONS = ("Architecture", "The recipes, and why each choice", "Overfitting prevention",
            "The notebook’s run", "All the runs", "The 2012 initialisation, and why it fails here",
            "Beside the published results", "Training on ImageNet", "Conclusion")


def pdf_text(path: Path) -> tuple[str, int, dict]:
    """All text, the number of embedded images and the metadata of a PDF."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    images = sum(len(page.images) for page in reader.pages)
    text = "\n".join(page.extract_text() for page in reader.pages).replace("\xa0", " ")
    return text, images, reader.metadata


def missing_glyphs(text: str) -> int:
    """Characters no font had: Typst sets them as glyph 0, which pypdf reads as NUL."""
    return text.count("\x00")


def stamp(metadata) -> dict[str, str]:
    """The ``run=`` and ``digest=`` entries report.build writes into the PDF keywords."""
    pairs = (item.split("=", 1) for item in str(metadata.get("/Keywords", "")).split(", "))
    return {key: value for key, value in (p for p in pairs if len(p) == 2)}


@pytest.fixture(scope="module")
def tiny_run(imagenette_like, tmp_path_factory) -> Path:
    """A real (tiny) training run on generated images: 2 per class, one epoch, 128 px."""
    from alexnet.harness.train import train
    from alexnet.recipes import TrainConfig

    out = tmp_path_factory.mktemp("run") / "tiny"
    return train(TrainConfig(data=str(imagenette_like), epochs=1, limit=2, image_size=128,
                             batch_size=20, out=str(out))).run_dir


def test_pdf_from_a_tiny_real_run(tiny_run, tmp_path):
    (pdf, korean), notes = report.build(tiny_run, PROJECT, tmp_path / "AlexNet.pdf",
                                        build_dir=tmp_path / "build")
    assert korean == tmp_path / "AlexNet.ko.pdf"
    # the studies' runs not committed under results/ yet are named, nothing else
    assert [note for note in notes if "imagenette-tenth-*" not in note] == []
    # best.keras was there, so the model artifacts were made from it
    kernel = np.load(tiny_run / "conv1_filters.npy")
    assert kernel.shape == (11, 11, 3, 64) and kernel.dtype == np.float32
    neighbours = json.loads((tiny_run / "neighbours.json").read_text())
    assert len(neighbours["queries"]) == 6 and neighbours["gallery_size"] == 20  # the run's
    mistakes = json.loads((tiny_run / "mistakes.json").read_text())
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert mistakes["examples"] == metrics["examples"]  # the run's own validation images
    assert len(mistakes["mistakes"]) == min(8, mistakes["wrong"])

    assert pdf.read_bytes().startswith(b"%PDF-")
    text, images, metadata = pdf_text(pdf)
    for number, title in enumerate(SECTIONS, start=1):
        assert re.search(rf"^{number} {title}$", text, re.MULTILINE), title
    record = json.loads((tmp_path / "build" / "report.json").read_text())
    for key in ("smalldata", "quick", "runs", "recipe_settings", "smoothing_floor", "errors",
                "ablation_gaps", "ablation_moves"):
        assert key in record, key
    assert record["errors"]["mistakes"] == (record["figures"]["mistakes"] is not None)
    shown = set(re.findall(r'#fig\("(\w+)"', (PROJECT / "docs" / "AlexNet.typ").read_text()))
    figures = {name: file for name, file in record["figures"].items() if name in shown}
    assert all(figures.values()), figures
    assert images == len(figures)  # every figure the document shows, each once
    for number in range(1, len(figures) + 1):
        assert f"Figure {number}:" in text
    assert "60,965,224" in text  # the paper variant's layer table total
    assert f"{100 * metrics['top1_error']:.1f}" in text
    assert "With all the data, for 20 epochs" in text
    assert "--augmentation none" in text  # the ablation's change, read from results/
    assert "References" in text and "ImageNet Classification with Deep" in text
    assert stamp(metadata)["digest"] == report.source_digest(tiny_run, PROJECT)
    assert missing_glyphs(text) == 0
    ko_text, ko_images, ko_metadata = pdf_text(korean)  # the same document, in Korean
    assert HANGUL.search(ko_text) and "그림 1:" in ko_text  # Typst's own word for Figure
    assert missing_glyphs(ko_text) == 0 and ko_images == images
    assert stamp(ko_metadata) == stamp(metadata)


def test_missing_optional_files_are_named_in_the_document(tiny_run, tmp_path):
    run = tmp_path / "small-files-only"  # what comes back from a GPU box: no best.keras
    run.mkdir()
    for name in evidence.RUN_FILES:
        (run / name).write_bytes((tiny_run / name).read_bytes())
    config = json.loads((run / "config.json").read_text())
    config["dataset_root"] = str(tmp_path / "elsewhere")
    config["data"] = "no-such-dataset"
    (run / "config.json").write_text(json.dumps(config))
    (pdf, _), notes = report.build(run, PROJECT, tmp_path / "AlexNet.pdf",
                                   build_dir=tmp_path / "build")
    notes = [note for note in notes if "imagenette-tenth-*" not in note]  # not committed yet
    assert len(notes) == 4  # no dataset (two figures), conv1 filters, neighbours, mistakes
    assert notes[-1].startswith("mistakes.json: not in the run folder")
    text = pdf_text(pdf)[0]
    assert "Notes on this build" in text and "conv1_filters.npy" in text
    assert text.count("Figure not available") == 4  # the augmentations, augmented samples


def test_report_command_errors_name_the_missing_file(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{}")
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "x.pdf")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "history.csv" in error and "metrics.json" in error
    assert not (tmp_path / "x.pdf").exists()
    (tmp_path / "history.csv").write_text("epoch,loss\n0,1.0\n")
    (tmp_path / "metrics.json").write_text("{")
    assert main(["report", str(tmp_path)]) == 2
    assert "config.json: no class_names, image_size" in capsys.readouterr().err
    (tmp_path / "config.json").write_text('{"class_names": ["a"], "image_size": 128}')
    assert main(["report", str(tmp_path)]) == 2
    assert "metrics.json: not valid JSON" in capsys.readouterr().err


EDITION = """#let lang = sys.inputs.at("lang", default: "en")
#let t(en, ko) = if lang == "ko" { ko } else { en }
#set document(keywords: ("run=" + sys.inputs.at("run", default: "?"),))
#set text(font: ("Libertinus Serif", "NanumGothic"), lang: lang)
#t[The network][네트워크] *#t[bold][굵게]* `raw 코드` −×→ #figure(rect(), caption: [x])
"""


def test_two_editions_from_one_source(tmp_path):
    (tmp_path / "doc.typ").write_text(EDITION)
    out = tmp_path / "AlexNet.pdf"
    paths = editions.compile_editions(tmp_path / "doc.typ", out, tmp_path, {"run": "r"})
    assert paths == [out, tmp_path / "AlexNet.ko.pdf"]
    (english, _, en_meta), (korean, _, ko_meta) = (pdf_text(path) for path in paths)
    assert "The network bold raw 코드 −×→" in english and "Figure 1: x" in english
    assert "네트워크 굵게 raw 코드 −×→" in korean and "그림 1: x" in korean
    assert missing_glyphs(english) == missing_glyphs(korean) == 0
    assert stamp(en_meta) == stamp(ko_meta) == {"run": "r"}


def test_font_warnings_stop_the_build(tmp_path, monkeypatch, capsys):
    (tmp_path / "doc.typ").write_text(EDITION)
    out = tmp_path / "AlexNet.pdf"
    monkeypatch.setattr(editions, "korean_font_dir", lambda: tmp_path)  # holds no font
    with pytest.raises(ValueError, match=r"unknown font family: nanumgothic \(.*doc.typ:4:"):
        editions.compile_editions(tmp_path / "doc.typ", out, tmp_path, {})
    assert not out.exists()
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "koreanize_matplotlib", None)  # find_spec: not there
    with pytest.raises(FileNotFoundError, match="pip install koreanize-matplotlib"):
        editions.korean_font_dir()
    assert main(["report", str(tmp_path)]) == 2  # one line, before any work
    assert "error: the Korean edition needs" in capsys.readouterr().err


def test_the_document_names_fonts_typst_has():
    """Each font docs/AlexNet.typ asks for is bundled by typst or koreanize-matplotlib
    (system fonts are ignored), so no edition falls back to another face."""
    import typst

    source = (PROJECT / "docs" / "AlexNet.typ").read_text()
    named = {name for names in re.findall(r'font: *(\([^)]*\)|"[^"]*")', source)
             for name in re.findall(r'"([^"]+)"', names)}
    assert "NanumGothic" in named
    families = typst.Fonts(include_system_fonts=False,
                           font_paths=[str(editions.korean_font_dir())]).families()
    assert named <= set(families), named - set(families)


def test_export_model_artifacts_finds_each_image_itself(tmp_path):
    import keras

    inputs = keras.Input((16, 16, 3))  # the two layers it reads, named as in every variant
    x = keras.layers.Conv2D(4, 3, name="conv1")(inputs)
    x = keras.layers.ReLU(name="fc7_relu")(keras.layers.Dense(8, name="fc7")(
        keras.layers.Flatten()(x)))
    net = keras.Model(inputs, keras.layers.Dense(3, name="fc8")(x))
    gallery = np.random.default_rng(0).normal(size=(5, 16, 16, 3)).astype("float32")
    files = [f"train/c{i}/{i}.JPEG" for i in range(5)]
    with pytest.raises(ValueError, match="query_images"):
        artifacts.export_model_artifacts(net, tmp_path, gallery[:2], files, gallery, files)

    kernel_path, path = artifacts.export_model_artifacts(
        net, tmp_path, gallery[[3, 1]], ["val/a.JPEG", "val/b.JPEG"], gallery, files,
        neighbours=3)
    np.testing.assert_array_equal(np.load(kernel_path), np.asarray(net.get_layer("conv1").kernel))
    record = json.loads(path.read_text())
    first = [q["neighbours"][0] for q in record["queries"]]
    assert [n["file"] for n in first] == [files[3], files[1]]
    assert all(n["distance"] < 1e-3 for n in first)
    distances = [n["distance"] for n in record["queries"][0]["neighbours"]]
    assert distances == sorted(distances) and len(distances) == 3


def test_image_paths_resolve_from_another_machine(tmp_path):
    root = tmp_path / "imagenette"
    image = write_image(root / "val" / "n01" / "x.JPEG")
    roots = artifacts.image_roots({"data": "imagenette", "dataset_root": "/gpu/box/imagenette"},
                                  PROJECT, data_root=root)
    assert artifacts.resolve_image("val/n01/x.JPEG", roots) == image
    assert artifacts.resolve_image("/gpu/box/imagenette/val/n01/x.JPEG", roots) == image
    assert artifacts.resolve_image(str(image), []) == image
    assert artifacts.resolve_image("val/n01/missing.JPEG", roots) is None


def test_neighbour_figure_counts_missing_images(tmp_path):
    write_image(tmp_path / "val" / "n01" / "q.JPEG", (50, 40))
    write_image(tmp_path / "train" / "n02" / "a.JPEG", (30, 60))
    record = {"queries": [{"file": "val/n01/q.JPEG", "neighbours": [
        {"file": "train/n02/a.JPEG", "distance": 1.5},
        {"file": "train/n02/gone.JPEG", "distance": 2.0}]}]}
    notes: list[str] = []
    fig = figures.neighbours_figure(record, ["n01", "n02"], [tmp_path], notes)
    assert fig is not None and len(fig.axes) == 3
    assert len(notes) == 1 and "1 image file(s) not found" in notes[0]
    assert "train/n02/gone.JPEG" in notes[0]


def benchmark(path: Path, gpu: str | None, results: list[dict]) -> None:
    """A ``benchmarks/train_throughput.py`` result file."""
    machine = {"cpu_count": 16 if gpu else 2} | ({"gpu": gpu} if gpu else {})
    path.write_text(json.dumps({"machine": machine, "results": results}))


def test_imagenet_time_is_bound_by_the_slower_pace(tmp_path):
    benchmark(tmp_path / "gpu.json", "NVIDIA H100", [
        {"variant": "bn", "batch_size": 256, "image_size": 224,
         "images_per_s": {"synthetic": 20000.0, "inference": 90000.0}},
        {"variant": "bn", "batch_size": 512, "image_size": 224,
         "images_per_s": {"synthetic": 25000.0}},
        {"variant": "owt", "batch_size": 256, "image_size": 224,
         "images_per_s": {"synthetic": 40000.0}}])
    benchmark(tmp_path / "cpu.json", None, [
        {"variant": "bn", "batch_size": 64, "image_size": 224,
         "images_per_s": {"synthetic": 27.0, "input": 250.0, "pipeline": 23.0}},
        {"variant": "bn", "batch_size": 64, "image_size": 128,
         "images_per_s": {"input": 330.0}}])
    (tmp_path / "broken.json").write_text("{")
    notes: list[str] = []
    rates = evidence.benchmark_rates(tmp_path, notes)
    assert len(notes) == 1 and "broken.json" in notes[0]
    assert {r["part"] for r in rates} == {"synthetic", "input", "pipeline"}

    projection = evidence.imagenet_projection(rates, "bn", 224, batch_size=256)
    assert projection["step"]["images_per_s"] == "20,000"  # the recipe's batch size
    assert projection["input"]["images_per_s"] == "250"  # at 224 px, not 128
    assert projection["bound"] == "the input pipeline" and projection["ratio"] == "80"
    assert projection["time"] == evidence.duration(250.0)
    assert projection["time"] == f"{1_281_167 * 90 / 250 / 3600 / 24:,.1f} days"
    assert projection["input_cpus"] == "2" and projection["step_cpus"] == "16"
    fast = [r | {"images_per_s": 1e6} if r["part"] == "input" else r for r in rates]
    assert evidence.imagenet_projection(fast, "bn", 224)["bound"] == "the GPU training step"
    assert evidence.imagenet_projection(rates, "paper", 227)["missing"] == (
        "a GPU training step and the input pipeline")
    gpu_only = [r for r in rates if r["gpu"]]
    assert evidence.imagenet_projection(gpu_only, "bn", 224)["missing"] == "the input pipeline"


def test_architecture_comes_from_the_model():
    net = artifacts.reference_model("paper")
    stages = figures.stages(net)
    assert [s["name"] for s in stages] == ["image", "conv1", "conv2", "conv3", "conv4",
                                          "conv5", "fc6", "fc7", "fc8"]
    assert [s["groups"] for s in stages[1:6]] == [1, 2, 1, 2, 2]
    assert stages[1]["ops"] == ["ReLU", "LRN", "max-pool 3×3/2"]
    assert stages[6]["ops"] == ["ReLU", "dropout 0.5"]
    assert architecture.dropout_place(net) == "after fc6 and fc7"  # the paper's place
    assert architecture.dropout_place(artifacts.reference_model("bn")) == "before fc6 and fc7"
    rows = architecture.layer_rows(net)
    assert sum(int(float(r["macs"].replace(",", "")) * 1e6 + 0.5) for r in rows if r["macs"]) \
        == pytest.approx(count_macs(net), rel=1e-3)
    assert "ReLU" not in {r["kind"] for r in rows}
    figures.architecture(net)  # draws without error


def test_committed_pdfs_are_up_to_date():
    """AlexNet.pdf and AlexNet.ko.pdf: both there, built from the current sources, every
    glyph found; the Korean edition in Korean."""
    pdf = PROJECT / "AlexNet.pdf"
    if not pdf.is_file():
        pytest.skip("no committed AlexNet.pdf")
    recorded = stamp(pdf_text(pdf)[2])
    run = PROJECT / recorded.get("run", "")
    if "run" not in recorded or not (run / "metrics.json").is_file():
        pytest.skip(f"AlexNet.pdf was built from {recorded.get('run')}, not in the repository")
    rebuild = f"rebuild with python -m alexnet report {recorded['run']}"
    digest = report.source_digest(run, PROJECT)
    for lang in editions.LANGUAGES:
        path = editions.edition_path(pdf, lang)
        assert path.is_file(), f"{path.name} is missing: {rebuild}, and commit it"
        text, _, metadata = pdf_text(path)
        assert stamp(metadata).get("digest") == digest, f"{path.name} is out of date: {rebuild}"
        assert missing_glyphs(text) == 0, f"{path.name}: {missing_glyphs(text)} glyphs missing"
        assert lang != "ko" or HANGUL.search(text), f"{path.name} has no Hangul"
