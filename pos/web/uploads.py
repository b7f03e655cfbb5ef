"""Uploaded files stay in memory.

Werkzeug spools a multipart upload past 500 KB into a temporary file on disk.  A list of
diners holds resident ID numbers, which must never reach a file in plain text, so every
request parses its uploads into memory instead; the app's ``MAX_CONTENT_LENGTH`` (1 MiB)
bounds how much that can be, except for a view that declares its own bound with
:func:`body_limit` (a neighbourhood report's photo).
"""
from __future__ import annotations

import io
from typing import IO

from flask import Request, current_app


class InMemoryUploadsRequest(Request):
    """A request whose uploaded files are read into memory, never into a temporary file."""

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:
        return io.BytesIO()

    @property
    def max_content_length(self) -> int | None:
        # The bound must be known before anything reads the body: the input policy reads
        # the form in a before-request hook, ahead of the view.  The URL is matched by then.
        if self._max_content_length is None and self.url_rule is not None and current_app:
            limit = getattr(current_app.view_functions.get(self.url_rule.endpoint), "body_limit", None)
            if limit is not None:
                return limit
        return Request.max_content_length.fget(self)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def body_limit(limit: int):
    """Let the decorated view take a body of up to ``limit`` bytes instead of the app's
    ``MAX_CONTENT_LENGTH``; a larger one is refused with 413 before it is read."""
    def mark(view):
        view.body_limit = limit
        return view
    return mark
