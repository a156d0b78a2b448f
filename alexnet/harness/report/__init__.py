"""The companion PDF (``python -m alexnet report``), in an English and a Korean edition:
evidence read from ``results/`` and ``benchmarks/results/``, figures, the Typst build.
Nothing else in the package imports it."""
