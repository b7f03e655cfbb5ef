"""Config mistakes stop start-up with one line naming the key, and exit status 2."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from pos.config import ChecksConfig, ConfigError, load_settings, scrypt_n
from pos.store.passwords import check_secret, hash_secret

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (ROOT / "config.toml").read_text(encoding="utf-8")
DEV = {"CANTEEN_ENV": "development"}


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text, encoding="utf-8")
    return p


MISTAKES = [
    # (what, edit of the shipped file, words the one line must contain)
    ("wrong type", lambda s: s.replace("cap_per_day = 40", 'cap_per_day = "forty"'),
     "policy.free_meals.cap_per_day must be a whole number"),
    ("fractional fen", lambda s: s.replace("discount_fen = 700", "discount_fen = 3.5"),
     "policy.age_tiers[1].discount_fen must be a whole number of fen > 0, got 3.5"),
    ("negative discount", lambda s: s.replace("discount_fen = 300", "discount_fen = -300"),
     "policy.age_tiers[0].discount_fen must be a whole number of fen > 0, got -300"),
    ("unsorted tiers", lambda s: s.replace("min_age = 80", "min_age = 55"),
     "policy.age_tiers[1].min_age must be greater than the tier before it (60)"),
    ("overlapping tiers", lambda s: s.replace("min_age = 80", "min_age = 60"),
     "policy.age_tiers[1].min_age must be greater than the tier before it (60)"),
    ("unknown worker category", lambda s: s.replace('"delivery_rider"]', '"courier"]'),
     "policy.free_meals.worker_categories[2] is not a known worker category"),
    ("bad time zone", lambda s: s.replace('timezone = "Asia/Shanghai"', 'timezone = "Asia/Ningbo"', 1),
     "canteens[0].timezone is not a known time zone"),
    ("missing canteen", lambda s: s.split("# One [[canteens]] block")[0] + "\n[[policy]]\n" + s.split("\n[[policy]]\n", 1)[1],
     "canteens is missing"),
    ("unknown key", lambda s: s.replace("cap_per_day = 40", "cap_per_day = 40\ncaps = 3"),
     "policy.free_meals.caps is not a known setting"),
    ("bad limit", lambda s: s.replace('per = "day"', 'per = "week"'), "policy.limit.per must be \"day\" or \"period\""),
    ("period end before start", lambda s: s.replace('start = "10:30", end = "14:00"', 'start = "14:00", end = "10:30"'),
     "policy.limit.periods[1].end must be after start"),
    ("no weekly meals", lambda s: s.replace("# per_week = 5", "per_week = 0"),
     "policy.limit.per_week must be a whole number of meals >= 1, got 0"),
    ("fractional weekly meals", lambda s: s.replace("# per_week = 5", "per_week = 4.5"),
     "policy.limit.per_week must be a whole number of meals >= 1, got 4.5"),
    ("weekly meals as text", lambda s: s.replace("# per_week = 5", 'per_week = "5"'),
     "policy.limit.per_week must be a whole number of meals >= 1, got '5'"),
    ("not TOML", lambda s: s + "\n[[canteens]\n", "is not valid TOML"),
    ("effective date as text", lambda s: s.replace("effective_from = 2026-01-01", 'effective_from = "2026-01-01"'),
     "policy.effective_from must be a date"),
    ("void share above one", lambda s: s.replace("void_rate_max = 0.10", "void_rate_max = 10"),
     "checks.void_rate_max must be a share above 0 and at most 1 (0.1 = 10 %), got 10"),
    ("void share as text", lambda s: s.replace("void_rate_max = 0.10", 'void_rate_max = "10%"'),
     "checks.void_rate_max must be a share above 0 and at most 1"),
    ("no minimum of sales", lambda s: s.replace("void_rate_min_sales = 20", "void_rate_min_sales = 0"),
     "checks.void_rate_min_sales must be a whole number of sales > 0, got 0"),
    ("zero attendance factor", lambda s: s.replace("attendance_factor = 1.0", "attendance_factor = 0"),
     "checks.attendance_factor must be a number above 0"),
    ("fractional window", lambda s: s.replace("same_diner_window_minutes = 60", "same_diner_window_minutes = 7.5"),
     "checks.same_diner_window_minutes must be a whole number of minutes > 0, got 7.5"),
    ("unknown check", lambda s: s.replace("void_rate_min_sales = 20", "void_rate_min_sales = 20\nvoid_rate = 1"),
     "checks.void_rate is not a known setting"),
    ("closing before opening", lambda s: s.replace('closes = "19:30"', 'closes = "06:00"', 1),
     "canteens[0].closes must be after opens (06:30), got 06:00"),
    ("opening time not a time", lambda s: s.replace('opens = "06:30"', 'opens = "half past six"', 1),
     "canteens[0].opens must be a local time HH:MM, got 'half past six'"),
    ("no wait for a writer", lambda s: s.replace("# write_wait_seconds = 5", "write_wait_seconds = 0"),
     "app.write_wait_seconds must be a whole number of seconds > 0, got 0"),
]


@pytest.mark.parametrize("what,edit,expected", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_config_mistake_names_the_key(tmp_path, what, edit, expected):
    path = write(tmp_path, edit(SHIPPED))
    with pytest.raises(ConfigError) as e:
        load_settings(path, env=DEV)
    line = str(e.value)
    assert expected in line
    assert "\n" not in line


def test_checks_and_opening_hours_are_read_and_default_when_absent(tmp_path):
    shipped = load_settings(write(tmp_path, SHIPPED), env=DEV)
    assert (shipped.checks.void_rate_max, shipped.checks.void_rate_min_sales) == (0.10, 20)
    assert (shipped.checks.attendance_factor, shipped.checks.same_diner_window_minutes) == (1.0, 60)
    edited = SHIPPED.replace('opens = "06:30"', "opens = 07:00:00", 1).replace("attendance_factor = 1.0",
                                                                                "attendance_factor = 2")
    s = load_settings(write(tmp_path, edited), env=DEV)
    assert (s.canteens[0].opens, s.canteens[0].closes) == (time(7, 0), time(19, 30))
    assert s.checks.attendance_factor == 2.0
    bare = SHIPPED.split("[checks]")[0] + "[[canteens]]\n" + SHIPPED.split("\n[[canteens]]\n", 1)[1]
    bare = bare.replace('opens = "06:30"\n', "").replace('closes = "19:30"\n', "")
    s = load_settings(write(tmp_path, bare), env=DEV)
    assert s.checks == ChecksConfig()
    assert all((c.opens, c.closes) == (time(6, 30), time(19, 30)) for c in s.canteens)


def test_a_weekly_limit_is_read_and_absent_by_default(tmp_path):
    assert load_settings(write(tmp_path, SHIPPED), env=DEV).policy.versions[0].per_week is None
    weekly = load_settings(write(tmp_path, SHIPPED.replace("# per_week = 5", "per_week = 5")), env=DEV)
    assert weekly.policy.versions[0].per_week == 5


def test_policy_versions_must_be_in_order(tmp_path):
    second = SHIPPED.split("\n[[policy]]\n", 1)[1].replace('version = "2026-01"', 'version = "2025-07"').replace(
        "effective_from = 2026-01-01", "effective_from = 2025-07-01")
    path = write(tmp_path, SHIPPED + "\n[[policy]]\n" + second)
    with pytest.raises(ConfigError, match=r"policy\[1\]\.effective_from must be later than the version before it"):
        load_settings(path, env=DEV)


def test_default_secret_refused_outside_development(tmp_path):
    from pos.config import DEV_SECRET_KEY

    path = write(tmp_path, SHIPPED)
    with pytest.raises(ConfigError, match="CANTEEN_SECRET_KEY is the built-in development secret"):
        load_settings(path, env={"CANTEEN_SECRET_KEY": DEV_SECRET_KEY, "CANTEEN_ID_KEY": "x" * 32})
    with pytest.raises(ConfigError, match="CANTEEN_ID_KEY is not set"):
        load_settings(path, env={"CANTEEN_SECRET_KEY": "s" * 32})
    s = load_settings(path, env={"CANTEEN_SECRET_KEY": "s" * 32, "CANTEEN_ID_KEY": "i" * 32})
    assert not s.development


PROD = {"CANTEEN_SECRET_KEY": "s" * 32, "CANTEEN_ID_KEY": "i" * 32}


@pytest.mark.parametrize(("env", "expected"), [
    ({}, 2**15),                                            # production's cost by default
    (PROD, 2**15),
    ({**DEV, "CANTEEN_SCRYPT_N": "1024"}, 1024),            # a demo or the test suite may lower it
    ({**PROD, "CANTEEN_SCRYPT_N": "65536"}, 65536),         # anyone may raise it
])
def test_the_password_work_factor(env, expected):
    assert scrypt_n(env) == expected


@pytest.mark.parametrize(("env", "message"), [
    ({**PROD, "CANTEEN_SCRYPT_N": "1024"}, "below 32768 is refused outside development mode"),
    ({**DEV, "CANTEEN_SCRYPT_N": "1000"}, "must be a power of two from 1024"),
    ({**DEV, "CANTEEN_SCRYPT_N": "512"}, "must be a power of two from 1024"),
    ({**DEV, "CANTEEN_SCRYPT_N": "lots"}, "must be a power of two from 1024"),
])
def test_a_weak_or_bad_work_factor_stops_start_up_naming_it(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message) as refused:
        load_settings(write(tmp_path, SHIPPED), env=env)
    assert "CANTEEN_SCRYPT_N" in str(refused.value) and "\n" not in str(refused.value)


def test_a_hash_keeps_its_own_work_factor(monkeypatch):
    monkeypatch.setenv("CANTEEN_SCRYPT_N", "1024")
    cheap = hash_secret("柜台密码-1")
    monkeypatch.delenv("CANTEEN_SCRYPT_N")
    dear = hash_secret("柜台密码-1")
    assert cheap.startswith("scrypt:1024:8:1$") and dear.startswith("scrypt:32768:8:1$")
    # Changing the factor never locks anyone out: each hash is checked at the cost it was made with.
    assert check_secret(cheap, "柜台密码-1") and check_secret(dear, "柜台密码-1")
    assert not check_secret(cheap, "柜台密码-2") and not check_secret(dear, "柜台密码-2")


def test_database_url_from_environment_wins(tmp_path):
    s = load_settings(write(tmp_path, SHIPPED), env={**DEV, "DATABASE_URL": "postgresql://u@h/db"})
    assert s.database_url == "postgresql+psycopg://u@h/db"


def run_cli(*args, env_extra=None, cwd=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANTEEN_")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", "from pos.web.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=60)


def test_shipped_config_passes_check_config():
    r = run_cli("check-config", env_extra={**DEV, "CANTEEN_CONFIG": str(ROOT / "config.toml")})
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout


@pytest.mark.parametrize("what,edit,expected", MISTAKES[:8], ids=[m[0] for m in MISTAKES[:8]])
def test_cli_prints_one_line_and_exits_2(tmp_path, what, edit, expected):
    path = write(tmp_path, edit(SHIPPED))
    for command in ("check-config", "serve"):
        r = run_cli(command, env_extra={**DEV, "CANTEEN_CONFIG": str(path)})
        assert r.returncode == 2, (command, r.stdout, r.stderr)
        assert r.stderr.strip().count("\n") == 0, r.stderr
        assert expected in r.stderr
        assert "Traceback" not in r.stderr


def test_missing_secret_stops_serve_with_one_line(tmp_path):
    r = run_cli("serve", env_extra={"CANTEEN_CONFIG": str(ROOT / "config.toml")})
    assert r.returncode == 2
    assert r.stderr.strip() .startswith("environment: CANTEEN_SECRET_KEY is not set")
    assert "\n" not in r.stderr.strip()
