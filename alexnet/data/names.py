"""Readable class names: the ten Imagenette classes (ImageNet wnids) in English and in
Korean, and any dataset's own class words (ImageNet's label files, via ilsvrc.py)."""

from __future__ import annotations

# Readable names of the wnids we ship data for (Imagenette's ten).
IMAGENETTE_NAMES = {
    "n01440764": "tench", "n02102040": "English springer", "n02979186": "cassette player",
    "n03000684": "chain saw", "n03028079": "church", "n03394916": "French horn",
    "n03417042": "garbage truck", "n03425413": "gas pump", "n03445777": "golf ball",
    "n03888257": "parachute",
}


def display_names(class_names: list[str],
                  descriptions: dict[str, str] | None = None) -> list[str]:
    """Readable names: the dataset's ``descriptions`` (first of the comma-separated
    words), then wnids we know; other names stay as they are."""
    words = {**IMAGENETTE_NAMES, **{k: v.split(",")[0] for k, v in (descriptions or {}).items()}}
    return [words.get(name, name) for name in class_names]


# The ten Imagenette classes in Korean, as the Korean edition names them.
KOREAN_NAMES = {
    "n01440764": "텐치", "n02102040": "잉글리시 스프링어", "n02979186": "카세트 플레이어",
    "n03000684": "전기톱", "n03028079": "교회", "n03394916": "프렌치 호른",
    "n03417042": "쓰레기차", "n03425413": "주유기", "n03445777": "골프공",
    "n03888257": "낙하산",
}


def korean_names(class_names: list[str]) -> list[str]:
    """Class names as the Korean text prints them: the Imagenette classes in Korean,
    others as display_names gives them."""
    return [KOREAN_NAMES.get(wnid, name)
            for wnid, name in zip(class_names, display_names(class_names), strict=True)]
