"""The companion PDF: built from a tiny real run, its parts, and its tolerance of odd input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from alexnet.__main__ import main
from alexnet.models.summary import count_macs
from alexnet.report import artifacts, evidence, runs
from alexnet.report import build as report
from alexnet.report import model_figures as figures
from conftest import PROJECT, write_image

SECTIONS = ("Architecture", "Overfitting prevention", "Training results",
            "The 2012 recipe and the paper recipe", "Comparison", "Reproducing on ImageNet")


def pdf_text(path: Path) -> tuple[str, int, dict]:
    """All text, the number of embedded images and the metadata of a PDF."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    images = sum(len(page.images) for page in reader.pages)
    text = "\n".join(page.extract_text() for page in reader.pages).replace("\xa0", " ")
    return text, images, reader.metadata


def stamp(metadata) -> dict[str, str]:
    """The ``run=`` and ``digest=`` entries report.build writes into the PDF keywords."""
    pairs = (item.split("=", 1) for item in str(metadata.get("/Keywords", "")).split(", "))
    return {key: value for key, value in (p for p in pairs if len(p) == 2)}


@pytest.fixture(scope="module")
def tiny_run(imagenette_like, tmp_path_factory) -> Path:
    """A real (tiny) training run on generated images: 2 per class, one epoch, 128 px."""
    from alexnet.training.config import TrainConfig
    from alexnet.training.train import train

    out = tmp_path_factory.mktemp("run") / "tiny"
    return train(TrainConfig(data=str(imagenette_like), epochs=1, limit=2, image_size=128,
                             batch_size=20, out=str(out))).run_dir


def test_pdf_from_a_tiny_real_run(tiny_run, tmp_path):
    (pdf,), notes = report.build(tiny_run, PROJECT, tmp_path / "AlexNet.pdf",
                                 build_dir=tmp_path / "build")
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
    assert "Ablation on Imagenette" in text and runs.BASELINE in text  # from results/
    assert stamp(metadata)["digest"] == report.source_digest(tiny_run, PROJECT)


