"""The Korean edition's figures: the same figures as the English edition's, drawn again in
NanumGothic with their words in Korean.

``style()`` sets Hangul in NanumGothic (the .ttf files of the ``koreanize-matplotlib``
package, registered with matplotlib's font_manager; the package itself is not imported,
which would change matplotlib's settings). Latin letters, digits and signs stay in DejaVu
Sans, matplotlib's own and the English edition's font, which has no Hangul: matplotlib
falls back to NanumGothic glyph by glyph. NanumGothic's own arrow (→) prints as a speck
at these sizes, and it lacks the minus sign (U+2212). ``translate(fig)``
rewrites every text of a drawn figure (titles, axis labels, legends, tick labels,
annotations) through ``words``: whole labels from LABELS, composed ones by PATTERNS, and
the ten Imagenette class names in Korean (reading.KOREAN_NAMES). Code names (`bn`,
`quick`, `rrc`, conv1, fc6, ReLU, LRN, px) stay as they are.

``missing_glyphs(fig)`` lists the characters of a figure's texts that neither font has.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.text import Text
from matplotlib.ticker import FixedFormatter

from alexnet.data.names import IMAGENETTE_NAMES, KOREAN_NAMES
from alexnet.harness.report import editions
from alexnet.reading import josa

FONT = "NanumGothic"
LATIN = "DejaVu Sans"  # matplotlib's own font: Latin, digits and signs, as in English

# English display names of the Imagenette classes -> Korean (longest first, so that no
# name is replaced inside a longer one).
CLASS_NAMES = dict(sorted(((IMAGENETTE_NAMES[w], k) for w, k in KOREAN_NAMES.items()),
                          key=lambda pair: -len(pair[0])))

# Whole labels, as the figures write them.
LABELS = {
    # plots.py
    "Loss": "손실", "Loss (log scale)": "손실 (로그 척도)", "Top-1 accuracy": "Top-1 정확도",
    "epoch": "에포크", "training": "학습", "validation": "검증", "Error rate": "오류율",
    "error (%)": "오류 (%)", "top-1 validation": "Top-1 검증", "top-1 training": "Top-1 학습",
    "top-5 validation": "Top-5 검증", "top-5 training": "Top-5 학습",
    "predicted": "예측", "true": "정답", "Augmented training samples": "증강된 학습 샘플",
    "top-1 accuracy (validation)": "Top-1 정확도 (검증)",
    "Validation images and their top-5 predictions (red: the true class)":
        "검증 이미지와 상위 5개 예측 (빨간색: 정답 클래스)",
    "Validation images and their top-5 predictions": "검증 이미지와 상위 5개 예측",
    "true class not in the top 5": "정답 클래스가 상위 5개에 없음",
    # figures.py
    "top-1 accuracy (%)": "Top-1 정확도 (%)", "step": "스텝", "training loss": "학습 손실",
    "training loss (log scale)": "학습 손실 (로그 척도)", "original": "원본",
    "none: centre": "none: 중앙 자르기", "test crop": "테스트 조각",
    # runs.py's ablation labels
    "baseline": "기준 실행", "no dropout": "드롭아웃 없음", "no augmentation": "데이터 증강 없음",
    "LRN instead of BatchNorm": "배치 정규화 대신 LRN", "notebook": "노트북",
    "wd5e-4": "가중치 감쇠 5e-4",  # as AlexNet.typ's ko-labels name it
    # model_figures.py
    "input": "입력", "flatten": "펼치기", "connects across the towers": "두 타워를 가로질러 연결",
    "query": "질의", "file\nnot found": "파일\n없음",
    # study_figures.py
    "dropout + crops": "드롭아웃 + 자르기", "crops only": "자르기만", "dropout only": "드롭아웃만",
    "neither": "둘 다 없음", "not yet measured": "측정 전",
    "minutes of training (validation included)": "학습 시간 (분, 검증 포함)",
    "validation top-1 accuracy (%)": "검증 Top-1 정확도 (%)",
}
INITS = {"N(0, 0.01), biases 1": "N(0, 0.01), 편향 1", "He": "He", "Glorot": "Glorot"}
PRECISIONS = {"not recorded": "정밀도 기록 없음"}  # bfloat16, float32: as they are


def _epochs(count: str) -> str:
    return f"{count}에포크"


# Composed labels: (pattern, replacement), tried in order on a label not in LABELS; the
# groups are translated in turn where the replacement says so.
PATTERNS: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [
    (re.compile(r"Confusion matrix \(top-1 accuracy (.+)\)"),
     lambda m: f"혼동 행렬 (Top-1 정확도 {m[1]})"),
    (re.compile(r"The (\d+) most-confused of (\d+) classes \(top-1 accuracy (.+)\)"),
     lambda m: f"클래스 {m[2]}개 중 가장 많이 혼동한 {m[1]}개 (Top-1 정확도 {m[3]})"),
    (re.compile(r"Dotted line: overall (.+)"), lambda m: f"점선: 전체 {m[1]}"),
    (re.compile(r"The (\d+) best and worst of (\d+) classes, dotted line: overall (.+)"),
     lambda m: f"클래스 {m[2]}개 중 가장 좋은 {m[1]}개와 가장 나쁜 {m[1]}개, 점선: 전체 {m[3]}"),
    (re.compile(r"Learning rate: constant, / 10 on a plateau \(ReduceLROnPlateau\)"),
     lambda m: "학습률: 상수, 정체하면 10으로 나눔 (ReduceLROnPlateau)"),
    (re.compile(r"Learning rate: (\w+)( after a linear warm-up)?"),
     lambda m: f"학습률: {m[1]}" + (" (선형 워밍업 뒤)" if m[2] else "")),
    (re.compile(r"ln (\d+) = ([\d.]+): uniform guess"),
     lambda m: f"ln {m[1]} = {m[2]}: 균등 추측"),
    (re.compile(r"(\d+) min"), lambda m: f"{m[1]}분"),
    (re.compile(r"quick, 128 px, (.+) \(a line per run\)"),  # (.+): the run's precision
     lambda m: f"quick, 128 px, {PRECISIONS.get(m[1], m[1])} (실행마다 선 하나)"),
    (re.compile(r"(\S+) recipe, (\S+) network, (.+) init, (\d+) px"),
     lambda m: f"{m[1]} 레시피, {m[2]} 네트워크, {INITS.get(m[3], m[3])} 초기화, {m[4]} px"),
    (re.compile(r"the baseline again \((.+)\)"),
     lambda m: f"기준 실행 반복 ({words(m[1])})"),
    (re.compile(r"this run: (\S+), (\d+) epochs at (\d+) px"),
     lambda m: f"이 실행: {m[1]}, {m[3]} px에서 {_epochs(m[2])}"),
    (re.compile(r"([\w-]+): (\S+), (\d+) epochs at (\d+) px"),
     lambda m: f"{m[1]}: {m[2]}, {m[4]} px에서 {_epochs(m[3])}"),
    # the architecture diagram
    (re.compile(r"input  (.+)"), lambda m: f"입력  {m[1]}"),
    (re.compile(r"(\w+)  (.+), (\d+) filters"), lambda m: f"{m[1]}  {m[2]}, 필터 {m[3]}개"),
    (re.compile(r"(\w+)  (\d+) units"), lambda m: f"{m[1]}  유닛 {m[2]}개"),
    (re.compile(r"within each tower \(groups=(\d+)\)"),
     lambda m: f"각 타워 안에서만 (groups={m[1]})"),
    (re.compile(r"tower (\d+)"), lambda m: f"타워 {m[1]}"),
]
# The parts of the architecture's layer lists ("max-pool 3×3/2 · LRN · dropout 0.5").
OPERATIONS = [
    (re.compile(r"max-pool (\S+)"), lambda m: f"최대 풀링 {m[1]}"),
    (re.compile(r"avg-pool to (\S+)"), lambda m: josa(f"평균 풀링 {m[1]}", "으로")),
    (re.compile(r"dropout (\S+)"), lambda m: f"드롭아웃 {m[1]}"),
    (re.compile(r"pad (\d+)"), lambda m: f"패딩 {m[1]}"),
    (re.compile(r"flatten"), lambda m: "펼치기"),
    (re.compile(r"\bsoftmax\b"), lambda m: "소프트맥스"),
    (re.compile(r"\bNormalization\b"), lambda m: "정규화"),
]


def _phrase(text: str) -> str:
    """One line, translated: a whole label, a composed one, or a list of layers."""
    if text in LABELS:
        return LABELS[text]
    for pattern, replace in PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return replace(match)
    if " · " in text or any(p.search(text) for p, _ in OPERATIONS):
        parts = []
        for part in text.split(" · "):
            for pattern, replace in OPERATIONS:
                part = pattern.sub(replace, part)
            parts.append(part)
        return " · ".join(parts)
    return text


def words(text: str) -> str:
    """``text`` as the Korean edition's figures print it: line by line, whole labels
    (LABELS), composed ones (PATTERNS, OPERATIONS), and the Imagenette class names in
    Korean wherever they appear. Anything else (numbers, code names) stays as it is."""
    if text in LABELS:  # a label of several lines, as a whole
        return LABELS[text]
    lines = []
    for line in text.split("\n"):
        line = _phrase(line)
        for english, korean in CLASS_NAMES.items():
            line = line.replace(english, korean)
        lines.append(line)
    return "\n".join(lines)


@functools.cache
def register_fonts() -> str:
    """Adds NanumGothic's .ttf files (regular, bold, ...) to matplotlib's font_manager,
    once per process; returns the family name."""
    for path in sorted(Path(editions.korean_font_dir()).glob("*.ttf")):
        font_manager.fontManager.addfont(str(path))
    return FONT


@contextlib.contextmanager
def style():
    """matplotlib set for a Korean figure, while the block runs: DejaVu Sans, then
    NanumGothic for the Hangul it lacks. Draw and save the figure inside it (tick labels
    take their font when the figure is drawn)."""
    with plt.rc_context({"font.family": [LATIN, register_fonts()]}):
        yield


def texts(fig) -> list[Text]:
    """Every text artist of a figure (titles, labels, legends, ticks, annotations)."""
    return [artist for artist in fig.findobj(Text) if artist.get_text()]


def translate(fig, layout: dict | None = None):
    """Rewrites ``fig``'s words in Korean (``words``), also the tick labels given as text
    (class names on a confusion matrix), then lays it out again with ``fig.tight_layout(**layout)``
    (``None``: the figure keeps its own placement). Returns ``fig``."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            formatter = axis.get_major_formatter()
            if isinstance(formatter, FixedFormatter):
                formatter.seq = [words(label) for label in formatter.seq]
            func = getattr(formatter, "func", None)  # set_ticks(ticks, labels)'s
            if (isinstance(func, functools.partial) and func.args
                    and isinstance(func.args[0], dict)):
                formatter.func = functools.partial(
                    func.func, {k: words(v) for k, v in func.args[0].items()}, *func.args[1:])
    for artist in texts(fig):
        artist.set_text(words(artist.get_text()))
    if layout is not None and fig.get_layout_engine() is None:
        fig.tight_layout(**layout)
    return fig


def edition_file(path: Path) -> Path:
    """Where a figure's Korean drawing goes: ``curves.png`` -> ``curves.ko.png``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.ko{path.suffix}")


@functools.cache
def _cmaps() -> list[set[int]]:
    from fontTools.ttLib import TTFont  # matplotlib's own dependency

    files = [Path(editions.korean_font_dir()) / f"{FONT}.ttf",
             Path(font_manager.findfont(LATIN, fallback_to_default=False))]
    return [set(TTFont(str(file), fontNumber=0).getBestCmap()) for file in files]


def missing_glyphs(fig) -> list[str]:
    """The characters of ``fig``'s texts (tick labels as drawn) that neither NanumGothic
    nor DejaVu Sans has; draws the figure first."""
    fig.canvas.draw()
    have = set().union(*_cmaps())
    found = {ch for artist in texts(fig) for ch in artist.get_text()
             if not ch.isspace() and ord(ch) not in have}
    return sorted(found)
