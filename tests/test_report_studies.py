"""The studies report.json carries beside the ablations (small-data study, quick seeds,
cited runs, recipes, the headline run's errors and mistakes) and their figures, on
generated run folders: data only, a missing run a ``measured: false`` row."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alexnet.harness.report import artifacts, headline, studies, study_figures
from alexnet.harness.report import build as report
from alexnet.harness.report.runs import BASELINE, QUICK, TENTH
from conftest import IMAGENETTE_WNIDS, write_image


def write_run(folder: Path, accuracy=(0.5, 0.9), val=(0.6, 0.55), val_loss=(1.2, 1.4),
              seconds: tuple | None = (60, 90), top1: float = 0.58, flip: float | None = None,
              **settings) -> Path:
    """A small run folder as train writes it: config.json, history.csv, metrics.json
    (with a test-time flip's top-1 where ``flip`` is given, as train writes it now)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {"variant": "bn", "recipe": "quick", "epochs": 50, "image_size": 128,
              "dropout": 0.5, "augmentation": "basic", "seed": 0, "keras_backend": "tensorflow",
              "data": "/somewhere/imagenette", "class_names": list(IMAGENETTE_WNIDS),
              "machine": "Intel(R) Xeon(R) Processor, 2 cores",
              "command": f"python -m alexnet train --out {folder.name}"} | settings
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "metrics.json").write_text(json.dumps(
        {"top1": top1, "top5": 0.9, "top5_tied": 0, "examples": 3925,
         "ten_crop": {"top1": top1 + 0.02, "top5": 0.92}}
        | ({"flip": {"top1": flip, "top5": 0.91}} if flip is not None else {})))
    columns = "epoch,accuracy,val_accuracy,val_loss" + (",epoch_seconds" if seconds else "")
    lines = [f"{e},{a},{v},{loss}" + (f",{seconds[e]}" if seconds else "")
             for e, (a, v, loss) in enumerate(zip(accuracy, val, val_loss, strict=True))]
    (folder / "history.csv").write_text("\n".join([columns, *lines]) + "\n")
    return folder


def square_dataset(root: Path, side: int = 24, per_class: int = 10) -> Path:
    """Imagenette's classes as ``side`` px squares: ``per_class`` training images, 2 held out."""
    for c, wnid in enumerate(IMAGENETTE_WNIDS):
        for i in range(per_class):
            write_image(root / "train" / wnid / f"{i}.JPEG", (side, side), seed=100 * c + i)
        for i in range(2):
            write_image(root / "val" / wnid / f"{i}.JPEG", (side, side), seed=100 * c + 50 + i)
    return root


def test_smalldata_rows_are_data_and_missing_runs_are_rows(tmp_path):
    root = square_dataset(tmp_path / "imagenette")
    results = tmp_path / "results"
    write_run(results / f"{TENTH}-dropout-crops", train_fraction=0.1,
              accuracy=(0.3, 0.5, 0.6), val=(0.4, 0.45, 0.43), val_loss=(1.5, 1.3, 1.4),
              seconds=(10, 10, 10))
    write_run(results / f"{TENTH}-neither", train_fraction=0.1, dropout=0.0,
              augmentation="none", accuracy=(0.5, 1.0), val=(0.3, 0.35))
    notes: list[str] = []
    record, found = studies.smalldata(results, lambda config: [root], notes)
    assert notes == [] and set(found) == {f"{TENTH}-dropout-crops", f"{TENTH}-neither"}
    assert (record["fraction"], record["train_images"], record["val_images"], record["epochs"]) \
        == ("10", "10", "3,925", "50")  # a tenth of 10 images a class
    assert record["machine"] == "Intel Xeon, 2 cores"
    assert record["command"] == studies.SMALLDATA_COMMAND
    both, crops, dropout, neither = record["rows"]
    assert [r["measured"] for r in record["rows"]] == [True, False, False, True]
    assert (crops["dropout"], crops["crops"], crops["change"]) == (False, True, "--dropout 0")
    assert (dropout["dropout"], dropout["crops"]) == (True, False)
    assert (both["dropout"], both["crops"], neither["dropout"], neither["crops"]) == (
        True, True, False, False)
    assert (both["top1"], both["top5"], both["ten_top1"]) == ("58.0", "90.0", "60.0")
    assert (both["train"], both["val"], both["gap"]) == ("60.0", "43.0", "+17.0")
    assert (both["best_val"], both["best_epoch"], both["epochs"]) == ("45.0", "2", "3")
    assert (both["last_val_loss"], both["min_val_loss"], both["min_val_loss_epoch"]) == (
        "1.40", "1.30", "2")
    assert neither["gap"] == "+65.0" and neither["change"] == "--dropout 0 --augmentation none"
    json.dumps(record)  # plain data throughout

    record, found = studies.smalldata(tmp_path / "none", lambda config: [], notes)
    assert found == {} and not any(r["measured"] for r in record["rows"])
    assert record["train_images"] is None and record["fraction"] == "10"


