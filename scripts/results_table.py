"""Prints README's results table (Markdown) from the run folders under results/."""

import argparse


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    from alexnet import evidence  # after parsing: --help answers without loading Keras

    print(evidence.results_table())


if __name__ == "__main__":
    main()
