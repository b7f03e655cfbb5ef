"""`canteen check-config`, `init`, `upgrade`, `demo` and `user add`: setting a canteen up."""
from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from pos.access import ROLES, SUPERVISE
from pos.config import load_settings
from pos.db import (DatabaseExists, check_schema_version, code_schema_version, database_schema_version, has_schema,
                    init_schema, upgrade_schema)
from pos.demo import load_demo
from pos.store.audit import audit
from pos.store.canteens import sync_canteens
from pos.refusal import Refusal
from pos.store.staff import create_user
from pos.web.input_policy import NAME, SECRET, checked


def _db():
    return current_app.extensions["canteen_db"]


def _settings():
    return current_app.config["CANTEEN"]


def register(cli: click.Group) -> None:
    @cli.command("check-config")
    def check_config():
        """Validate config.toml and the environment (secrets) without starting anything."""
        s = load_settings()
        versions = ", ".join(f"{v.version} from {v.effective_from}" for v in s.policy.versions)
        click.echo(f"{os.path.basename(s.config_path)}: OK — {len(s.canteens)} canteen(s) "
                   f"({', '.join(c.code for c in s.canteens)}); policy versions: {versions}; "
                   f"database: {s.database_url.split('@')[-1]}; "
                   f"mode: {'development' if s.development else 'production'}")

    @cli.command("init")
    @click.option("--force", is_flag=True, help="Erase an existing database and start again.")
    @click.option("--if-missing", is_flag=True,
                  help="When the database exists, only bring it up to date (`canteen upgrade`).")
    @click.option("--with-demo", is_flag=True, help="Load the demo canteen after creating the database.")
    @with_appcontext
    def init(force: bool, if_missing: bool, with_demo: bool):
        """Create the database from schema.sql (refuses an existing one without --force)."""
        db = _db()
        if if_missing and has_schema(db.engine):
            applied = upgrade_schema(db.engine)
            click.echo("database already initialised; " + (
                f"upgraded to schema version {applied[-1]}" if applied else "left as it is"))
            return
        try:
            init_schema(db.engine, force=force)
        except DatabaseExists as e:
            click.echo(f"canteen init: {e}", err=True)
            sys.exit(1)
        with db.transaction() as s:
            sync_canteens(session=s, settings=_settings())
        click.echo(f"database created at {db.url.split('@')[-1]}")
        if with_demo:
            click.echo(load_demo(_settings(), db))

    @cli.command("upgrade")
    @with_appcontext
    def upgrade():
        """Bring an existing database up to this release's schema (in one transaction)."""
        db = _db()
        if not has_schema(db.engine):
            click.echo("canteen upgrade: the database is not initialised; run `canteen init` first", err=True)
            sys.exit(1)
        before = database_schema_version(db.engine)
        applied = upgrade_schema(db.engine)
        if applied:
            click.echo(f"upgraded the database from schema version {before} to {applied[-1]}")
        else:
            check_schema_version(db.engine)
            click.echo(f"the database is at schema version {code_schema_version()}, as this release needs; "
                       "nothing to do")

    @cli.command("demo")
    @with_appcontext
    def demo():
        """Load the demo canteen: menu, staff per role, diners, a week of history."""
        click.echo(load_demo(_settings(), _db()))

    @cli.group("user")
    def user():
        """Staff accounts."""

    @user.command("add")
    @click.argument("username")
    @click.option("--role", required=True, type=click.Choice(ROLES))
    @click.option("--canteen", "canteen_code", default=None, help="Canteen code the account works at.")
    @click.option("--name", "display_name", default="", help="Name shown on the till.")
    @with_appcontext
    def user_add(username: str, role: str, canteen_code: str | None, display_name: str):
        """Add a staff account.  The password comes from CANTEEN_PASSWORD or a prompt; a
        supervisor's void-approval PIN from CANTEEN_PIN or a prompt."""
        password = os.environ.get("CANTEEN_PASSWORD") or click.prompt("Password", hide_input=True,
                                                                       confirmation_prompt=True)
        try:
            username = checked(username, "username")
            display_name = checked(display_name, "--name", NAME)
            password = checked(password, "password", SECRET)
        except Refusal as e:
            click.echo(f"canteen user add: {e.en}", err=True)
            sys.exit(2)
        pin = None
        if role in SUPERVISE:
            pin = os.environ.get("CANTEEN_PIN") or (
                click.prompt("Void-approval PIN (4-8 digits, empty for none)", hide_input=True, default="",
                             show_default=False) if sys.stdin.isatty() else None) or None
        try:
            with _db().transaction() as s:
                row = create_user(session=s, username=username, password=password, role=role, pin=pin,
                                  display_name=display_name, canteen_id=canteen_code)
                audit(tx=s, action="staff_created", actor="cli", canteen_id=canteen_code, target=row.id,
                      detail={"username": username, "role": role})
        except Refusal as e:
            click.echo(f"canteen user add: {e.en}", err=True)
            sys.exit(1)
        click.echo(f"added {role} {username}" + (f" at {canteen_code}" if canteen_code else ""))
