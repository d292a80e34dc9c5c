"""The fonts a contract is set in: Noto, from Debian's fonts-noto-core and fonts-noto-cjk,
which the README's setup commands install. Nothing is downloaded at run time, and a
machine without them refuses to start rather than print a name as `?` or as empty boxes."""

from dataclasses import dataclass
from functools import lru_cache

import typst

from domain.settings import Settings

LATIN = "Noto Sans"  # Latin, Cyrillic and Greek
CJK = {"sc": "Noto Sans CJK SC", "tc": "Noto Sans CJK TC", "jp": "Noto Sans CJK JP", "kr": "Noto Sans CJK KR"}
OTHERS = ("Noto Sans Thai", "Noto Sans Arabic", "Noto Sans Hebrew")
REQUIRED = (LATIN, *CJK.values(), *OTHERS)
INSTALL_HINT = "apt-get install fonts-noto-core fonts-noto-cjk (the README's `make run` does it)"


class FontsMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class FontBook:
    fonts: typst.Fonts
    families: frozenset[str]


@lru_cache
def _scan(dirs: tuple[str, ...]) -> FontBook:
    fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False, font_paths=list(dirs))
    return FontBook(fonts, frozenset(fonts.families()))


def font_dirs(settings: Settings) -> tuple[str, ...]:
    return tuple(str(d) for d in settings.pdf_font_dirs)


def font_book(dirs: tuple[str, ...]) -> FontBook:
    """The fonts in these folders (PDF_FONT_DIRS), scanned once per process (about 0.1 s);
    raises FontsMissing, naming what is missing and how to install it."""
    book = _scan(dirs)
    missing = [family for family in REQUIRED if family not in book.families]
    if missing:
        raise FontsMissing(
            f"fonts missing from {', '.join(dirs)}: "
            f"{', '.join(missing)}. Signed contracts must name partners in their own scripts "
            f"(S-27): {INSTALL_HINT}."
        )
    return book


def check_fonts(settings: Settings) -> None:
    """At start-up: raise FontsMissing unless every script's font is installed."""
    font_book(font_dirs(settings))


def cjk_flavour(text: str) -> str:
    """Which CJK font draws this text's Han characters: Japanese with kana, Korean with
    hangul, Simplified Chinese when GB 2312 holds it all, else Traditional. One Unicode
    character has different customary shapes in each, so the guess matters to a reader,
    not to the text."""
    if any("\u3040" <= c <= "\u30ff" or "\u31f0" <= c <= "\u31ff" for c in text):
        return "jp"
    if any("\uac00" <= c <= "\ud7af" or "\u1100" <= c <= "\u11ff" or "\u3130" <= c <= "\u318f" for c in text):
        return "kr"
    try:
        text.encode("gb2312")
        return "sc"
    except UnicodeEncodeError:
        return "tc"


def families_for(text: str) -> list[str]:
    """The fallback order for one run of text: Noto Sans first, then its CJK flavour, the
    other CJK fonts, and the remaining scripts."""
    first = cjk_flavour(text)
    return [LATIN, CJK[first], *(f for k, f in CJK.items() if k != first), *OTHERS]
