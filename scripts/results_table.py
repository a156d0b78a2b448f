"""Prints README's results table (Markdown) from the run folders under results/."""

import argparse
import csv
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent / "results"


def top5(metrics: dict) -> str:
    """The top-5 figure, unless ties among the outputs decided it (not a result)."""
    if metrics.get("top5") is None or metrics.get("top5_tied"):
        return "tied, -"
    return f"{metrics['top5']:.1%}"


def row(folder: Path) -> str:
    config = json.loads((folder / "config.json").read_text())
    metrics = json.loads((folder / "metrics.json").read_text())
    with open(folder / "history.csv", newline="") as f:
        epochs = list(csv.DictReader(f))
    seconds = sum(float(e.get("epoch_seconds") or 0) for e in epochs)
    ten = metrics.get("ten_crop", {})
    ten_top1 = f"{ten['top1']:.1%}" if ten else "-"
    return (f"| {folder.name} | {config['variant']} | {config.get('recipe', '-')} | "
            f"{len(epochs)} of {config['epochs']} | {config['image_size']} | "
            f"{metrics['top1']:.1%} | {top5(metrics)} | {ten_top1} | "
            f"{config.get('machine', '-')} | {seconds / 60:.1f} min | "
            f"`{config.get('command', '-')}` |")


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    print("| run | variant | recipe | epochs | image size | top-1 | top-5 | 10-crop top-1 "
          "| machine | training time | command |")
    print("| --- | --- | --- | --- | --- | ---: | ---: | ---: | --- | ---: | --- |")
    for folder in sorted(RESULTS.iterdir()):
        if (folder / "metrics.json").is_file():
            print(row(folder))


if __name__ == "__main__":
    main()
