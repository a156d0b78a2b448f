"""The command line: help, one-line errors for bad arguments (issue 2), and the settings
that reach a run."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from alexnet.__main__ import main
from conftest import PROJECT, stub_training, write_image


def run(*args: str, cwd=PROJECT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    return subprocess.run([sys.executable, "-m", "alexnet", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "summary", "prepare",
                                     "port", "report"])
def test_help(command):
    result = run(command, "--help")
    assert result.returncode == 0 and "usage:" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "/no/such/folder"], "error: --data /no/such/folder: no such folder"),
    (["train", "--image-size", "40", "--data", "x"], "--image-size 40: variant 'bn' takes 63"),
    (["evaluate", "--model", "/no/model.keras"], "error: /no/model.keras: no such model file"),
])
def test_bad_arguments_exit_with_one_line(args, message, tmp_path):
    result = run(*args, cwd=tmp_path)  # a run folder, if any, goes to checkpoints/ there
    assert result.returncode == 2
    assert message in last_line(result.stderr)
    assert "Traceback" not in result.stderr


def test_unknown_variant_is_refused_by_the_parser():
    result = run("train", "--variant", "vgg")
    assert result.returncode == 2 and "invalid choice: 'vgg'" in result.stderr


def test_predict_refuses_a_non_image(tmp_path, capsys):
    """Images it can read are classified; a file that is not an image (a text file, a
    shell script named .jpg) ends the command with one line naming it."""
    from alexnet.models.alexnet import build

    model_path = tmp_path / "m.keras"
    build("bn", 3, 64).save(model_path)
    (tmp_path / "config.json").write_text('{"class_names": ["a", "b", "c"]}')
    real = write_image(tmp_path / "real.png", (70, 90))
    for name, content in (("notes.txt", b"hello"), ("fake.jpg", b"#!/bin/sh\necho hi\n")):
        (tmp_path / name).write_bytes(content)
        assert main(["predict", "--model", str(model_path), str(real),
                     str(tmp_path / name)]) == 2
        out, err = capsys.readouterr()
        assert str(real) in out and out.count("%") == 3  # its three classes
        # one line naming the file and why (the one decoder's words: batches.decode_square)
        assert re.match(rf"error: {re.escape(str(tmp_path / name))}: not (an image|decodable)",
                        last_line(err)), err


def test_class_count_must_match_the_models_outputs(tmp_path, tiny_dataset, capsys):
    from alexnet.models.alexnet import build

    model_path = tmp_path / "run" / "m.keras"  # 5 outputs, no config.json beside it
    model_path.parent.mkdir()
    build("bn", 5, 64).save(model_path)
    assert main(["evaluate", "--model", str(model_path), "--data", str(tiny_dataset)]) == 2
    assert re.search(r"error: the model has 5 outputs but \S*val/? names 3 classes$",
                     last_line(capsys.readouterr().err))
    names = tmp_path / "names.txt"
    names.write_text("cat\ndog\neel\n")
    image = write_image(tmp_path / "real.png", (70, 90))
    assert main(["predict", "--model", str(model_path), "--classes", str(names),
                 str(image)]) == 2
    assert (f"5 outputs but --classes {names} names 3 classes"
            in last_line(capsys.readouterr().err))
    (model_path.parent / "config.json").write_text('{"class_names": ["a", "b"]}')
    assert main(["predict", "--model", str(model_path), str(image)]) == 2
    err = capsys.readouterr().err
    assert "names 2 classes" in last_line(err) and "config.json" in err


def test_train_settings_reach_the_config_over_the_recipe(monkeypatch, tmp_path):
    """Every training flag lands in TrainConfig, over the recipe's value."""
    configs = stub_training(monkeypatch, tmp_path)
    flags = {"--momentum": "0.8", "--weight-decay": "1e-4", "--schedule": "plateau",
             "--warmup-epochs": "2", "--label-smoothing": "0.2", "--dropout": "0.3",
             "--init": "glorot", "--time-limit": "1.5", "--lr": "0.02"}
    argv = ["train", "--recipe", "modern", "--no-estimate",
            *(x for pair in flags.items() for x in pair)]
    assert main(argv) == 0
    config = configs[0]
    assert (config.momentum, config.weight_decay, config.schedule, config.warmup_epochs,
            config.label_smoothing, config.dropout, config.init, config.time_limit,
            config.lr) == (0.8, 1e-4, "plateau", 2, 0.2, 0.3, "glorot", 1.5, 0.02)
    assert config.recipe == "modern" and config.augmentation == "rrc"  # the rest: the recipe's


