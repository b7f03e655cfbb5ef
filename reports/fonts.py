"""The embedded CJK font for every PDF we render.

Chinese must render on a machine with no CJK fonts installed, so the font is embedded.
reportlab embeds TrueType-outline fonts (TTF/TTC) but not CFF-outline OTF (the Noto CJK
OTFs); ``UnicodeCIDFont('STSong-Light')`` embeds nothing.  The package carries WenQuanYi
Micro Hei (``reports/cjk_font/``, Apache License 2.0, TTC subfont 0), so no system font is
ever looked for; ``CANTEEN_CJK_FONT`` names another TrueType file to use instead.
"""
from __future__ import annotations

import os
from pathlib import Path

FONT_NAME = "CanteenCJK"
PACKAGED = Path(__file__).with_name("cjk_font") / "wqy-microhei.ttc"


class FontMissing(RuntimeError):
    """The CJK font cannot be read or embedded."""


def font_path() -> Path:
    """The CJK TrueType font to embed: ``CANTEEN_CJK_FONT``, else the packaged one."""
    override = os.environ.get("CANTEEN_CJK_FONT")
    if override:
        p = Path(override)
        if not p.is_file():
            raise FontMissing(f"CANTEEN_CJK_FONT names {override}, which is not a file")
        return p
    if not PACKAGED.is_file():
        raise FontMissing(f"the packaged CJK font {PACKAGED} is missing: reinstall the canteen package "
                          "or set CANTEEN_CJK_FONT to a TrueType .ttf/.ttc file")
    return PACKAGED


_registered: str | None = None


def cjk_font() -> str:
    """Register the CJK font with reportlab once and return its name."""
    global _registered
    if _registered:
        return _registered
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path = font_path()
    kwargs = {"subfontIndex": 0} if path.suffix.lower() == ".ttc" else {}
    try:
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), **kwargs))
    except Exception as e:  # reportlab raises TTFError for CFF outlines and broken files
        raise FontMissing(f"{path} cannot be embedded ({e}); use a TrueType-outline .ttf/.ttc font") from None
    _registered = FONT_NAME
    return FONT_NAME
