"""Money: integer fen (分) everywhere; yuan strings only at the edge.

This is the one module that turns fen into text for templates, PDFs and CSV files, and
yuan typed by a person into fen.  Nothing here uses floating point.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation


class MoneyError(ValueError):
    """Not an amount of money in whole fen (or, typed, in yuan with at most two decimals)."""


def yuan(fen: int, *, symbol: bool = True) -> str:
    """Format fen as yuan: ``yuan(1250) == '¥12.50'``, ``yuan(-300) == '-¥3.00'``."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise MoneyError(f"money must be whole fen, got {fen!r}")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{'¥' if symbol else ''}{whole:,}.{cents:02d}"


def plain_yuan(fen: int) -> str:
    """Yuan without symbol or thousands separator, for CSV cells: ``'12.50'``."""
    return yuan(fen, symbol=False).replace(",", "")


def parse_yuan(text: str) -> int:
    """Parse yuan typed by a person (``'12.5'``, ``'12.50'``, ``'¥3'``) into fen.

    Refuses more than two decimal places rather than rounding: a price is never guessed.
    """
    s = str(text).strip().replace("¥", "").replace("￥", "").replace(",", "")
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise MoneyError(f"not an amount of yuan: {text!r}") from None
    if not d.is_finite():
        raise MoneyError(f"not an amount of yuan: {text!r}")
    fen = d * 100
    if fen != fen.to_integral_value():
        raise MoneyError(f"at most two decimal places (fen): {text!r}")
    return int(fen)
