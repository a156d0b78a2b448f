"""What a built model holds: parameter and MAC counts, where LRN, BatchNorm and the
grouped convolutions sit, and the ``summary`` command."""

from __future__ import annotations

import pytest

from alexnet.__main__ import main
from alexnet.models import VARIANTS, summary
from alexnet.models.alexnet import METADATA, build


@pytest.fixture(scope="module")
def rows():
    return {row["variant"]: row for row in summary.compare_variants(1000)}


def test_parameter_counts(rows):
    assert rows["paper"]["parameters"] == 60_965_224 == METADATA["paper"]["parameters"]
    assert rows["owt"]["parameters"] == 61_100_840 == METADATA["owt"]["parameters"]
    # bn: no conv/FC6/FC7 biases, plus 4 BatchNorm values per channel/unit
    bn_channels = 64 + 192 + 384 + 256 + 256 + 4096 + 4096
    assert rows["bn"]["parameters"] == 61_100_840 - bn_channels + 4 * bn_channels


def test_macs(rows):
    assert rows["owt"]["macs"] == pytest.approx(0.714e9, rel=0.01)
    fc = 9216 * 4096 + 4096 * 4096 + 4096 * 1000
    # out h * w * c_out * k * k * c_in per tower (grouped layers see half their input)
    paper = (55 * 55 * 96 * 11 * 11 * 3 + 27 * 27 * 256 * 5 * 5 * 48
             + 13 * 13 * 384 * 3 * 3 * 256 + 13 * 13 * 384 * 3 * 3 * 192
             + 13 * 13 * 256 * 3 * 3 * 192 + fc)
    assert rows["paper"]["macs"] == paper
    assert rows["bn"]["macs"] == rows["owt"]["macs"]


def test_layer_macs_sum_to_count_macs():
    paper = build("paper", 1000)
    macs = summary.layer_macs(paper)
    assert list(macs) == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert macs["conv2"] == 27 * 27 * 256 * 5 * 5 * 48  # grouped: half the input per tower
    assert macs["fc8"] == 4096 * 1000
    assert sum(macs.values()) == summary.count_macs(paper)


def test_layout_rows(rows):
    assert [rows[v]["input"] for v in VARIANTS] == ["227x227", "224x224", "224x224"]
    assert rows["paper"]["lrn"] == "conv1, conv2"
    assert rows["paper"]["grouped"] == "conv2, conv4, conv5"
    assert rows["bn"]["batchnorm"] == "conv1, conv2, conv3, conv4, conv5, fc6, fc7"
    assert rows["owt"]["lrn"] == rows["owt"]["batchnorm"] == rows["owt"]["grouped"] == "-"
    table = summary.comparison_table(list(rows.values())).splitlines()
    assert len(table) == 5 and "| paper | 227x227 | 60,965,224 | 0.724 G |" in table[2]


def test_summary_command(capsys):
    assert main(["summary", "--variant", "paper"]) == 0
    out = capsys.readouterr().out
    for text in ("(None, 55, 55, 96)", "(None, 27, 27, 256)", "lrn1", "34,944", "4,097,000",
                 "preprocess", "Total params: 60,965,224", "Input: 227x227x3",
                 "Multiply-accumulates per image: 0.724 G",
                 "LRN after: conv1, conv2; BatchNorm after: -; grouped: conv2, conv4, conv5"):
        assert text in out
    assert main(["summary", "--variant", "owt", "--image-size", "40"]) == 2
    assert "--image-size 40: variant 'owt' takes 63 to 512 pixels" in capsys.readouterr().err
