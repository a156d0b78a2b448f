"""benchmarks/time_to_accuracy.py on finished run folders written here (config.json and
history.csv, no training): the curve of (minutes, top-1) per epoch, the estimate before
training held against the real minutes, and the frontier: minutes to each threshold per
seed and per group (the median), its table, its JSON and its figure. No timing assertions."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from conftest import PROJECT

SCRIPT = PROJECT / "benchmarks" / "time_to_accuracy.py"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(SCRIPT.parent))  # it imports benchmarks/common.py
    spec = importlib.util.spec_from_file_location("time_to_accuracy", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(SCRIPT.parent))


def run_folder(folder, estimate=None):
    folder.mkdir()
    config = {"recipe": "quick", "seed": 1, "image_size": 128, "machine": "a CPU"}
    if estimate:
        config["estimate"] = {"epoch_seconds": estimate}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "history.csv").write_text("epoch,epoch_seconds,val_accuracy\n"
                                        "0,60,0.5\n1,90,0.7\n")
    return folder


def test_curves_and_the_estimate_against_real_minutes(bench, tmp_path, capsys):
    record = bench.curve(run_folder(tmp_path / "timed", estimate=60.0))
    assert record["minutes"] == [1.0, 2.5] and record["val_top1"] == [0.5, 0.7]
    assert record["estimated_minutes"] == 2.0  # two epochs of 60 s expected
    assert bench.curve(run_folder(tmp_path / "untimed"))["estimated_minutes"] is None

    bench.main(["--runs", str(tmp_path / "timed"), "--out", str(tmp_path / "out")])
    assert "70.0% top-1 after 2.5 min (2 epochs); estimated 2.0 min (-20%)" in (
        capsys.readouterr().out)
    written = json.loads((tmp_path / "out" / "time_to_accuracy.json").read_text())
    assert written["curves"][0]["estimated_minutes"] == 2.0
    assert (tmp_path / "out" / "time_to_accuracy.png").is_file()


def write_run(folder, val_top1, seconds=60.0, seed=0, **config):
    """A run folder as `train` leaves it: config.json and history.csv (one epoch a row)."""
    folder.mkdir(parents=True)
    config = {"recipe": "quick", "image_size": 128, "epochs": 12, "batch_size": 128,
              "lr": 0.02, "precision": "auto", "seed": seed, "machine": "a 2-core CPU",
              "data": "/somewhere/imagenette", **config}
    (folder / "config.json").write_text(json.dumps(config))
    seconds = seconds if isinstance(seconds, list) else [seconds] * len(val_top1)
    rows = "".join(f"{epoch},{s},{v}\n"
                   for epoch, (s, v) in enumerate(zip(seconds, val_top1, strict=True)))
    (folder / "history.csv").write_text("epoch,epoch_seconds,val_accuracy\n" + rows)
    return folder


def test_minutes_to_each_threshold_reached_or_not(bench, tmp_path):
    record = bench.curve(write_run(tmp_path / "run", [0.5, 0.65, 0.72, 0.71], seconds=90))
    seed = bench.seed_frontier(record)
    assert seed["minutes_to"] == {"60": 3.0, "70": 4.5, "75": None}  # 1.5 min an epoch
    assert (seed["best_top1"], seed["best_minutes"], seed["total_minutes"]) == (0.72, 4.5, 6.0)
    group = bench.frontier([record])["groups"][0]
    assert group["label"] == "quick 128px 12 ep precision auto"
    assert group["median"]["minutes_to"]["75"] is None and group["reached"]["75"] == 0
    assert bench.frontier([record], thresholds=[0.72])["fastest"]["72"]["minutes"] == 4.5


def test_three_seeds_give_their_median_and_settings_their_own_group(bench, tmp_path):
    curves = [bench.curve(write_run(tmp_path / f"quick-seed{seed}", top1, seconds, seed=seed))
              for seed, top1, seconds in (
                  (0, [0.62, 0.71, 0.76], 60),    # 60 % at 1, 70 % at 2, 75 % at 3 min
                  (1, [0.55, 0.72, 0.74], 120),   # 60 % at 4, 70 % at 4, 75 % never
                  (2, [0.61, 0.69, 0.755], 30))]  # 60 % at 0.5, 70 % at 1.5, 75 % at 1.5
    # what differs from the recipe's defaults is named; the resolved precision is shown
    curves.append(bench.curve(write_run(tmp_path / "fast", [0.58, 0.76], 45, epochs=8,
                                        lr=0.04, precision_used="float32")))
    curves.append(bench.curve(write_run(tmp_path / "modern", [0.4, 0.61], 300,
                                        recipe="modern", epochs=20, batch_size=256, lr=0.05,
                                        augmentation="rrc", patience=80)))
    result = bench.frontier(curves)
    quick, fast, modern = result["groups"]
    assert [s["seed"] for s in quick["seeds"]] == [0, 1, 2]
    assert [s["minutes_to"]["75"] for s in quick["seeds"]] == [3.0, None, 1.5]
    assert quick["median"]["minutes_to"] == {"60": 1.0, "70": 2.0, "75": 3.0}
    assert quick["reached"] == {"60": 3, "70": 3, "75": 2}
    assert quick["median"]["best_top1"] == 0.755 and quick["median"]["total_minutes"] == 3.0
    assert fast["label"] == "quick 128px 8 ep float32 lr=0.04"
    assert modern["label"] == "modern 128px 20 ep precision auto patience=80"
    assert modern["median"]["minutes_to"] == {"60": 10.0, "70": None, "75": None}
    assert result["fastest"] == {"60": {"label": quick["label"], "minutes": 1.0},
                                 "70": {"label": fast["label"], "minutes": 1.5},
                                 "75": {"label": fast["label"], "minutes": 1.5}}

    text = bench.table(result)
    assert ("| quick 128px 12 ep precision auto | 0, 1, 2 | 1.0 | 2.0 | 3.0 (2 of 3) "
            "| 75.50% at 3.0 min | 3.0 |") in text
    assert "| modern 128px 20 ep precision auto patience=80 | 0 | 10.0 | not reached" in text
    assert "70 % in 1.5 min (quick 128px 8 ep float32 lr=0.04)" in text


def test_main_writes_the_json_and_the_figure(bench, tmp_path, capsys):
    runs = [write_run(tmp_path / f"seed{seed}", [0.6 + 0.05 * seed, 0.74, 0.76], seed=seed)
            for seed in range(3)]
    runs.append(write_run(tmp_path / "short", [0.5, 0.58], 30, epochs=2))
    out = tmp_path / "out"
    path = bench.main(["--runs", *map(str, runs), "--out", str(out), "--name", "check"])
    printed = capsys.readouterr().out
    assert "| run | seeds | min to 60 % | min to 70 % | min to 75 % |" in printed
    assert "seed1: 76.0% top-1 after 3.0 min (3 epochs); 60 % at 1.0 min, 70 % at 2.0 min" in (
        printed)
    assert "short: 58.0% top-1 after 1.0 min (2 epochs); 60 % not reached" in printed

    written = json.loads((out / "check.json").read_text())
    assert written["thresholds"] == [0.6, 0.7, 0.75] and len(written["curves"]) == 4
    assert [g["label"] for g in written["groups"]] == ["quick 128px 12 ep precision auto",
                                                      "quick 128px 2 ep precision auto"]
    assert written["groups"][0]["median"]["minutes_to"] == {"60": 1.0, "70": 2.0, "75": 3.0}
    assert written["fastest"]["75"]["minutes"] == 3.0
    assert path == out / "check.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob("seed*.json"))  # one JSON, the curves inside it


def test_main_refuses_a_folder_without_a_history(bench, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        bench.main(["--runs", str(tmp_path / "empty"), "--out", str(tmp_path / "out")])
    assert "not a finished run folder" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_training_mode_runs_the_command_line_then_reads_its_folders(bench, tmp_path,
                                                                        monkeypatch):
    """--recipe trains through `python -m alexnet train` (a stand-in writes the folder)."""
    commands = []

    def trained(command, check):
        commands.append(command)
        out = command[command.index("--out") + 1]
        write_run(tmp_path / out, [0.61, 0.7], seed=int(command[command.index("--seed") + 1]),
                  precision="float32")

    monkeypatch.setattr(bench.subprocess, "run", trained)
    out = tmp_path / "out"
    bench.main(["--recipe", "quick", "--seed", "0", "1", "--image-size", "96", "--precision",
                "float32", "--data", "somewhere", "--out", str(out), "--name", "trained"])
    assert [c[3:] for c in commands] == [
        ["train", "--recipe", "quick", "--seed", str(seed), "--data", "somewhere", "--out",
         str(out / "runs" / f"quick-96-float32-seed{seed}"), "--no-estimate",
         "--image-size", "96", "--precision", "float32"] for seed in (0, 1)]
    written = json.loads((out / "trained.json").read_text())
    assert [s["seed"] for s in written["groups"][0]["seeds"]] == [0, 1]
    assert written["groups"][0]["label"] == "quick 128px 12 ep float32"
