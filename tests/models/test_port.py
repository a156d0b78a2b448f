"""torchvision AlexNet weights -> the owt variant: the same logits, from a real .pth file
(torchvision's network on normalised images, ours on the raw pixels it normalises itself)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from alexnet.__main__ import main
from alexnet.harness import port, runfolder
from alexnet.harness.commands import class_names, predict_file
from alexnet.models.alexnet import MEAN, STD
from conftest import write_image

torch = pytest.importorskip("torch")
nn = torch.nn


class TorchvisionAlexNet(nn.Module):
    """torchvision.models.AlexNet, module for module, so the state dict keys match."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


@pytest.fixture(scope="module")
def torch_net() -> TorchvisionAlexNet:
    """Random weights scaled (He-normal, random biases) so logits are of order 1:
    torch's default init would give logits so small that any port passes 1e-4."""
    torch.manual_seed(0)
    net = TorchvisionAlexNet(num_classes=10).eval()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.normal_(module.bias, 0.0, 0.1)
    return net


def state_numpy(net: nn.Module) -> dict[str, np.ndarray]:
    return {name: value.numpy() for name, value in net.state_dict().items()}


def both_logits(torch_net, keras_net, image_size: int, seed: int = 0):
    """torchvision's logits on normalised images, and ours (fc8, before the softmax) on
    the same images' raw pixels."""
    pixels = np.random.default_rng(seed).uniform(0, 255, size=(2, image_size, image_size, 3))
    pixels = pixels.astype("float32")
    normalised = ((pixels - np.array(MEAN)) / np.array(STD)).astype("float32")
    with torch.no_grad():
        expected = torch_net(torch.from_numpy(normalised.transpose(0, 3, 1, 2))).numpy()
    logits = keras.Model(keras_net.input, keras_net.get_layer("fc8").output)
    return expected, np.asarray(logits(pixels))


def test_state_dict_keys_are_torchvisions(torch_net):
    expected = {f"{m}.{k}" for m in port.LAYERS for k in ("weight", "bias")}
    assert set(torch_net.state_dict()) == expected


# 224: avgpool is the identity (6x6 in); 256: 7x7 -> 6x6 with overlapping windows.
@pytest.mark.parametrize("image_size", [224, 256])
def test_ported_logits_match_pytorch(torch_net, image_size):
    state = state_numpy(torch_net)
    net = port.port_state_dict(state, image_size)
    expected, actual = both_logits(torch_net, net, image_size)
    assert expected.std() > 0.5  # logits large enough for the comparison to fail
    np.testing.assert_allclose(actual, expected, atol=1e-4, rtol=0)

    # Without the NCHW -> NHWC permutation of FC6's rows the logits differ: the
    # comparison really checks the flatten order.
    net.get_layer("fc6").set_weights([state["classifier.1.weight"].T, state["classifier.1.bias"]])
    assert np.abs(both_logits(torch_net, net, image_size)[1] - expected).max() > 0.1


def test_port_command_and_imagenet_class_names(torch_net, tmp_path):
    pth = tmp_path / "alexnet.pth"
    torch.save(torch_net.state_dict(), pth)
    out = tmp_path / "alexnet_owt.keras"
    assert main(["port", str(pth), str(out)]) == 0

    net = runfolder.load_model(out)  # safe_mode=True
    expected, actual = both_logits(torch_net, net, 224, seed=1)
    np.testing.assert_allclose(actual, expected, atol=1e-4, rtol=0)

    # What `predict --classes imagenet_class_index.json` does with the ported model.
    index = tmp_path / "imagenet_class_index.json"
    index.write_text(json.dumps({str(i): [f"n{i:08d}", f"class {i}"] for i in range(10)}))
    names = class_names(out, index)
    assert names == [f"class {i}" for i in range(10)]
    # a JSON list of names, or {"0": name, ...}, reads the same
    for form in ([f"class {i}" for i in range(10)], {str(i): f"class {i}" for i in range(10)}):
        index.write_text(json.dumps(form))
        assert class_names(out, index) == names
    index.write_text(json.dumps({"1": "one", "2": "two"}))
    with pytest.raises(ValueError, match="with keys 0 to N-1"):
        class_names(out, index)
    image = write_image(tmp_path / "photo.jpg", size=(300, 240))
    probabilities = predict_file(net, image)
    assert probabilities.shape == (10,) and probabilities.sum() == pytest.approx(1, abs=1e-5)


def test_weights_only_refuses_pickled_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this ran while loading",))

    path = tmp_path / "evil.pth"
    torch.save({"features.0.weight": Payload()}, path)
    with pytest.raises(ValueError, match="weights_only=True"):
        port.load_state_dict(path)


def test_bad_state_dicts_are_named(torch_net, tmp_path, capsys):
    state = state_numpy(torch_net)
    del state["features.3.bias"]
    with pytest.raises(ValueError, match=r"missing \['features.3.bias'\]"):
        port.port_state_dict(state)

    state = state_numpy(torch_net)
    state["classifier.1.weight"] = state["classifier.1.weight"][:, :9100]
    with pytest.raises(ValueError, match="classifier.1.weight: 9100 inputs"):
        port.port_state_dict(state)

    state = state_numpy(torch_net)
    state["features.6.weight"] = state["features.6.weight"][:, :96]
    with pytest.raises(ValueError, match="conv3"):
        port.port_state_dict(state)

    assert main(["port", str(tmp_path / "missing.pth"), str(tmp_path / "out.keras")]) == 2
    assert "missing.pth: no such file" in capsys.readouterr().err
    pth = tmp_path / "alexnet.pth"
    torch.save(torch_net.state_dict(), pth)
    assert main(["port", str(pth), str(tmp_path / "out.h5")]) == 2
    assert "must end in .keras" in capsys.readouterr().err
