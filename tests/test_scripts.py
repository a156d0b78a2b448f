"""The step-level diagnostics run on tiny configurations: the first-steps script of a
recipe, and the per-op profile of a training step. No timing assertions."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_first_steps_reports_one_finite_loss_per_step(tiny_dataset, capsys):
    first_steps = load(ROOT / "scripts" / "first_steps.py")
    losses = first_steps.main(["--recipe", "modern", "--steps", "2", "--batch-size", "4",
                               "--image-size", "64", "--data", str(tiny_dataset)])
    assert len(losses) == 2 and all(math.isfinite(loss) and loss > 0 for loss in losses)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step")]
    assert len(lines) == 2 and "most predicted class" in lines[0]


def test_profile_lists_the_convolutions_of_a_step(capsys):
    profile = load(ROOT / "benchmarks" / "profile_step.py")
    profile.main(["--variant", "owt", "--batch-size", "2", "--image-size", "64",
                  "--steps", "1", "--top", "3"])
    out = capsys.readouterr().out
    assert "ms per step by op type" in out
    op_types = out.split("ms per step by op type:")[1].split("ms per step by single op")[0]
    assert "Conv2D" in op_types and "MatMul" in op_types
