"""The other runs the PDF cites (runs.py): the ablation table, the recipes, the first
steps of the 2012 recipe, the digest of the evidence, and the results table, on
generated run folders."""

from __future__ import annotations

import json
from pathlib import Path

from alexnet.harness.report import build as report
from alexnet.harness.report import evidence, runs


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


def test_results_table_rows_and_tied_top5(tmp_path):
    """README's and the notebook's results table: one row per run, a top-5 decided by
    tied outputs shown as no result."""
    runs = []
    for name, tied in (("good", 0), ("diverged", 3516)):
        folder = tmp_path / name
        folder.mkdir()
        precision = {"precision_used": "float32"} if name == "good" else {}  # older runs: none
        (folder / "config.json").write_text(json.dumps(
            {"variant": "bn", "recipe": "modern", "epochs": 3, "image_size": 128,
             "machine": "a CPU", "command": f"python -m alexnet train --out {name}",
             **precision}))
        (folder / "metrics.json").write_text(json.dumps(
            {"top1": 0.75, "top5": 0.97, "top5_tied": tied, "ten_crop": {"top1": 0.76}}))
        (folder / "history.csv").write_text("epoch,epoch_seconds\n0,60\n1,90\n")
        runs.append(folder)
    lines = evidence.results_table(runs).splitlines()
    assert len(lines) == 4
    assert lines[2].startswith("| good | bn | modern | 2 of 3 | 128 | 75.0% | 97.0% | 76.0% |")
    assert "2.5 min" in lines[2] and "`python -m alexnet train --out good`" in lines[2]
    assert "| a CPU, float32 |" in lines[2] and "| a CPU |" in lines[3]
    assert "| tied, - |" in lines[3]
