"""Untrusted files run no code: models load in safe mode, ``predict`` takes only
images (tests/test_cli.py), and nothing in the package unpickles."""

from __future__ import annotations

import re
from pathlib import Path

import keras
import pytest

from alexnet.__main__ import main
from alexnet.harness import runfolder
from conftest import PROJECT

PACKAGE = PROJECT / "alexnet"


def malicious_model(path: Path, marker: Path) -> Path:
    """A .keras file whose Lambda layer creates ``marker`` when it runs (Keras stores a
    lambda's bytecode, so this code travels inside the file)."""
    code = eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]")  # path in its bytecode
    payload = keras.layers.Lambda(code)
    net = keras.Sequential([keras.Input((4,)), payload])
    net.save(path)
    marker.unlink()  # building the model ran it once; loading must not
    return path


def test_lambda_model_is_refused(tmp_path, capsys):
    marker = tmp_path / "pwned"
    evil = malicious_model(tmp_path / "evil.keras", marker)
    with pytest.raises(ValueError, match="Lambda"):
        runfolder.load_model(evil)
    assert main(["evaluate", "--model", str(evil), "--data", str(tmp_path)]) == 2
    assert "safe_mode" in capsys.readouterr().err
    assert not marker.exists()
    keras.saving.load_model(evil, safe_mode=False)  # control: the payload is real
    assert marker.exists()


def test_nothing_unpickles_or_turns_safe_mode_off():
    """Pickle runs code on load; so do torch.load without weights_only and Keras'
    safe_mode=False. None of them may appear in the package."""
    forbidden = re.compile(r"\bpickle\b|\bdill\b|\bjoblib\b|allow_pickle\s*=\s*True|"
                           r"safe_mode\s*=\s*False|torch\.load\((?![^)]*weights_only\s*=\s*True)")
    offending = [f"{path.name}:{number}: {line.strip()}"
                 for path in sorted(PACKAGE.rglob("*.py"))
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if forbidden.search(line)]
    assert offending == []
