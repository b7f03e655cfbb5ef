"""A refusal: the store (or a view) will not do what was asked, and says why.

Every refusal carries a ``code`` a program can act on and the words a person can act on,
in Chinese (the till, the back office) and English (logs, the CLI, English pages).
Nothing has been changed when one is raised: the caller's transaction rolls back.
``extra`` holds domain data that helps the caller try again — the new quote when a price
changed, the open shift when one is already open.

The store knows nothing of HTTP: ``pos.web.refusals`` is the one table that turns a
code into a status.
"""
from __future__ import annotations

from typing import Any


class Refusal(Exception):
    """Raised to refuse a request, with ``code``, ``zh``, ``en`` and ``extra``."""

    def __init__(self, code: str, zh: str, en: str, **extra: Any):
        super().__init__(en)
        self.code, self.zh, self.en, self.extra = code, zh, en, extra

    def message(self, language: str) -> str:
        """The words for a person reading ``language`` (``zh`` or ``en``)."""
        return self.en if language == "en" else self.zh
