"""Canteen rows mirror the [[canteens]] blocks of config.toml."""
from __future__ import annotations

from sqlmodel import Session

from pos.config import Settings
from pos.models import Canteen


def sync_canteens(*, session: Session, settings: Settings) -> None:
    """Insert canteens new to config.toml and refresh names; never deletes (sales point at them)."""
    for c in settings.canteens:
        row = session.get(Canteen, c.code)
        if row is None:
            session.add(Canteen(id=c.code, name=c.name, community=c.community, timezone=c.timezone))
        else:
            row.name, row.community, row.timezone = c.name, c.community, c.timezone
            session.add(row)
