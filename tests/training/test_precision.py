"""``--precision`` and ``--jit-compile``: what ``auto`` picks on each kind of hardware, the
global policy layers take, and XLA in ``compile``."""

from __future__ import annotations

import keras
import pytest

from alexnet.harness import devices
from alexnet.recipes import TrainConfig
from conftest import compiled


@pytest.mark.parametrize("gpu, bfloat16_cpu, expected", [
    (None, False, "float32"), (None, True, "mixed_bfloat16"),  # AMX / AVX512-BF16 CPUs
    ((6, 1), False, "float32"), ((7, 5), False, "mixed_float16"),
    ((8, 0), False, "mixed_bfloat16"), ((9, 0), True, "mixed_bfloat16")])
def test_auto_precision_follows_the_hardware(monkeypatch, gpu, bfloat16_cpu, expected):
    monkeypatch.setattr(devices, "gpu_capability", lambda: gpu)
    monkeypatch.setattr(devices, "cpu_has_bfloat16", lambda: bfloat16_cpu)
    assert devices.resolve_precision("auto") == expected
    assert devices.resolve_precision("float32") == "float32"  # a choice is kept


def test_precision_and_xla_settings():
    if devices.gpu_capability() is None:  # this machine, as auto sees it
        assert devices.resolve_precision("auto") == (
            "mixed_bfloat16" if devices.cpu_has_bfloat16() else "float32")
    assert devices.resolve_precision("mixed_bfloat16") == "mixed_bfloat16"
    settings = [devices.resolve_jit_compile(s) for s in ("auto", "on", "off")]
    assert settings == ["auto", True, False]
    with pytest.raises(ValueError, match="--precision 'fp8'"):
        devices.resolve_precision("fp8")
    with pytest.raises(ValueError, match="--jit-compile 'yes'"):
        devices.resolve_jit_compile("yes")
    with pytest.raises(ValueError, match="--precision 'fp8'"):
        TrainConfig(precision="fp8")
    with pytest.raises(ValueError, match="--jit-compile 'yes'"):
        TrainConfig(jit_compile="yes")


def test_set_precision_sets_the_global_policy():
    try:
        assert devices.set_precision("mixed_bfloat16") == "mixed_bfloat16"
        layer = keras.layers.Dense(2)
    finally:
        devices.set_precision("float32")
    assert (layer.compute_dtype, layer.variable_dtype) == ("bfloat16", "float32")
    assert keras.layers.Dense(2).compute_dtype == "float32"


def test_compile_model_applies_xla_setting():
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(10, activation="softmax")])
    compiled(net, TrainConfig(jit_compile="off"))
    assert net.jit_compile is False
    compiled(net, TrainConfig(jit_compile="on"))
    assert net.jit_compile is True
