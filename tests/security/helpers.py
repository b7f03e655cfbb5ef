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
    "approver": "approver",
    "platform": "platform",
}


def app_from_template(template: Path, tmp_path: Path, *, settings=None, **config):
    """The demo app on a fresh copy of the template database in ``tmp_path`` (the
    ``demo_template`` fixture of tests/security/conftest.py makes the template)."""
    from dataclasses import replace

    from pos import create_app
    from support import app_on, copy_sqlite, make_settings

    target = tmp_path / "canteen.db"
    copy_sqlite(template, target)
    if settings is None:
        return app_on(f"sqlite:///{target}", tmp_path, **config)
    base = make_settings(f"sqlite:///{target}", tmp_path)
    settings = replace(settings, database_url=base.database_url, instance_path=base.instance_path)
    return create_app({"CANTEEN": settings, "TESTING": True, **config})