def test_quick_seeds_and_their_medians(tmp_path):
    """The seeds' medians are taken within a precision, never across."""
    bf16 = {"precision_used": "mixed_bfloat16",
            "machine_details": {"gpu": None, "amx_bf16": False, "avx512_bf16": True}}
    for seed in (1, 2):
        write_run(tmp_path / f"{QUICK}-seed{seed}", seed=seed, top1=0.74 + seed / 100,
                  seconds=(300, 300 + 60 * seed), **bf16)
    write_run(tmp_path / f"{QUICK}-notebook", top1=0.80, seconds=(600, 600), **bf16)
    notes: list[str] = []
    record, found = studies.quick(tmp_path, notes)
    assert [(r["folder"][len(QUICK) + 1:], r["seed"], r["source"], r["measured"])
            for r in record["rows"]] == [
        ("seed0", "0", "cli", False), ("seed1", "1", "cli", True), ("seed2", "2", "cli", True),
        *((f"float32-seed{seed}", str(seed), "cli", False) for seed in range(3)),
        ("notebook", "0", "notebook", True)]
    assert record["groups"] == [{"precision": "bfloat16", "seeds": 2, "units": ["AVX512-BF16"],
                                 "median_minutes": None, "median_top1": None,
                                 "median_ten_top1": None, "median_flip_top1": None}]  # 2 of 3
    seed1 = record["rows"][1]
    assert (seed1["minutes"], seed1["top1"], seed1["ten_top1"], seed1["epochs"],
            seed1["precision"], seed1["flip_top1"]) == ("11.0", "75.0", "77.0", "2", "bfloat16",
                                                       None)  # no flip recorded
    assert seed1["command"] == f"python -m alexnet train --out {QUICK}-seed1"  # as recorded
    assert record["machine"] == "Intel Xeon, 2 cores" and len(found) == 3

    write_run(tmp_path / f"{QUICK}-seed0", seed=0, top1=0.70, seconds=(300, 300), **bf16)
    for seed in range(3):
        write_run(tmp_path / f"{QUICK}-float32-seed{seed}", seed=seed, top1=0.60,
                  flip=0.61 + seed / 100, seconds=(900, 900), precision_used="float32",
                  machine_details={"gpu": None, "amx_bf16": False, "avx512_bf16": False})
    record, _ = studies.quick(tmp_path, notes)
    medians = {g["precision"]: (g["median_minutes"], g["median_top1"], g["median_ten_top1"],
                                g["units"], g["median_flip_top1"]) for g in record["groups"]}
    assert medians == {"bfloat16": ("11.0", "75.0", "77.0", ["AVX512-BF16"], None),  # not the
                       "float32": ("30.0", "60.0", "62.0", ["none"], "62.0")}  # notebook's 80 %
    # (bfloat16: no seed recorded a flip; float32: the median of 61, 62 and 63 %)
    assert notes == []


