"""The Korean edition's figures: every figure the report draws, drawn again in Korean,
with no English word left but code names, and no character missing from its fonts."""

from __future__ import annotations

import io
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from alexnet import plots
from alexnet.harness.report import artifacts, korean, study_figures
from alexnet.harness.report import figures as report_figures
from alexnet.harness.report import model_figures as figures
from conftest import IMAGENETTE_WNIDS, write_image

HANGUL = re.compile("[\uac00-\ud7a3]")
# The Latin words a Korean figure keeps: code and recipe names, run folders' names, units,
# layer names, the paper's measures, initialisations, number formats (bfloat16, float32)
# and the symbols of its formulas.
KEPT = {"top", "bn", "paper", "owt", "quick", "modern", "rrc", "none", "basic", "px", "relu",
        "lrn", "conv", "fc", "groups", "he", "glorot", "ln", "n", "d", "cos", "pca",
        "imagenette", "cpu", "bfloat", "float"}


def english_left(fig) -> list[str]:
    """The Latin words of a figure's texts that are not code names (KEPT)."""
    fig.canvas.draw()
    found = {word for artist in korean.texts(fig)
             for word in re.findall(r"[A-Za-z]+", artist.get_text())}
    return sorted(word for word in found if word.lower() not in KEPT)


def check(make, layout: dict | bool | None = None) -> list[str]:
    """Draws ``make()`` in Korean as the report does, and saves it with matplotlib's
    warnings (a glyph missing from the font is one) raised; returns its texts."""
    with korean.style():
        fig = korean.translate(make(), None if layout is False else layout or {})
        assert english_left(fig) == []
        assert korean.missing_glyphs(fig) == []
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fig.savefig(io.BytesIO(), format="png", dpi=50)
        texts = [artist.get_text() for artist in korean.texts(fig)]
        plots.plt.close(fig)
    assert any(HANGUL.search(text) for text in texts)
    return texts


def history(epochs: int = 6) -> dict[str, np.ndarray]:
    steps = np.linspace(0, 1, epochs)
    return {"epoch": np.arange(epochs, dtype=float), "loss": 2 - steps, "val_loss": 2.1 - steps,
            "accuracy": 0.3 + 0.6 * steps, "val_accuracy": 0.35 + 0.4 * steps,
            "top5_accuracy": 0.7 + 0.25 * steps, "val_top5_accuracy": 0.75 + 0.2 * steps,
            "epoch_seconds": np.full(epochs, 60.0)}


def metrics() -> dict:
    matrix = np.diag(np.arange(30, 40))
    matrix[3, 5] = 12
    accuracy = np.diag(matrix) / matrix.sum(axis=1)
    return {"class_names": list(IMAGENETTE_WNIDS), "confusion_matrix": matrix.tolist(),
            "top1": 0.752, "per_class_accuracy": dict(zip(IMAGENETTE_WNIDS, accuracy.tolist(),
                                                          strict=True))}


def test_words():
    assert korean.words("epoch") == "에포크"
    assert korean.words("Confusion matrix (top-1 accuracy 75.2%)") == \
        "혼동 행렬 (Top-1 정확도 75.2%)"
    assert korean.words("chain saw\n→ French horn (93%)") == "전기톱\n→ 프렌치 호른 (93%)"
    assert korean.words("English springer") == "잉글리시 스프링어"
    assert korean.words("ReLU · LRN · max-pool 3×3/2 → 27×27×96") == \
        "ReLU · LRN · 최대 풀링 3×3/2 → 27×27×96"
    assert korean.words("avg-pool to 6×6") == "평균 풀링 6×6으로"
    assert korean.words("paper recipe, paper network, N(0, 0.01), biases 1 init, 227 px") == \
        "paper 레시피, paper 네트워크, N(0, 0.01), 편향 1 초기화, 227 px"
    assert korean.words("the baseline again (notebook)") == "기준 실행 반복 (노트북)"
    assert korean.words("this run: bn, 12 epochs at 128 px") == "이 실행: bn, 128 px에서 12에포크"
    assert korean.words("bn") == "bn" and korean.words("12.5") == "12.5"


def test_the_class_names_are_korean():
    assert sorted(korean.CLASS_NAMES.values()) == sorted(
        ["텐치", "잉글리시 스프링어", "카세트 플레이어", "전기톱", "교회", "프렌치 호른",
         "쓰레기차", "주유기", "골프공", "낙하산"])


def test_the_font_is_nanumgothic_from_the_package():
    from matplotlib import font_manager

    with korean.style():
        path = font_manager.findfont(font_manager.FontProperties(family=korean.FONT),
                                     fallback_to_default=False)
        families = list(plots.plt.rcParams["font.family"])
    assert Path(path).name == "NanumGothic.ttf"
    assert path.startswith(str(korean.editions.korean_font_dir()))  # the package's file
    assert families == [korean.LATIN, korean.FONT]  # Hangul falls back to NanumGothic


def test_run_figures_in_korean():
    texts = check(lambda: plots.curves(history()))
    assert {"손실", "Top-1 정확도", "학습", "검증", "에포크"} <= set(texts)
    texts = check(lambda: plots.errors(history()))
    assert {"오류율", "오류 (%)", "Top-1 검증", "Top-5 학습"} <= set(texts)
    texts = check(lambda: plots.confusion(metrics()))
    assert "혼동 행렬 (Top-1 정확도 75.2%)" in texts and "전기톱" in texts and "낙하산" in texts
    texts = check(lambda: report_figures.per_class(metrics()))
    assert "텐치" in texts and "점선: 전체 75.2%" in texts
    images = np.zeros((4, 16, 16, 3))
    texts = check(lambda: report_figures.samples(images, [0, 1, 2, 3],
                                                 list(IMAGENETTE_WNIDS), columns=2))
    assert {"텐치", "잉글리시 스프링어", "카세트 플레이어", "전기톱",
            "증강된 학습 샘플"} <= set(texts)
    probabilities = np.full((2, 10), 0.01)
    probabilities[:, 9] = 0.91
    texts = check(lambda: plots.top5_bars(images[:2], probabilities, np.array([9, 8]),
                                          list(IMAGENETTE_WNIDS)))
    assert "정답 클래스가 상위 5개에 없음" in texts