def test_missing_optional_files_are_named_in_the_document(tiny_run, tmp_path):
    run = tmp_path / "small-files-only"  # what comes back from a GPU box: no best.keras
    run.mkdir()
    for name in evidence.RUN_FILES:
        (run / name).write_bytes((tiny_run / name).read_bytes())
    config = json.loads((run / "config.json").read_text())
    config["dataset_root"] = str(tmp_path / "elsewhere")
    config["data"] = "no-such-dataset"
    (run / "config.json").write_text(json.dumps(config))
    (pdf,), notes = report.build(run, PROJECT, tmp_path / "AlexNet.pdf",
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


def write_run(folder: Path, top1: float = 0.75, train: float = 0.7, tied: int = 0,
              **settings) -> Path:
    """A run folder as train writes it, small: config.json, metrics.json, history.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {"variant": "bn", "recipe": "modern", "init": "he", "epochs": 2,
              "image_size": 128, "dropout": 0.5, "augmentation": "rrc", "weight_decay": 5e-5,
              "machine": "Intel(R) Xeon(R) Processor, 2 cores"} | settings
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "metrics.json").write_text(json.dumps(
        {"top1": top1, "top5": 0.97, "top5_tied": tied, "examples": 8,
         "ten_crop": {"top1": top1 + 0.01, "top5": None},
         "confusion_matrix": [[3, 1], [0, 4]]}))
    (folder / "history.csv").write_text(f"epoch,accuracy,val_accuracy\n0,0.5,0.6\n1,{train},0.75\n")
    return folder


def test_ablation_table_comes_from_the_run_folders(tmp_path):
    write_run(tmp_path / runs.BASELINE)
    write_run(tmp_path / f"{runs.BASELINE}-no-dropout", top1=0.747, train=0.8, dropout=0.0)
    write_run(tmp_path / f"{runs.BASELINE}-wd5e-4", weight_decay=5e-4, machine="elsewhere")
    (tmp_path / f"{runs.BASELINE}-broken").mkdir()
    (tmp_path / f"{runs.BASELINE}-broken" / "metrics.json").write_text("{")
    notes: list[str] = []
    rows, found = runs.ablation_rows(tmp_path, notes)
    assert [(r["label"], r["measured"]) for r in rows] == [
        ("baseline", True), ("no dropout", True), ("no augmentation", False),
        ("wd5e-4", True)]  # no -lrn folder: no row; the broken one: a note
    assert len(notes) == 1 and "broken" in notes[0]
    base, no_dropout, no_augmentation, decay = rows
    assert (base["change"], no_dropout["change"], decay["change"]) == (
        "none", "--dropout 0", "--weight-decay 0.0005")  # machines are not settings
    assert no_augmentation["change"] == "--augmentation none"
    assert (no_dropout["top1"], no_dropout["ten_top1"], no_dropout["top5"]) == (
        "74.7", "75.7", "97.0")
    assert (base["train"], base["val"], base["gap"]) == ("70.0", "75.0", "−5.0")
    assert no_dropout["gap"] == "+5.0" and base["epochs"] == "2 of 2"
    assert set(found) == {runs.BASELINE, f"{runs.BASELINE}-no-dropout", f"{runs.BASELINE}-wd5e-4"}
    # the overfitting evidence as data, worded by the document
    assert runs.ablation_gaps(rows) == {"baseline": "−5.0", "no dropout": "+5.0",
                                        "wd5e-4": "−5.0"}
    assert runs.ablation_moves(rows) == {"no dropout": "−0.3", "wd5e-4": "+0.0"}
    assert runs.ablation_moves([base]) == {} and runs.ablation_moves(rows[1:]) == {}

    write_run(tmp_path / f"{runs.BASELINE}-no-augmentation", augmentation="none", train=0.99)
    rows, _ = runs.ablation_rows(tmp_path, notes)
    assert rows[2]["measured"] and rows[2]["gap"] == "+24.0"
    assert runs.ablation_gaps(rows)["no augmentation"] == "+24.0"
    write_run(tmp_path / f"{runs.BASELINE}-no-dropout", top1=0.72, train=0.8, dropout=0.0)
    write_run(tmp_path / f"{runs.BASELINE}-seed-1", top1=0.755)  # the baseline's settings
    rows, _ = runs.ablation_rows(tmp_path, notes)
    labels = {row["folder"]: row["label"] for row in rows}
    assert labels[f"{runs.BASELINE}-seed-1"] == "the baseline again (seed-1)"
    assert runs.ablation_moves(rows) == {"no dropout": "−3.0", "no augmentation": "+0.0",
                                         "wd5e-4": "+0.0", "the baseline again (seed-1)": "+0.5"}


def test_tied_top5_is_no_result_and_missing_runs_are_named(tmp_path):
    write_run(tmp_path / runs.PAPER_2012, top1=0.104, tied=3516, recipe="paper",
              variant="paper", init="paper")
    notes: list[str] = []
    rows, found = runs.recipe_rows(tmp_path, notes)
    assert [r["folder"] for r in rows] == list(runs.RECIPE_RUNS) and notes == []
    diverged = rows[0]
    assert diverged["top5"] == "tied: no result" and diverged["top5_tied"] == "3,516"
    assert diverged["init"] == "N(0, 0.01), biases 1"
    assert diverged["machine"] == "Intel Xeon, 2 cores"
    assert diverged["one_class"] == "62.5"  # column sums 3 and 5 of 8: the most predicted
    assert [r["measured"] for r in rows[1:]] == [False, False, False]
    assert list(found) == [runs.PAPER_2012]
    others = runs.collect(tmp_path, {"variant": "bn"}, notes)
    assert others["conv1_partner"] is None and others["first_steps"] is None
    assert others["init_tries"] == [] and notes == []


def test_first_steps_are_read_from_the_script_output(tmp_path):
    path = tmp_path / runs.FIRST_STEPS
    path.write_text("# python scripts/first_steps.py --recipe paper\n# a CPU\n"
                    "step   1  loss    3.287  most predicted class  100%  (29 s)\n"
                    "step   2  loss   26.000  most predicted class   90%  (50 s)\n"
                    "step   3  loss    2.317  most predicted class  100%  (72 s)\n")
    record = runs.first_steps(path)
    assert record["header"] == ["python scripts/first_steps.py --recipe paper", "a CPU"]
    assert record["losses"] == [3.287, 26.0, 2.317] and record["steps"] == [1, 2, 3]
    assert (record["first"], record["peak"], record["peak_step"], record["last"]) == (
        "3.3", "26.0", "2", "2.32")
    assert (record["share_min"], record["share_max"]) == ("90.0", "100.0")
    path.write_text("nothing\n")
    assert runs.first_steps(path) is None and runs.first_steps(tmp_path / "none") is None


def test_digest_covers_the_other_runs(tmp_path, monkeypatch):
    run = write_run(tmp_path / "results" / "mine")
    before = report.source_digest(run, tmp_path)
    monkeypatch.chdir(tmp_path)  # the same however the run folder is spelt
    assert report.source_digest(Path("results/mine"), tmp_path) == before
    write_run(tmp_path / "results" / f"{runs.BASELINE}-no-augmentation")
    assert report.source_digest(run, tmp_path) != before


def test_architecture_comes_from_the_model():
    net = artifacts.reference_model("paper")
    stages = figures.stages(net)
    assert [s["name"] for s in stages] == ["image", "conv1", "conv2", "conv3", "conv4",
                                          "conv5", "fc6", "fc7", "fc8"]
    assert [s["groups"] for s in stages[1:6]] == [1, 2, 1, 2, 2]
    assert stages[1]["ops"] == ["ReLU", "LRN", "max-pool 3×3/2"]
    assert stages[6]["ops"] == ["ReLU", "dropout 0.5"]
    assert report.dropout_place(net) == "after fc6 and fc7"  # the paper's place
    assert report.dropout_place(artifacts.reference_model("bn")) == "before fc6 and fc7"
    rows = report.layer_rows(net)
    assert sum(int(float(r["macs"].replace(",", "")) * 1e6 + 0.5) for r in rows if r["macs"]) \
        == pytest.approx(count_macs(net), rel=1e-3)
    assert "ReLU" not in {r["kind"] for r in rows}
    figures.architecture(net)  # draws without error


def test_committed_pdf_is_up_to_date():
    pdf = PROJECT / "AlexNet.pdf"
    if not pdf.is_file():
        pytest.skip("no committed AlexNet.pdf")
    recorded = stamp(pdf_text(pdf)[2])
    run = PROJECT / recorded.get("run", "")
    if "run" not in recorded or not (run / "metrics.json").is_file():
        pytest.skip(f"AlexNet.pdf was built from {recorded.get('run')}, not in the repository")
    assert recorded["digest"] == report.source_digest(run, PROJECT), (
        f"AlexNet.pdf is out of date: rebuild with python -m alexnet report {recorded['run']}")


def test_results_table_rows_and_tied_top5(tmp_path):
    """README's and the notebook's results table: one row per run, a top-5 decided by
    tied outputs shown as no result."""
    runs = []
    for name, tied in (("good", 0), ("diverged", 3516)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps(
            {"variant": "bn", "recipe": "modern", "epochs": 3, "image_size": 128,
             "machine": "a CPU", "command": f"python -m alexnet train --out {name}"}))
        (folder / "metrics.json").write_text(json.dumps(
            {"top1": 0.75, "top5": 0.97, "top5_tied": tied, "ten_crop": {"top1": 0.76}}))
        (folder / "history.csv").write_text("epoch,epoch_seconds\n0,60\n1,90\n")
        runs.append(folder)
    lines = evidence.results_table(runs).splitlines()
    assert len(lines) == 4
    assert lines[2].startswith("| good | bn | modern | 2 of 3 | 128 | 75.0% | 97.0% | 76.0% |")
    assert "2.5 min" in lines[2] and "`python -m alexnet train --out good`" in lines[2]
    assert "| tied, - |" in lines[3]
