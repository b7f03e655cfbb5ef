"""The embedded CJK font for every PDF we render.

Chinese must render on a machine with no CJK fonts installed, so the font is embedded.
reportlab embeds TrueType-outline fonts (TTF/TTC) but not CFF-outline OTF (the Noto CJK
OTFs); ``UnicodeCIDFont('STSong-Light')`` embeds nothing.  We use WenQuanYi Micro Hei from
Debian's ``fonts-wqy-microhei`` package (TTC, subfont 0), or the TrueType file named by
``CANTEEN_CJK_FONT``.
"""
from __future__ import annotations

import os
from pathlib import Path

FONT_NAME = "CanteenCJK"
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


class FontMissing(RuntimeError):
    """No embeddable CJK TrueType font was found."""


def font_path() -> Path:
    """The CJK TrueType font to embed: ``CANTEEN_CJK_FONT``, else the first known system font."""
    override = os.environ.get("CANTEEN_CJK_FONT")
    if override:
        p = Path(override)
        if not p.is_file():
            raise FontMissing(f"CANTEEN_CJK_FONT names {override}, which is not a file")
        return p
    for candidate in CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing("no CJK TrueType font found for PDFs: install Debian's fonts-wqy-microhei "
                      "(apt-get install fonts-wqy-microhei) or set CANTEEN_CJK_FONT to a .ttf/.ttc file")


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
