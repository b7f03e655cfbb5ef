"""`canteen diners purge [--dry-run]`: after the retention, remove what may go of erased diners.

An erased diner whose last subsidised meal is in a month older than ``registry.retention_years``
(the accounting archive period), or who had none, loses their pseudonym (so a resident ID
number no longer finds them), their change history and their vouchers.  Their grants stay:
sales and the hash chain refer to them, and they name no one.  Each diner purged is noted
in the audit log (``diners_purged``).  ``--dry-run`` lists them and changes nothing.
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from pos.clock import business_date
from pos.store import diner_rights


def diners_group(cli: click.Group) -> click.Group:
    """The `canteen diners` group, made by whichever module registers first."""
    group = cli.commands.get("diners")
    if group is None:
        @cli.group("diners")
        def group():
            """The diner registry: bulk import, purge after the retention."""
    return group


def register(cli: click.Group) -> None:
    @diners_group(cli).command("purge")
    @click.option("--dry-run", is_flag=True, help="List what would be purged; change nothing.")
    @with_appcontext
    def purge(dry_run: bool):
        """Remove the pseudonym, history and vouchers of erased diners whose last subsidised
        meal is older than registry.retention_years (grants stay, naming no one)."""
        settings = current_app.config["CANTEEN"]
        db = current_app.extensions["canteen_db"]
        years = settings.registry.retention_years
        today = business_date(settings.default_canteen.timezone)
        kept_from = diner_rights.retention_start(today, years)
        with db.transaction() as s:
            if dry_run:
                found = diner_rights.purgeable(s, today=today, retention_years=years)
            else:
                found = diner_rights.purge(s, today=today, retention_years=years, actor="cli")
        for p in found:
            last = p.last_meal.isoformat() if p.last_meal else "none"
            click.echo(f"{p.diner_id}: erased {p.erased_at:%Y-%m-%d}, last subsidised meal {last}")
        verb = "would purge" if dry_run else "purged"
        click.echo(f"{verb} {len(found)} erased diner(s); grants from {kept_from.isoformat()} on are kept "
                   f"(registry.retention_years = {years})")
