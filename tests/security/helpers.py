"""Helpers shared by the security tests (import as ``security.helpers``)."""
from __future__ import annotations

from pathlib import Path

# The demo account that plays each role (password = username + "-demo-pass").
ROLE_USERS = {
    "cashier": "cashier",
    "supervisor": "supervisor",
    "accountant": "accountant",
    "registrar": "registrar",
    "admin": "admin",
}


def app_from_template(template: Path, tmp_path: Path, *, settings=None, **config):
    """The demo app on a fresh copy of the SQLite demo template in ``tmp_path`` (the
    ``demo_template`` fixture of tests/security/conftest.py names the template)."""
    from dataclasses import replace

    from pos import create_app
    from support import copy_sqlite, make_settings

    target = tmp_path / "canteen.db"
    copy_sqlite(template, target)
    base = make_settings(f"sqlite:///{target}", tmp_path)
    settings = base if settings is None else replace(settings, database_url=base.database_url,
                                                      instance_path=base.instance_path)
    return create_app({"CANTEEN": settings, "TESTING": True, **config})
