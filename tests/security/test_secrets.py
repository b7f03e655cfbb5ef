"""Secrets: outside development the app refuses to start with a default, missing, short or
shared secret — one clear line, exit status 2.  The resident-ID HMAC key is its own key,
separate from the session key: losing CANTEEN_ID_KEY orphans every pseudonym."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest

from pos.config import DEV_ID_KEY, DEV_SECRET_KEY
from support import ROOT

GOOD_SECRET = "s" * 40
GOOD_ID_KEY = "i" * 40


def run_canteen(tmp_path, *args: str, **env_overrides: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANTEEN_") and k != "DATABASE_URL"}
    env.update(CANTEEN_CONFIG=str(ROOT / "config.toml"), CANTEEN_INSTANCE=str(tmp_path / "instance"),
               DATABASE_URL=f"sqlite:///{tmp_path / 'canteen.db'}")
    for key, value in env_overrides.items():
        if value is not None:
            env[key] = value
    return subprocess.run([sys.executable, "-c", "from pos.web.cli import main; main()", *args],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("secret, id_key, named", [
    (DEV_SECRET_KEY, GOOD_ID_KEY, "CANTEEN_SECRET_KEY is the built-in development secret"),
    (None, GOOD_ID_KEY, "CANTEEN_SECRET_KEY is not set"),
    ("", GOOD_ID_KEY, "CANTEEN_SECRET_KEY is not set"),
    ("short", GOOD_ID_KEY, "CANTEEN_SECRET_KEY must be at least"),
    (GOOD_SECRET, DEV_ID_KEY, "CANTEEN_ID_KEY is the built-in development secret"),
    (GOOD_SECRET, None, "CANTEEN_ID_KEY is not set"),
    (GOOD_SECRET, GOOD_SECRET, "CANTEEN_ID_KEY must differ from CANTEEN_SECRET_KEY"),
])
def test_serve_refuses_unsafe_secrets_outside_development(tmp_path, secret, id_key, named):
    done = run_canteen(tmp_path, "serve", CANTEEN_SECRET_KEY=secret, CANTEEN_ID_KEY=id_key)
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, f"one clear line, got: {done.stderr!r}"
    assert named in lines[0] and lines[0].startswith("environment: ")
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "canteen.db").exists(), "nothing was started or created"


def test_the_development_secret_is_fine_in_development_mode(tmp_path):
    done = run_canteen(tmp_path, "check-config", CANTEEN_ENV="development")
    assert done.returncode == 0, done.stderr
    assert "mode: development" in done.stdout


def test_real_secrets_start_in_production_mode(tmp_path):
    done = run_canteen(tmp_path, "check-config", CANTEEN_SECRET_KEY=GOOD_SECRET, CANTEEN_ID_KEY=GOOD_ID_KEY)
    assert done.returncode == 0, done.stderr
    assert "mode: production" in done.stdout


def test_pseudonyms_use_the_id_key_not_the_session_key(sqlite_app):
    """The stored id_hmac is HMAC(CANTEEN_ID_KEY, number): rotating the session secret
    leaves pseudonyms alone; another ID key cannot find the diner again (orphaned)."""
    from sqlmodel import select

    from pos.models import StaffUser
    from pos.store.diners import register_diner
    from subsidies.resident_id import check_character, pseudonym

    settings = sqlite_app.config["CANTEEN"]
    assert settings.id_key != settings.secret_key.encode()
    first17 = "33020519500101123"
    number = first17 + check_character(first17)
    with sqlite_app.extensions["canteen_db"].transaction() as s:
        staff_id = s.exec(select(StaffUser.id).where(StaffUser.username == "registrar")).one()
        diner = register_diner(session=s, id_key=settings.id_key, staff_id=staff_id, community="云鹭湾社区",
                               name="测试", id_number=number, resident=True, today=date(2025, 6, 1),
                               worker_category=None, worker_proof="")
        stored = diner.id_hmac
    assert stored == pseudonym(settings.id_key, number)
    assert stored != pseudonym(settings.secret_key.encode(), number)
    assert stored != pseudonym(b"another-id-key-after-losing-the-first", number)
    assert number not in stored