def test_cited_runs_name_their_data_and_missing_ones(tmp_path):
    root = square_dataset(tmp_path / "imagenette", side=32, per_class=1)
    results = tmp_path / "results"
    write_run(results / "imagenette-modern", data=".gpu/imagenette-128.npz", image_size=224,
              keras_backend="jax", recipe="modern", seconds=None, machine="NVIDIA H100")
    write_run(results / "imagenette-paper", data=".gpu/imagenette-128.npz", image_size=128)
    write_run(results / BASELINE, data="../shared/datasets/imagenette")
    write_run(results / f"{TENTH}-crops", train_fraction=0.1, dropout=0.0)
    rows = {row["folder"]: row for row in studies.cited_runs(results, lambda config: [root])}
    assert list(rows) == list(studies.CITED)
    assert [name for name, row in rows.items() if row["measured"]] == [
        BASELINE, "imagenette-paper", "imagenette-modern", f"{TENTH}-crops"]
    gpu = rows["imagenette-modern"]
    assert gpu["data"] == "Imagenette packed at 128 px, up-sampled to 224"
    assert (gpu["packed"], gpu["data_px"], gpu["upsampled_to"]) == (True, "128", "224")
    assert (gpu["backend"], gpu["machine"], gpu["minutes"], gpu["epochs"]) == (
        "jax", "NVIDIA H100", None, "2")
    assert rows["imagenette-paper"]["data"] == "Imagenette packed at 128 px"
    cpu = rows[BASELINE]
    assert cpu["data"] == "Imagenette 32 px copies" and cpu["minutes"] == "2.5"
    assert (cpu["top1"], cpu["ten_top1"], cpu["command"]) == (
        "58.0", "60.0", f"python -m alexnet train --out {BASELINE}")
    assert rows[f"{TENTH}-crops"]["train_fraction"] == "10"
    write_image(root / "train" / IMAGENETTE_WNIDS[0] / "0.JPEG", (40, 30))
    studies.copies_px.cache_clear()
    assert studies.data_words({"data": "imagenette"}, [root])["data"] == "Imagenette"
    assert studies.data_words({"data": "imagenette"}, [])["data"] == "Imagenette"


def test_recipe_settings_and_the_smoothing_floor():
    settings = headline.recipe_settings()
    assert set(settings) == {"quick", "modern", "paper"}
    assert (settings["quick"]["lr"], settings["quick"]["image_size"],
            settings["quick"]["augmentation"]) == ("0.02", "128", "basic")
    assert settings["modern"]["image_size"] == "224" and settings["paper"]["variant"] == "paper"
    assert settings["modern"]["limit"] is None and settings["paper"]["weight_decay"] == "0.0005"
    classes = {"class_names": list("abcdefghij")}
    assert headline.smoothing_floor(classes | {"label_smoothing": 0.1}) == "0.50"
    assert headline.smoothing_floor(classes | {"label_smoothing": 0.0}) == "0.00"
    assert headline.smoothing_floor({"class_names": ["a", "b"], "label_smoothing": 0.2}) == (
        f"{-(0.9 * np.log(0.9) + 0.1 * np.log(0.1)):.2f}")


def test_errors_name_classes_and_confusions():
    wnids = list(IMAGENETTE_WNIDS[:4])  # tench, English springer, cassette player, chain saw
    metrics = {"class_names": wnids,
               "per_class_accuracy": dict(zip(wnids, (0.9, 0.5, 0.7, 0.95), strict=True)),
               "confusion_matrix": [[9, 1, 0, 0], [3, 5, 2, 0], [0, 3, 7, 0], [0, 0, 1, 19]]}
    record = headline.errors(metrics, mistakes=True)
    assert record["weakest"] == [
        {"class": "English springer", "class_ko": "잉글리시 스프링어", "wnid": wnids[1],
         "accuracy": "50.0"},
        {"class": "cassette player", "class_ko": "카세트 플레이어", "wnid": wnids[2],
         "accuracy": "70.0"},
        {"class": "tench", "class_ko": "텐치", "wnid": wnids[0], "accuracy": "90.0"}]
    assert [e["class"] for e in record["strongest"]] == ["chain saw", "tench"]
    assert [(c["true"], c["predicted"], c["count"], c["share"]) for c in record["confusions"]] \
        == [("English springer", "tench", "3", "30.0"),
            ("cassette player", "English springer", "3", "30.0"),
            ("English springer", "cassette player", "2", "20.0"),
            ("tench", "English springer", "1", "10.0"),
            ("chain saw", "cassette player", "1", "5.0")]
    assert record["confusions"][0]["true_ko"] == "잉글리시 스프링어"
    assert record["confusions"][0]["predicted_ko"] == "텐치"
    assert record["mistakes"] is True


