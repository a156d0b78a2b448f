"""TrainConfig: its defaults are the modern recipe, the other recipes override them, and
every setting is checked at its bounds with one line naming the flag (the network's own,
by the network's check when a run starts)."""

from __future__ import annotations

import dataclasses

import pytest

from alexnet import recipes as settings
from alexnet.models import MAX_IMAGE_SIZE
from alexnet.recipes import RECIPES, TrainConfig, check, default_recipe, from_recipe


def test_the_defaults_are_the_modern_recipe():
    assert RECIPES["modern"] == {} and settings.GPU_RECIPE == "modern"
    assert settings.CPU_RECIPE == "quick" and set(RECIPES) == {"modern", "quick", "paper"}
    modern = from_recipe("modern")
    assert dataclasses.replace(modern, recipe=None) == TrainConfig()
    assert (modern.variant, modern.image_size, modern.schedule, modern.augmentation) == (
        "bn", 224, "cosine", "rrc")
    quick = from_recipe("quick", epochs=3)
    assert (quick.image_size, quick.epochs, quick.in_memory, quick.recipe) == (128, 3, True,
                                                                               "quick")
    paper = from_recipe("paper", lr=None)  # None: not given, the recipe's value stays
    assert (paper.variant, paper.image_size, paper.lr, paper.schedule) == (
        "paper", 227, 0.01, "plateau")
    with pytest.raises(ValueError, match="unknown recipe 'fast'"):
        from_recipe("fast")


@pytest.mark.parametrize("setting, message", [
    ({"variant": "paper", "image_size": 32}, "--image-size 32: variant 'paper' takes 67 to 512"),
    ({"image_size": MAX_IMAGE_SIZE + 1}, "--image-size 513"),
    ({"dropout": 1.0}, r"--dropout 1.0: must be in \[0, 1\)"),
])
def test_the_networks_settings_are_checked_before_a_run_makes_its_folder(setting, message,
                                                                         tmp_path):
    """The network's own settings are the network's check (models/alexnet.py), which
    ``train.start`` asks first: nothing is made for a setting out of bounds."""
    from alexnet.harness import train

    config = TrainConfig(**setting, out=str(tmp_path / "new" / "run"))  # made: not the net
    with pytest.raises(ValueError, match=message):
        train.start(config)
    assert not (tmp_path / "new").exists()
    train.start(TrainConfig(image_size=MAX_IMAGE_SIZE, out=str(tmp_path / "ok"))).lock.release()


@pytest.mark.parametrize("setting, message", [
    ({"epochs": 0}, "--epochs 0: must be at least 1"),
    ({"batch_size": 0}, "--batch-size 0: must be at least 1"),
    ({"batch_size": 8192}, "--batch-size 8192: at most 4096"),
    ({"patience": 0}, "--patience 0: must be at least 1"),
    ({"lr_patience": 0}, "--lr-patience 0: must be at least 1"),
    ({"lr": 0.0}, "--lr 0.0: must be above 0"),
    ({"lr": -0.1}, "--lr -0.1: must be above 0"),
    ({"momentum": 1.0}, r"--momentum 1.0: must be in \[0, 1\)"),
    ({"weight_decay": -1e-4}, r"--weight-decay -0.0001: must be in \[0, 1\)"),
    ({"label_smoothing": 1.0}, r"--label-smoothing 1.0: must be in \[0, 1\)"),
    ({"warmup_epochs": -1}, "--warmup-epochs -1: must be at least 0"),
    ({"time_limit": 0.0}, "--time-limit 0.0: must be above 0 minutes"),
    ({"limit": 0}, "--limit 0: must be at least 1"),
    ({"variant": "vgg"}, "unknown --variant 'vgg'"),
    ({"augmentation": "fancy"}, "unknown --augmentation 'fancy'"),
    ({"schedule": "step"}, "unknown --schedule 'step'"),
    ({"precision": "fp8"}, "unknown --precision 'fp8'"),
    ({"jit_compile": "yes"}, "unknown --jit-compile 'yes'"),
    ({"strategy": "tpu"}, "unknown --strategy 'tpu'"),
    ({"cutmix": 1.5}, "--cutmix must be at most 1"),
    ({"mixup": -0.2}, "--mixup must be at least 0"),
    ({"lr": float("nan")}, "--lr nan: must be a finite number"),
    ({"momentum": float("inf")}, "--momentum inf: must be a finite number"),
    ({"time_limit": float("inf")}, "--time-limit inf: must be a finite number"),
    ({"seed": -1}, r"--seed -1: must be in \[0, 2\*\*32\)"),
    ({"seed": 2**32}, r"--seed 4294967296: must be in \[0, 2\*\*32\)"),
])
def test_every_setting_is_checked(setting, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**setting)


def test_the_check_is_one_function_for_all_callers():
    config = TrainConfig()
    check(config)  # a valid config passes
    config.epochs = 0  # a config changed after it was made is checked again where asked
    with pytest.raises(ValueError, match="--epochs 0"):
        check(config)
    TrainConfig(seed=2**32 - 1)  # the largest seed there is
    TrainConfig(time_limit=None, train_fraction=None)  # None: not set, not a number


def test_without_a_recipe_the_machine_chooses_and_anything_combines():
    """`train` without --recipe: modern with a GPU, quick without. A strategy shares out
    in-memory squares as it does files (devices.shard), and MixUp and CutMix mix either
    kind of batches: none of them needs or refuses another."""
    assert default_recipe(True) == "modern" and default_recipe(False) == "quick"
    config = from_recipe(default_recipe(False), strategy="mirrored")
    assert (config.recipe, config.strategy, config.in_memory) == ("quick", "mirrored", True)
    config = TrainConfig(mixup=0.2, cutmix=1.0)
    assert (config.in_memory, config.mixup, config.cutmix) == (False, 0.2, 1.0)
    TrainConfig(strategy="multiworker", in_memory=True, mixup=0.2)


def test_every_field_says_what_its_flag_does():
    """The command line's train flags are made from the fields: each has its help."""
    for item in dataclasses.fields(TrainConfig):
        assert item.metadata.get("help"), item.name
    assert settings.fields() == {item.name for item in dataclasses.fields(TrainConfig)}