def test_document_figures_in_korean(tmp_path):
    runs = [("baseline", history(), "#2ca02c"), ("no dropout", history(), "#9467bd"),
            ("the baseline again (notebook)", history(), "#8c564b")]
    assert {"기준 실행", "드롭아웃 없음", "기준 실행 반복 (노트북)", "학습", "검증"} <= set(
        check(lambda: report_figures.accuracy_curves(runs)))
    check(lambda: report_figures.accuracy_curves(
        [(report_figures.run_label({"recipe": "paper", "variant": "paper", "image_size": 227},
                                   {"init": "paper"}), history(), "#000000")], training=False))
    record = {"steps": [1, 2, 3], "losses": [2.3, 40.0, 2.31]}
    assert "ln 10 = 2.30: 균등 추측" in check(lambda: report_figures.first_steps(record, 10))
    cells = [("original", np.zeros((8, 8, 3))), ("none: centre", np.zeros((8, 8, 3))),
             ("paper", np.zeros((8, 8, 3))), ("test crop", np.zeros((8, 8, 3))), ("", None),
             ("", None)]
    assert {"원본", "none: 중앙 자르기", "테스트 조각"} <= set(
        check(lambda: report_figures.augmentation_grid(cells, columns=3)))
    kernels = [("this run: bn, 12 epochs at 128 px", np.random.default_rng(0).normal(
        size=(11, 11, 3, 16))), ("imagenette-paper-cpu-128: paper, 26 epochs at 128 px",
                                 np.zeros((11, 11, 3, 16)))]
    check(lambda: figures.conv1_side_by_side(kernels))


def test_the_architecture_in_korean():
    texts = check(lambda: figures.architecture(artifacts.reference_model("paper")),
                  layout=False)  # placed by hand: not laid out again
    assert "타워 1" in texts and any(text.startswith("입력") for text in texts)
    assert any("소프트맥스" in text for text in texts)
    assert any("최대 풀링" in text for text in texts)
    assert "conv1  11×11/4, 필터 48개\n55×55×48" in texts  # a tower: half of 96


def test_study_figures_in_korean(tmp_path):
    rows = [{"folder": f"tenth-{k}", "dropout": d, "crops": c, "measured": k != 3}
            for k, (d, c) in enumerate([(True, True), (False, True), (True, False),
                                        (False, False)])]
    texts = check(lambda: study_figures.smalldata(rows, {f"tenth-{k}": history()
                                                         for k in range(3)}))
    assert {"드롭아웃 + 자르기", "자르기만", "드롭아웃만", "둘 다 없음", "측정 전"} <= set(texts)
    texts = check(lambda: study_figures.time_to_accuracy(
        {"a": ("bfloat16", history()), "b": ("not recorded", history())}, history()))
    assert "10분" in texts and "학습 시간 (분, 검증 포함)" in texts
    assert "quick, 128 px, 정밀도 기록 없음 (실행마다 선 하나)" in texts
    for i, wnid in enumerate(IMAGENETTE_WNIDS[:2]):
        write_image(tmp_path / "val" / wnid / f"{i}.JPEG", (20, 20), seed=i)
    record = {"mistakes": [{"file": f"val/{IMAGENETTE_WNIDS[0]}/0.JPEG",
                            "true": IMAGENETTE_WNIDS[0], "predicted": IMAGENETTE_WNIDS[3],
                            "confidence": 0.93}]}
    assert "텐치\n→ 전기톱 (93%)" in check(lambda: study_figures.mistakes(record, [tmp_path], []))
    neighbours = {"queries": [{"file": f"val/{IMAGENETTE_WNIDS[1]}/1.JPEG", "neighbours": [
        {"file": f"val/{IMAGENETTE_WNIDS[0]}/0.JPEG", "distance": 3.2},
        {"file": "val/missing.JPEG", "distance": 4.0}]}]}
    texts = check(lambda: figures.neighbours_figure(neighbours, list(IMAGENETTE_WNIDS),
                                                    [tmp_path], []))
    assert {"잉글리시 스프링어\n질의", "텐치\nd 3.2", "파일\n없음"} <= set(texts)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_each_figure_is_saved_once_per_edition(tmp_path, suffix):
    path = tmp_path / f"curves{suffix}"
    assert report_figures._save(lambda: plots.curves(history()), path) == path.name
    assert path.is_file() and (tmp_path / f"curves.ko{suffix}").is_file()
    assert report_figures._save(lambda: None, tmp_path / "none.png") is None
    assert list(tmp_path.glob("none*")) == []


def test_the_korean_edition_names_its_own_figures(tmp_path):
    from alexnet.harness.report import build

    (tmp_path / "curves.png").touch()
    (tmp_path / "curves.ko.png").touch()
    (tmp_path / "augmented.png").touch()  # copied from the run folder: English only
    assert build.korean_figures({"curves": "curves.png", "augmented": "augmented.png",
                                 "ablation": None}, tmp_path) == {
        "curves": "curves.ko.png", "augmented": "augmented.png"}
    typst = (Path(__file__).parents[1] / "docs" / "AlexNet.typ").read_text()
    assert 'r.figures_ko.at(name' in typst
    json.dumps(build.korean_figures({}, tmp_path))  # report.json holds it
