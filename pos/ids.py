"""Application-made ids: time-ordered text, unique without asking the database.

A tablet or a server can name a row before it reaches the database, and the same DDL
runs on SQLite and PostgreSQL (neither needs an auto-increment column).
"""
from __future__ import annotations

import secrets
import time


def new_id() -> str:
    """20 hex characters: 12 of milliseconds since the epoch, 8 random."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(4)}"
