"""`canteen audit --since YYYY-MM-DD`: the audit log on the server's console, newest first.

Whoever runs commands on the server sees every entry (the page in the back office is the
scoped view).  Dates are the canteen's local dates; a bad date, an end before the start
or an unknown canteen is one line on stderr and exit status 2.  ``--format jsonl`` gives
one JSON object a line, for scripts.
"""
from __future__ import annotations

import json
import sys
from datetime import date, timezone
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext

from pos.refusal import Refusal
from pos.store.audit_log import AuditFilter, LoggedAction, iter_audit_log
from pos.web.input_policy import check_day


def _usage(message: str):
    click.echo(f"canteen audit: {message}", err=True)
    sys.exit(2)


def _date(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return check_day(date.fromisoformat(text.strip()), option)
    except ValueError:
        _usage(f"{option} must be YYYY-MM-DD, got {text!r}")
    except Refusal as e:
        _usage(e.en)


def _text_line(entry: LoggedAction, tz: ZoneInfo) -> str:
    local = entry.at.replace(tzinfo=timezone.utc).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    detail = json.dumps(dict(entry.detail), ensure_ascii=False, sort_keys=True) if entry.detail else ""
    fields = [local, entry.canteen_id or "-", entry.actor, entry.action, entry.target or "-", detail]
    return "  ".join(fields).rstrip()


def _json_line(entry: LoggedAction, tz: ZoneInfo) -> str:
    moment = entry.at.replace(tzinfo=timezone.utc)
    return json.dumps({"id": entry.id, "at": moment.isoformat().replace("+00:00", "Z"),
                       "local_time": moment.astimezone(tz).isoformat(), "canteen": entry.canteen_id,
                       "actor": entry.actor, "action": entry.action, "target": entry.target,
                       "detail": dict(entry.detail), "address": entry.address}, ensure_ascii=False)


def register(cli: click.Group) -> None:
    @cli.command("audit")
    @click.option("--since", required=True, help="First local date, YYYY-MM-DD.")
    @click.option("--until", default=None, help="Last local date, YYYY-MM-DD (default: no end).")
    @click.option("--actor", default=None, help="Only this username (or 'cli', 'anonymous').")
    @click.option("--action", default=None, help="Only this action, e.g. sale_voided, day_closed, login.")
    @click.option("--canteen", "code", default=None, help="Only this canteen (code); its time zone reads the dates.")
    @click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
    @with_appcontext
    def audit(since: str, until: str | None, actor: str | None, action: str | None, code: str | None, fmt: str):
        """Print the audit log, newest first: time, canteen, actor, action, target, detail."""
        settings = current_app.config["CANTEEN"]
        codes = [c.code for c in settings.canteens]
        if code is not None and code not in codes:
            _usage(f"unknown canteen {code!r} (configured: {', '.join(codes)})")
        canteen = settings.canteen(code) if code else settings.default_canteen
        try:
            filters = AuditFilter(since=_date("--since", since), until=_date("--until", until),
                                  timezone=canteen.timezone, actor=actor, action=action, canteen_id=code)
        except Refusal as e:
            _usage(e.en)
        zone = ZoneInfo(canteen.timezone)
        line = _json_line if fmt == "jsonl" else _text_line
        with current_app.extensions["canteen_db"].session() as s:
            for entry in iter_audit_log(session=s, filters=filters, canteen_ids=None, include_unplaced=True):
                click.echo(line(entry, zone))
