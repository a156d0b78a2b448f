"""``--precision`` and ``--jit-compile``: what ``auto`` picks on each kind of hardware, the
global policy layers take, and XLA in ``compile``."""

from __future__ import annotations

import keras
import pytest

from alexnet import training
from alexnet.harness import train
from alexnet.recipes import TrainConfig
from conftest import compiled


@pytest.mark.parametrize("gpu, bfloat16_cpu, expected", [
    (None, False, "float32"), (None, True, "mixed_bfloat16"),  # AMX / AVX512-BF16 CPUs
    ((6, 1), False, "float32"), ((7, 5), False, "mixed_float16"),
    ((8, 0), False, "mixed_bfloat16"), ((9, 0), True, "mixed_bfloat16")])
def test_auto_precision_follows_the_hardware(monkeypatch, gpu, bfloat16_cpu, expected):
    monkeypatch.setattr(training, "gpu_capability", lambda: gpu)
    monkeypatch.setattr(training, "cpu_flags",
                        lambda: {"avx2", "amx_bf16"} if bfloat16_cpu else {"avx2"})
    assert training.precision("auto") == expected
    assert training.precision() == expected  # auto is the default
    assert training.precision("float32") == "float32"  # a choice is kept


def test_precision_and_xla_settings():
    if training.gpu_capability() is None:  # this machine, as auto sees it
        assert training.precision("auto") == (
            "mixed_bfloat16" if {"amx_bf16", "avx512_bf16"} & training.cpu_flags()
            else "float32")
    assert training.precision("mixed_bfloat16") == "mixed_bfloat16"
    settings = [training.jit_compile(s) for s in ("auto", "on", "off")]
    assert settings == ["auto", True, False]
    with pytest.raises(ValueError, match="--precision 'fp8'"):
        TrainConfig(precision="fp8")  # the one check of a setting: the config's
    with pytest.raises(ValueError, match="--jit-compile 'yes'"):
        TrainConfig(jit_compile="yes")


def test_the_machine_is_described_for_the_record():
    machine = training.machine()
    assert set(machine) == {"gpu", "cpu", "threads", "amx_bf16", "avx512_bf16"}
    assert machine["threads"] >= 1 and machine["cpu"]
    assert machine["amx_bf16"] == ("amx_bf16" in training.cpu_flags())
    assert (machine["gpu"] is None) == (training.gpu_capability() is None)


def test_build_model_sets_the_global_policy(tiny_dataset, tmp_path):
    """A run's network is built in its precision: the global dtype policy, set before the
    layers are made (mixed: bfloat16 computation, float32 weights)."""
    config = TrainConfig(data=str(tiny_dataset), precision="mixed_bfloat16", image_size=64,
                         out=str(tmp_path / "run"))
    run = train.Run(config, tmp_path / "run", tmp_path / "run", lock=None,
                    class_names=["a", "b", "c"])
    net = train.build_model(run)
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    conv = net.get_layer("conv1")
    assert (conv.compute_dtype, conv.variable_dtype) == ("bfloat16", "float32")
    keras.mixed_precision.set_global_policy("float32")
    assert keras.layers.Dense(2).compute_dtype == "float32"


def test_compile_model_applies_xla_setting():
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(10, activation="softmax")])
    compiled(net, TrainConfig(jit_compile="off"))
    assert net.jit_compile is False
    compiled(net, TrainConfig(jit_compile="on"))
    assert net.jit_compile is True
