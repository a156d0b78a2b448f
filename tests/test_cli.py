"""The command line: help, and one-line errors for bad arguments (issue 2)."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from conftest import PROJECT, write_image


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alexnet", *args], cwd=PROJECT,
                          capture_output=True, text=True, timeout=300)


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "summary"])
def test_help(command):
    result = run(command, "--help")
    assert result.returncode == 0 and "usage:" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "/no/such/folder"], "error: --data /no/such/folder: no such folder"),
    (["train", "--image-size", "40", "--data", "x"], "too small for variant 'bn'"),
    (["evaluate", "--model", "/no/model.keras"], "error: /no/model.keras: no such model file"),
])
def test_bad_arguments_exit_with_one_line(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in last_line(result.stderr)
    assert "Traceback" not in result.stderr


def test_unknown_variant_is_refused_by_the_parser():
    result = run("train", "--variant", "vgg")
    assert result.returncode == 2 and "invalid choice: 'vgg'" in result.stderr


def test_predict_refuses_a_non_image(tmp_path):
    from alexnet import model

    model_path = tmp_path / "m.keras"
    model.build("bn", 3, 64).save(model_path)
    (tmp_path / "config.json").write_text('{"class_names": ["a", "b", "c"]}')
    fake = tmp_path / "notes.jpg"
    fake.write_text("not an image")
    real = write_image(tmp_path / "real.png", (70, 90))
    result = run("predict", "--model", str(model_path), str(real), str(fake))
    assert result.returncode == 2, result.stderr
    assert "notes.jpg: not an image" in last_line(result.stderr)
    assert str(real) in result.stdout and "%" in result.stdout


def test_class_count_must_match_the_models_outputs(tmp_path, tiny_dataset):
    from alexnet import model

    model_path = tmp_path / "run" / "m.keras"  # 5 outputs, no config.json beside it
    model_path.parent.mkdir()
    model.build("bn", 5, 64).save(model_path)
    result = run("evaluate", "--model", str(model_path), "--data", str(tiny_dataset))
    assert result.returncode == 2, result.stderr
    assert (f"the model has 5 outputs but {tiny_dataset / 'val'} names 3 classes"
            in last_line(result.stderr))
    names = tmp_path / "names.txt"
    names.write_text("cat\ndog\neel\n")
    image = write_image(tmp_path / "real.png", (70, 90))
    result = run("predict", "--model", str(model_path), "--classes", str(names), str(image))
    assert result.returncode == 2, result.stderr
    assert f"5 outputs but --classes {names} names 3 classes" in last_line(result.stderr)
    (model_path.parent / "config.json").write_text('{"class_names": ["a", "b"]}')
    result = run("predict", "--model", str(model_path), str(image))
    assert "names 2 classes" in last_line(result.stderr) and "config.json" in result.stderr


def test_train_settings_reach_the_config_over_the_recipe(monkeypatch, tmp_path):
    """Every training flag lands in TrainConfig, over the recipe's value."""
    from alexnet import __main__ as cli
    from alexnet import train

    configs = []
    monkeypatch.setattr(train, "prepare", lambda config, **_: configs.append(config)
                        or SimpleNamespace(run_dir=tmp_path, strategy=None))
    monkeypatch.setattr(train, "fit", lambda run, **_: None)
    monkeypatch.setattr(train, "finish", lambda run: None)
    flags = {"--momentum": "0.8", "--weight-decay": "1e-4", "--schedule": "plateau",
             "--warmup-epochs": "2", "--label-smoothing": "0.2", "--dropout": "0.3",
             "--init": "glorot", "--time-limit": "1.5", "--lr": "0.02"}
    argv = ["train", "--recipe", "modern", "--no-estimate",
            *(x for pair in flags.items() for x in pair)]
    assert cli.main(argv) == 0
    config = configs[0]
    assert (config.momentum, config.weight_decay, config.schedule, config.warmup_epochs,
            config.label_smoothing, config.dropout, config.init, config.time_limit,
            config.lr) == (0.8, 1e-4, "plateau", 2, 0.2, 0.3, "glorot", 1.5, 0.02)
    assert config.recipe == "modern" and config.augmentation == "rrc"  # the rest: the recipe's


def test_train_without_flags_takes_the_best_recipe(monkeypatch, tmp_path):
    """`python -m alexnet train` alone (README's main job) trains the default recipe,
    the notebook's default too; its estimate is printed before fit."""
    from alexnet import __main__ as cli
    from alexnet import config as settings
    from alexnet import estimate, train

    calls = []
    monkeypatch.setattr(train, "prepare", lambda config, **_: calls.append(config)
                        or SimpleNamespace(run_dir=tmp_path, strategy=None))
    monkeypatch.setattr(estimate, "time_steps", lambda run: calls.append("estimate") or "")
    monkeypatch.setattr(train, "fit", lambda run, **_: calls.append("fit"))
    monkeypatch.setattr(train, "finish", lambda run: None)
    assert cli.main(["train"]) == 0
    config, *order = calls
    assert order == ["estimate", "fit"]
    assert settings.DEFAULT_RECIPE == "modern" and config.recipe == "modern"
    expected = settings.from_recipe("modern")
    assert (config.variant, config.lr, config.schedule, config.augmentation,
            config.batch_size) == (expected.variant, expected.lr, expected.schedule,
                                   expected.augmentation, expected.batch_size)


def test_the_parsers_choices_are_the_packages():
    """The parser lists the package's names (without importing Keras for --help): one
    vocabulary, checked here so the two cannot drift apart."""
    from alexnet import augmentation, config, model, precision
    from alexnet.__main__ import parser

    commands = next(a for a in parser()._actions if a.dest == "command").choices
    choices = {a.dest: tuple(a.choices) for a in commands["train"]._actions if a.choices}
    assert choices == {"recipe": tuple(config.RECIPES), "variant": model.VARIANTS,
                       "schedule": config.SCHEDULES, "init": model.INITS,
                       "augmentation": tuple(augmentation.AUGMENTATIONS),
                       "strategy": config.STRATEGIES[1:], "precision": precision.PRECISIONS,
                       "jit_compile": precision.JIT_COMPILE}
