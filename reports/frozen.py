"""Report data read back from the canonical JSON it was frozen as.

A day close stores the daily data's canonical JSON, and a submitted claim stores its own;
the documents a closed day or a submitted claim is printed from are rebuilt from those
bytes, never recomputed, so they say the same thing forever whatever is booked later.

:func:`thaw` is the inverse of :func:`reports.queries.canonical_json` for the frozen
dataclasses of :mod:`reports.rows` and :mod:`reports.claim_queries`.  It is lenient on
purpose: a field that a later release added is filled with its default (or an empty
value), and a key it no longer knows is ignored, so a document frozen by an older release
still prints.
"""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import date, datetime
from functools import lru_cache
from typing import Any, TypeVar

T = TypeVar("T")
_EMPTY = {str: "", int: 0, bool: False}


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _value(hint: Any, raw: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if raw is None:
            return None
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _value(inner[0], raw)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], x) for x in raw or ())
        return tuple(_value(a, x) for a, x in zip(args, raw))
    if raw is None:
        return None
    if hint is datetime:
        return datetime.fromisoformat(raw)
    if hint is date:
        return date.fromisoformat(raw)
    if dataclasses.is_dataclass(hint):
        return thaw(hint, raw)
    return raw


def thaw(cls: type[T], tree: dict[str, Any]) -> T:
    """Rebuild the frozen dataclass ``cls`` from its plain-JSON ``tree``."""
    hints = _hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in tree:
            values[f.name] = _value(hints[f.name], tree[f.name])
        elif f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            continue
        else:
            hint = hints[f.name]
            values[f.name] = () if typing.get_origin(hint) is tuple else _EMPTY.get(hint)
    return cls(**values)


def thaw_json(cls: type[T], text: str) -> T:
    """:func:`thaw` of canonical JSON text."""
    return thaw(cls, json.loads(text))
