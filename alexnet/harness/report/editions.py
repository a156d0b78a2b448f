"""The document's two editions, English and Korean, typeset from one Typst source.

``compile_editions`` compiles ``AlexNet.typ`` once per language, passing it as
``sys.inputs.lang``: ``AlexNet.pdf`` (``en``) and ``AlexNet.ko.pdf`` (``ko``) beside it.
Hangul is set in NanumGothic (NHN/Naver, SIL Open Font Licence 1.1), whose .ttf files the
``koreanize-matplotlib`` package (requirements.txt) bundles; the folder is found without
importing that package, which would change matplotlib's settings. System fonts are
ignored, so that an edition is the same on every machine. Typst's warnings about fonts
(an unknown font family) stop the build before either edition is written.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

FONT_PACKAGE = "koreanize-matplotlib"  # as pip names it; it imports as koreanize_matplotlib
LANGUAGES = ("en", "ko")


def korean_font_dir() -> Path:
    """The folder of NanumGothic's .ttf files that ``koreanize-matplotlib`` installs."""
    spec = importlib.util.find_spec(FONT_PACKAGE.replace("-", "_"))
    locations = (spec and spec.submodule_search_locations) or []
    folder = Path(locations[0]) / "fonts" if locations else None
    if folder is None or not (folder / "NanumGothic.ttf").is_file():
        raise FileNotFoundError(f"the Korean edition needs the NanumGothic font of the "
                                f"{FONT_PACKAGE} package: pip install {FONT_PACKAGE} "
                                f"(it is in requirements.txt)")
    return folder


def edition_path(out: Path, lang: str) -> Path:
    """Where an edition goes: ``out`` for English, ``<stem>.<lang>.pdf`` beside it else."""
    out = Path(out)
    return out if lang == "en" else out.with_name(f"{out.stem}.{lang}{out.suffix}")


def font_problems(warnings: list) -> list[str]:
    """Typst's warnings about fonts or glyphs, each with where in the source it arose
    (``unknown font family: nanumgothic (AlexNet.typ:16:11)``)."""
    problems = []
    for warning in warnings:
        if "font" in warning.message.lower() or "glyph" in warning.message.lower():
            where = [line.split("┌─", 1)[1].strip()
                     for line in (warning.diagnostic or "").splitlines() if "┌─" in line]
            problems.append(warning.message + (f" ({where[0]})" if where else ""))
    return problems


def compile_editions(source: Path, out: Path, root: Path, inputs: dict[str, str]) -> list[Path]:
    """Compiles ``source`` for each language with ``inputs`` and ``lang`` as
    ``sys.inputs``; writes ``edition_path(out, lang)`` and returns the paths. Raises
    ValueError, and writes neither edition, when Typst warns about a font in either."""
    import typst  # lazy: only building the PDF needs it

    fonts = [str(korean_font_dir())]
    pdfs = {}
    for lang in LANGUAGES:
        path = edition_path(out, lang)
        pdfs[path], warnings = typst.compile_with_warnings(
            source, root=root, font_paths=fonts, ignore_system_fonts=True,
            sys_inputs=inputs | {"lang": lang}, timestamp=0)
        problems = font_problems(warnings)
        if problems:
            raise ValueError(f"{path.name}: Typst's font warnings, no edition written: "
                             + "; ".join(problems))
    for path, pdf in pdfs.items():
        path.write_bytes(pdf)
    return list(pdfs)