def test_curve_says_what_the_validation_curve_did():
    history = {"val_accuracy": np.array([0.4, 0.55, 0.35, 0.5, 0.6]),
               "accuracy": np.array([0.3, 0.5, 0.6, 0.7, 0.58]),
               "learning_rate": np.array([0.01, 0.02, 0.02, 0.01, 0.001])}
    record = headline.curve(history)
    assert record == {"best_epoch": "5", "epochs": "5", "peak_last": True,
                      "drop": {"epoch": "3", "points": "20.0", "peak_rate": True,
                               "regained": "5"},
                      "collapse": "5", "limit": "5", "gap": "2.0", "gap_kind": "below"}
    history["accuracy"][-1] = 0.62
    assert headline.curve(history)["gap_kind"] == "small"
    history["accuracy"][-1] = 0.7
    assert headline.curve(history)["gap_kind"] == "large"
    history["accuracy"][-1] = 0.6
    assert headline.curve(history)["gap_kind"] == "equal"
    steady = {"val_accuracy": np.array([0.4, 0.6, 0.58]), "accuracy": np.array([0.3, 0.5, 0.6])}
    record = headline.curve(steady)
    assert record["drop"] is None and not record["peak_last"] and record["best_epoch"] == "2"


def test_mistakes_are_the_most_confident_of_different_pairs():
    probabilities = np.array([[0.1, 0.9, 0.0], [0.05, 0.95, 0.0], [0.2, 0.0, 0.8],
                              [0.6, 0.3, 0.1], [0.7, 0.3, 0.0]])
    labels = np.array([0, 0, 0, 0, 1])  # wrong: 0, 1 (0 -> 1), 2 (0 -> 2), 4 (1 -> 0)
    record = artifacts.select_mistakes(probabilities, labels, list("vwxyz"), ["a", "b", "c"],
                                       count=3)
    assert (record["examples"], record["wrong"]) == (5, 4)
    assert [(m["file"], m["true"], m["predicted"], m["confidence"])
            for m in record["mistakes"]] == [("w", "a", "b", 0.95), ("x", "a", "c", 0.8),
                                             ("z", "b", "a", 0.7)]  # then v, a pair again
    assert [m["file"] for m in artifacts.select_mistakes(
        probabilities, labels, list("vwxyz"), ["a", "b", "c"])["mistakes"]] == list("wxzv")


