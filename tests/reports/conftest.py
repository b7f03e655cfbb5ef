"""Fixtures of the report tests.  This folder's helper modules (report_data, report_tools)
are imported by name, so the folder goes on sys.path (tests/ itself holds the real
``reports`` package's namesake, which a namespace import would shadow)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report_tools import Poppler  # noqa: E402


@pytest.fixture
def poppler(tmp_path) -> Poppler:
    """poppler-utils on PDF bytes (skips, or fails on CI, when the tools are missing)."""
    return Poppler(tmp_path)
