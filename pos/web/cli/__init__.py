"""The `canteen` command, built on Flask's CLI: one module per group of commands.

Configuration mistakes print one line naming the key and exit with status 2; every other
refusal is one line on stderr and exit status 1.  No tracebacks.
"""
from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup

from pos.config import ConfigError
from pos.db import SchemaError
from pos.web import create_app
from pos.web.cli import (audit_command, backup_commands, correction_commands, ledger_commands, report_commands,
                         serve_command, setup_commands)
from pos.web.cli import rights_commands
from pos.web.cli import diner_import_command

cli = FlaskGroup(name="canteen", create_app=lambda: create_app(), add_default_commands=False, load_dotenv=False,
                 help="Neighbourhood canteen till and subsidy system.")
for commands in (setup_commands, serve_command, report_commands, ledger_commands, audit_command,
                 correction_commands, backup_commands, rights_commands, diner_import_command):
    commands.register(cli)


def main() -> None:
    try:
        cli.main(prog_name="canteen")
    except ConfigError as e:
        click.echo(str(e), err=True)
        sys.exit(2)
    except SchemaError as e:
        click.echo(f"canteen: {e}", err=True)
        sys.exit(1)