@pytest.mark.parametrize("gpu, recipe", [(None, "quick"), ((8, 0), "modern")])
def test_train_without_flags_takes_the_machines_recipe(monkeypatch, tmp_path, capsys, gpu,
                                                       recipe):
    """`python -m alexnet train` alone (README's main job) trains the modern recipe on a
    GPU and the quick one without (the notebook's defaults too), and walks the steps in
    the notebook's order, the time estimate among the callbacks."""
    from alexnet import recipes as settings
    from alexnet import training

    calls = stub_training(monkeypatch, tmp_path)
    monkeypatch.setattr(training, "gpu_capability", lambda: gpu)
    assert main(["train"]) == 0
    config, *order = calls
    assert order == ["load_data", "build_model", "compile_model", "make_callbacks(estimate)",
                     "fit", "finish"]
    assert (settings.GPU_RECIPE, settings.CPU_RECIPE) == ("modern", "quick")
    assert config.recipe == recipe and f"Recipe {recipe!r}" in capsys.readouterr().out
    expected = settings.from_recipe(recipe)
    assert (config.variant, config.lr, config.schedule, config.augmentation,
            config.batch_size, config.image_size, config.in_memory) == (
        expected.variant, expected.lr, expected.schedule, expected.augmentation,
        expected.batch_size, expected.image_size, expected.in_memory)


def test_a_strategy_alone_is_not_refused_on_a_cpu(monkeypatch, tmp_path, capsys):
    """`train --strategy mirrored` without --recipe on a CPU: the quick recipe, its
    in-memory squares shared out among the replicas (devices.shard) as files would be."""
    from alexnet import training

    calls = stub_training(monkeypatch, tmp_path)
    monkeypatch.setattr(training, "gpu_capability", lambda: None)
    assert main(["train", "--strategy", "mirrored"]) == 0
    config = calls[0]
    assert (config.recipe, config.strategy, config.in_memory) == ("quick", "mirrored", True)
    assert "Recipe 'quick'" in capsys.readouterr().out


def test_a_failed_start_leaves_no_run_folder(tmp_path, capsys):
    """A wrong --data stops `train` before training with one line, and leaves nothing
    behind: neither the run folder nor the folders above it that the start made."""
    out = tmp_path / "new" / "run"
    argv = ["train", "--data", str(tmp_path / "nonexistent"), "--out", str(out),
            "--no-estimate", "--recipe", "quick"]
    assert main(argv) == 2
    assert "no such folder" in last_line(capsys.readouterr().err)
    assert not (tmp_path / "new").exists()


def test_the_parsers_choices_are_the_packages():
    """The parser lists the package's names (without importing Keras for --help): one
    vocabulary, checked here so the two cannot drift apart."""
    from alexnet import models
    from alexnet import recipes as config
    from alexnet.__main__ import parser
    from alexnet.data.augment import AUGMENTATIONS

    commands = next(a for a in parser()._actions if a.dest == "command").choices
    choices = {a.dest: tuple(a.choices) for a in commands["train"]._actions if a.choices}
    assert choices == {"recipe": tuple(config.RECIPES), "variant": models.VARIANTS,
                       "schedule": config.SCHEDULES, "init": models.INITS,
                       "augmentation": tuple(AUGMENTATIONS),
                       "strategy": config.STRATEGIES, "precision": config.PRECISIONS,
                       "jit_compile": config.JIT_COMPILE}
    summary = {a.dest: tuple(a.choices) for a in commands["summary"]._actions if a.choices}
    assert summary == {"variant": models.VARIANTS}


def test_the_train_flags_are_the_configs_fields():
    """``train``'s flags are made from TrainConfig's fields: one flag a field (``recipe``:
    --recipe, the preset), its help the field's, booleans as --flag/--no-flag; each flag
    given reaches its field."""
    import argparse
    import dataclasses

    from alexnet.__main__ import parser
    from alexnet.recipes import TrainConfig

    commands = next(a for a in parser()._actions if a.dest == "command").choices
    flags = {a.dest: a for a in commands["train"]._actions if a.option_strings}
    fields = {item.name: item for item in dataclasses.fields(TrainConfig)}
    assert set(fields) <= set(flags)
    assert set(flags) - set(fields) == {"help", "estimate", "resume"}
    for name, item in fields.items():
        action = flags[name]
        assert f"--{name.replace('_', '-')}" in action.option_strings
        assert action.default is None  # given flags override the recipe, no others
        if name != "recipe":
            assert item.metadata["help"] in action.help, name
        if isinstance(item.default, bool):
            assert isinstance(action, argparse.BooleanOptionalAction), name
            assert f"--no-{name.replace('_', '-')}" in action.option_strings
    train = commands["train"]
    assert train.parse_args(["--in-memory", "--no-cache"]).in_memory is True
    assert train.parse_args(["--no-in-memory"]).in_memory is False
    parsed = train.parse_args(["--epochs", "3", "--lr", "0.5", "--image-size", "96",
                               "--val-dir", "test", "--time-limit", "2.5"])
    assert (parsed.epochs, parsed.lr, parsed.image_size, parsed.val_dir, parsed.time_limit) \
        == (3, 0.5, 96, "test", 2.5)
