"""Shared pydantic pieces of the API."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Request bodies refuse unknown fields and never coerce types (a "3" is not 3)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorDetail(BaseModel):
    code: str
    message: str
    message_zh: str
    message_en: str


class ErrorOut(BaseModel):
    """A refusal: its code and words, and sometimes what helps to try again — ``quote``
    (the new price, with ``price_changed``), ``shift`` (the one already open), ``item_id``
    (the dish refused), ``due_fen``, ``cap``/``issued`` (tickets), ``problems`` (what is
    wrong with a request's fields)."""

    model_config = ConfigDict(extra="allow")
    error: ErrorDetail


class Parameters(BaseModel):
    """Header and query-string models.  The OpenAPI layer asks such a model for its JSON
    schema on every request it validates; a model never changes once defined, so the
    plain call (no arguments) is worked out once per class.  The document's own call,
    with arguments, is left alone."""

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if args or kwargs:
            return super().model_json_schema(*args, **kwargs)
        cached = cls.__dict__.get("_plain_json_schema")
        if cached is None:
            cached = super().model_json_schema()
            setattr(cls, "_plain_json_schema", cached)
        return cached
