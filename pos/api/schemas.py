"""Shared pydantic pieces of the API."""
from __future__ import annotations

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
    error: ErrorDetail