def tiny_net(size: int = 24):
    import keras

    inputs = keras.Input((size, size, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Rescaling(1 / 255)(inputs))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def test_mistakes_json_from_a_model_and_from_predictions(tmp_path):
    root = square_dataset(tmp_path / "data", per_class=1)
    run = tmp_path / "run"
    run.mkdir()
    config = {"class_names": list(IMAGENETTE_WNIDS), "seed": 0}
    path = artifacts.mistakes_from_checkpoint(run, config, root, net=tiny_net())
    record = json.loads(path.read_text())
    assert record["examples"] == 20 and 0 < len(record["mistakes"]) <= 8
    assert all(m["file"].startswith("val/") and (root / m["file"]).is_file()
               for m in record["mistakes"])
    assert all(m["true"] != m["predicted"] and 0 < m["confidence"] <= 1
               for m in record["mistakes"])

    gpu = tmp_path / "gpu"  # a GPU run's small files: predictions.npz, no best.keras
    gpu.mkdir()
    np.savez_compressed(gpu / "predictions.npz", labels=np.array([0, 1]),
                        probabilities=np.array([[0.2, 0.8], [0.9, 0.1]], "float16"),
                        files=np.array(["val/a/1.JPEG", "val/b/2.JPEG"]))
    notes: list[str] = []
    artifacts.make_model_files(gpu, {"class_names": ["a", "b"]}, None, notes)
    record = json.loads((gpu / "mistakes.json").read_text())
    assert [m["file"] for m in record["mistakes"]] == ["val/b/2.JPEG", "val/a/1.JPEG"]
    assert notes == []  # without best.keras nothing else is asked for
    (gpu / "best.keras").write_bytes(b"")
    artifacts.make_model_files(gpu, {"class_names": ["a", "b"]}, None, notes)
    assert len(notes) == 1 and "conv1_filters.npy and neighbours.json" in notes[0]


@pytest.fixture
def studied(tmp_path) -> dict:
    """studies.collect on two small-data runs, two quick seeds and the modern CPU run."""
    results = tmp_path / "results"
    write_run(results / f"{TENTH}-dropout-crops", train_fraction=0.1)
    write_run(results / f"{TENTH}-neither", train_fraction=0.1, dropout=0.0,
              augmentation="none")
    for seed in (1, 2):
        write_run(results / f"{QUICK}-seed{seed}", seed=seed, precision_used="mixed_bfloat16")
    write_run(results / f"{QUICK}-float32-seed0", precision_used="float32")
    write_run(results / BASELINE, recipe="modern", seconds=(200, 200))
    return studies.collect(results, lambda config: [], [])


def test_study_figures(studied, tmp_path):
    fig = study_figures.smalldata(studied["record"]["smalldata"]["rows"],
                                  studied["smalldata_runs"])
    assert [ax.get_title() for ax in fig.axes] == [
        "dropout + crops", "crops only", "dropout only", "neither"]
    assert [len(ax.lines) for ax in fig.axes] == [2, 0, 0, 2]
    assert fig.axes[1].texts[0].get_text() == "not yet measured"
    fig = study_figures.time_to_accuracy(studied["quick_runs"], studied["modern_cpu"])
    lines = fig.axes[0].lines  # three seeds, the modern run, 75 % and 10 min
    assert len(lines) == 4 + 2
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()  # by precision
    np.testing.assert_allclose(lines[3].get_xdata(), [200 / 60, 400 / 60])
    assert [text.get_text() for text in fig.axes[0].get_legend().get_texts()] == [
        "quick, 128 px, bfloat16 (a line per run)", "quick, 128 px, float32 (a line per run)",
        "modern, 128 px"]
    no_seconds = {"epoch": np.arange(2), "val_accuracy": np.ones(2)}
    assert study_figures.time_to_accuracy({"x": ("float32", no_seconds)}, None) is None

    root = square_dataset(tmp_path / "data", per_class=0)
    record = {"mistakes": [{"file": f"val/{w}/0.JPEG", "true": w, "predicted": IMAGENETTE_WNIDS[0],
                            "confidence": 0.875} for w in IMAGENETTE_WNIDS[1:]]}
    record["mistakes"].append({"file": "val/gone.JPEG", "true": "a", "predicted": "b",
                               "confidence": 0.5})
    notes: list[str] = []
    fig = study_figures.mistakes(record, [root], notes)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert len(titles) == 8 and titles[0] == "English springer\n→ tench (88%)"
    assert len(notes) == 1 and "1 image file(s) not found" in notes[0]

    run = tmp_path / "run"
    (run / "figures").mkdir(parents=True)
    made = study_figures.draw(studied, run, [root], run / "figures", notes := [])
    assert made == {"smalldata": "smalldata.png", "time_to_accuracy": "time_to_accuracy.png",
                    "mistakes": None}
    assert len(notes) == 1 and notes[0].startswith("mistakes.json: not in the run folder")
    artifacts.write_mistakes(run, record)
    made = study_figures.draw(studied | {"modern_cpu": None, "quick_runs": {}}, run, [root],
                              run / "figures", notes := [])
    assert made["mistakes"] == "mistakes.jpg" and made["time_to_accuracy"] is None
    assert (run / "figures" / "mistakes.jpg").is_file() and len(notes) == 2


def test_digest_covers_the_studies(tmp_path):
    run = write_run(tmp_path / "results" / "mine")
    before = report.source_digest(run, tmp_path)
    for name in (f"{TENTH}-neither", f"{QUICK}-seed0"):
        write_run(tmp_path / "results" / name)
        assert report.source_digest(run, tmp_path) != before
        before = report.source_digest(run, tmp_path)
    artifacts.write_mistakes(run, {"mistakes": []})
    assert report.source_digest(run, tmp_path) != before
