"""TrainConfig: its defaults are the modern recipe, the other recipes override them, and
every setting is checked at its bounds with one line naming the flag (the network's own,
by the network's check when a run starts)."""

from __future__ import annotations

import dataclasses

import pytest

from alexnet.models import MAX_IMAGE_SIZE
from alexnet import recipes as settings
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
    ({"strategy": "mirrored", "in_memory": True}, "--strategy reads files .* drop --in-memory"),
    ({"cutmix": 1.5, "in_memory": True}, "--cutmix must be at most 1"),
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
    assert TrainConfig(data="pack.npz").in_memory_arrays  # a pack is always in memory
    assert not TrainConfig().in_memory_arrays


def test_without_a_recipe_the_machine_chooses_and_a_strategy_reads_files():
    """`train` without --recipe: modern with a GPU, quick without. quick holds the images
    in memory, which --strategy cannot share out: with a strategy (and no --in-memory)
    it reads the files instead, and says so; asked for both, the check refuses."""
    assert default_recipe(True, {}) == ("modern", {}, "")
    assert default_recipe(False, {"epochs": 3}) == ("quick", {"epochs": 3}, "")
    recipe, settings, note = default_recipe(False, {"strategy": "mirrored"})
    config = from_recipe(recipe, **settings)
    assert (config.recipe, config.strategy, config.in_memory) == ("quick", "mirrored", False)
    assert "--strategy mirrored" in note
    assert default_recipe(True, {"strategy": "mirrored"}) == (
        "modern", {"strategy": "mirrored"}, "")
    recipe, settings, _ = default_recipe(False, {"strategy": "mirrored", "in_memory": True})
    with pytest.raises(ValueError, match="drop --in-memory"):
        from_recipe(recipe, **settings)
