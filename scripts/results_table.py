"""Prints README's results table (Markdown) from the run folders under results/."""

import argparse
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    from alexnet.harness.report import (
        evidence,  # after parsing: --help answers without loading Keras
    )

    folders = sorted(path.parent for path in (PROJECT / "results").glob("*/metrics.json"))
    print(evidence.results_table(folders))


if __name__ == "__main__":
    main()
