"""Time to accuracy: validation top-1 against minutes of training, one curve per recipe.

Trains each ``--recipe`` with each ``--seed`` through the command line (a process of its
own: ``python -m alexnet train --recipe R --seed S ...``), or reads finished run folders
(``--runs``), and writes per run a JSON of (minutes, validation top-1) after every epoch
(the minutes are the sum of ``epoch_seconds`` in history.csv, validation included), and
one plot of accuracy against minutes. So every speed claim is a curve:

    python benchmarks/time_to_accuracy.py --recipe quick --seed 0 1 2 \\
        --data ../shared/datasets/imagenette
    python benchmarks/time_to_accuracy.py --runs results/imagenette-quick-cpu-128-seed* \\
        results/imagenette-modern-cpu-128 --name cpu-2core-xeon
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import common  # benchmarks/common.py

OUT = common.RESULTS_DIR / "time_to_accuracy"


def curve(run_dir: Path) -> dict:
    """A run folder's (minutes, top-1) after every epoch, with what the run was."""
    config = json.loads((run_dir / "config.json").read_text())
    with open(run_dir / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    minutes, elapsed = [], 0.0
    for row in rows:
        elapsed += float(row["epoch_seconds"]) / 60
        minutes.append(round(elapsed, 3))
    metrics_file = run_dir / "metrics.json"
    final = json.loads(metrics_file.read_text())["top1"] if metrics_file.is_file() else None
    return {"run": str(run_dir), "recipe": config.get("recipe"), "seed": config.get("seed"),
            "image_size": config.get("image_size"), "machine": config.get("machine"),
            "command": config.get("command"), "minutes": minutes,
            "val_top1": [float(row["val_accuracy"]) for row in rows], "best_top1": final,
            # what the timed steps before training expected (estimate.py), if recorded
            "estimated_minutes": (round(len(rows) * config["estimate"]["epoch_seconds"] / 60, 3)
                                  if "estimate" in config else None)}


def train(recipe: str, seed: int, data: str, image_size: int | None, out: Path) -> Path:
    run_dir = out / f"{recipe}-seed{seed}"
    command = [sys.executable, "-m", "alexnet", "train", "--recipe", recipe, "--seed",
               str(seed), "--data", data, "--out", str(run_dir), "--no-estimate"]
    if image_size:
        command += ["--image-size", str(image_size)]
    print(" ".join(command), flush=True)
    subprocess.run(command, check=True)
    return run_dir


def plot(curves: list[dict], path: Path, target: float | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    colours = {}
    for record in curves:
        label = f"{record['recipe']} ({record['image_size']} px)"
        colour = colours.setdefault(label, f"C{len(colours)}")
        ax.plot(record["minutes"], [100 * v for v in record["val_top1"]], color=colour,
                marker="o", markersize=3, alpha=0.8,
                label=label if label not in [t.get_label() for t in ax.lines] else None)
    if target:
        ax.axhline(100 * target, color="grey", linestyle=":", linewidth=1)
        ax.text(0.99, 100 * target + 0.5, f"{target:.0%}", color="grey", ha="right",
                va="bottom", transform=ax.get_yaxis_transform(), fontsize=8)
    ax.set(xlabel="minutes of training (validation included)",
           ylabel="validation top-1 (%)", title="Time to accuracy, one line per seed")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", nargs="*", default=[], help="recipes to train")
    parser.add_argument("--seed", nargs="+", type=int, default=[0])
    parser.add_argument("--data", default="imagenette")
    parser.add_argument("--image-size", type=int, help="default: the recipe's")
    parser.add_argument("--runs", nargs="*", default=[], help="finished run folders to read")
    parser.add_argument("--target", type=float, default=0.75, help="a line on the plot")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--name", default="time_to_accuracy", help="the plot's file name")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    folders = [Path(run) for run in args.runs]
    folders += [train(recipe, seed, args.data, args.image_size, args.out / "runs")
                for recipe in args.recipe for seed in args.seed]
    if not folders:
        parser.error("nothing to measure: give --recipe or --runs")
    curves = []
    for folder in folders:
        record = curve(folder)
        (args.out / f"{folder.name}.json").write_text(json.dumps(record, indent=1) + "\n")
        curves.append(record)
        last = record["minutes"][-1]
        expected = record["estimated_minutes"]
        print(f"{folder.name}: {record['best_top1'] or max(record['val_top1']):.1%} top-1 "
              f"after {last:.1f} min ({len(record['minutes'])} epochs)"
              + (f"; estimated {expected:.1f} min ({expected / last - 1:+.0%})"
                 if expected else ""))
    path = args.out / f"{args.name}.png"
    plot(curves, path, args.target)
    print(f"Wrote {path}")
    return path


if __name__ == "__main__":
    main()
