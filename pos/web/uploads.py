"""Uploaded files stay in memory.

Werkzeug spools a multipart upload past 500 KB into a temporary file on disk.  A list of
diners holds resident ID numbers, which must never reach a file in plain text, so every
request parses its uploads into memory instead; the app's ``MAX_CONTENT_LENGTH`` (1 MiB)
bounds how much that can be.
"""
from __future__ import annotations

import io
from typing import IO

from flask import Request


class InMemoryUploadsRequest(Request):
    """A request whose uploaded files are read into memory, never into a temporary file."""

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:
        return io.BytesIO()
