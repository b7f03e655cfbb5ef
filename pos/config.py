"""Settings: config.toml and the environment, validated once at start-up.

Every mistake becomes one line naming the key and the problem, e.g.
``config.toml: policy.age_tiers[1].discount_fen must be a whole number of fen > 0, got 3.5``;
the CLI prints it and exits with status 2.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from subsidies.policy import WORKER_CATEGORIES, AgeTier, MealPeriod, Policy, PolicyVersion

# Accepted only when CANTEEN_ENV=development (which `make run` sets).
DEV_SECRET_KEY = "development-only-secret-key-do-not-use"
DEV_ID_KEY = "development-only-id-key-do-not-use"
_MIN_SECRET_LEN = 16


class ConfigError(Exception):
    """A configuration mistake, as one line a person can act on."""


@dataclass(frozen=True)
class CanteenConfig:
    code: str
    name: str
    community: str
    district: str
    timezone: str
    currency: str = "CNY"


@dataclass(frozen=True)
class SecurityConfig:
    login_max_failures: int = 5
    login_window_minutes: int = 15
    pin_max_failures: int = 3
    pin_window_minutes: int = 15
    token_hours: int = 12


@dataclass(frozen=True)
class Settings:
    canteens: tuple[CanteenConfig, ...]
    policy: Policy
    database_url: str
    base_url: str
    language: str
    voucher_valid_days: int
    security: SecurityConfig
    secret_key: str = field(repr=False)
    id_key: bytes = field(repr=False)  # HMAC key for resident-ID pseudonyms; losing it orphans them
    development: bool
    config_path: str
    instance_path: str

    def canteen(self, code: str) -> CanteenConfig:
        for c in self.canteens:
            if c.code == code:
                return c
        raise KeyError(code)

    @property
    def default_canteen(self) -> CanteenConfig:
        return self.canteens[0]


class _Reader:
    """Walks the parsed TOML, naming each key by its path for error messages."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {path} {problem}")

    def table(self, data: Mapping, key: str, path: str, *, required: bool = True) -> dict:
        if key not in data:
            if required:
                raise self.fail(path, "is missing")
            return {}
        value = data[key]
        if not isinstance(value, dict):
            raise self.fail(path, f"must be a table, got {value!r}")
        return value

    def get(self, data: Mapping, key: str, path: str, kind: type | tuple, *, default: Any = ..., describe: str = "") -> Any:
        if key not in data:
            if default is ...:
                raise self.fail(path, "is missing")
            return default
        value = data[key]
        ok = isinstance(value, kind) and not (kind in (int, (int,)) and isinstance(value, bool))
        if not ok:
            raise self.fail(path, f"must be {describe or _kind_name(kind)}, got {value!r}")
        return value

    def whole(self, data: Mapping, key: str, path: str, *, minimum: int, what: str, default: Any = ...) -> int:
        if key not in data and default is not ...:
            return default
        if key not in data:
            raise self.fail(path, "is missing")
        value = data[key]
        bound = f"> {minimum - 1}" if minimum > 0 else f">= {minimum}"
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(path, f"must be a whole number of {what} {bound}, got {value!r}")
        return value

    def unknown_keys(self, data: Mapping, allowed: set[str], path: str) -> None:
        for key in data:
            if key not in allowed:
                prefix = f"{path}." if path else ""
                raise self.fail(f"{prefix}{key}", f"is not a known setting (expected one of: {', '.join(sorted(allowed))})")


def _kind_name(kind) -> str:
    names = {str: "text", int: "a whole number", bool: "true or false", list: "a list", date: "a date (YYYY-MM-DD)"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


def _clock_time(r: _Reader, value: Any, path: str) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    raise r.fail(path, f"must be a local time HH:MM, got {value!r}")


def _canteens(r: _Reader, raw: Any) -> tuple[CanteenConfig, ...]:
    if raw is None:
        raise r.fail("canteens", "is missing: add at least one [[canteens]] block with code, name and community")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise r.fail("canteens", "must list at least one canteen ([[canteens]] blocks)")
    seen = set()
    out = []
    for i, c in enumerate(raw):
        p = f"canteens[{i}]"
        if not isinstance(c, dict):
            raise r.fail(p, f"must be a table, got {c!r}")
        r.unknown_keys(c, {"code", "name", "community", "district", "timezone", "currency"}, p)
        code = r.get(c, "code", f"{p}.code", str)
        if not code or not code.replace("-", "").replace("_", "").isalnum() or not code.isascii():
            raise r.fail(f"{p}.code", f"must be letters, digits, '-' or '_', got {code!r}")
        if code in seen:
            raise r.fail(f"{p}.code", f"repeats canteen code {code!r}")
        seen.add(code)
        name = r.get(c, "name", f"{p}.name", str)
        community = r.get(c, "community", f"{p}.community", str)
        if not name.strip():
            raise r.fail(f"{p}.name", "must not be empty")
        if not community.strip():
            raise r.fail(f"{p}.community", "must not be empty")
        tz = r.get(c, "timezone", f"{p}.timezone", str, default="Asia/Shanghai")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise r.fail(f"{p}.timezone", f"is not a known time zone (e.g. Asia/Shanghai), got {tz!r}") from None
        currency = r.get(c, "currency", f"{p}.currency", str, default="CNY")
        if currency != "CNY":
            raise r.fail(f"{p}.currency", f"must be CNY (amounts are fen), got {currency!r}")
        out.append(CanteenConfig(code, name, community, r.get(c, "district", f"{p}.district", str, default=""), tz, currency))
    return tuple(out)


def _policy_version(r: _Reader, v: dict, p: str) -> PolicyVersion:
    r.unknown_keys(v, {"version", "effective_from", "age_tiers", "residency_required",
                       "walk_in_id_counts_as_resident", "free_meals", "limit"}, p)
    version = r.get(v, "version", f"{p}.version", str)
    if not version.strip():
        raise r.fail(f"{p}.version", "must not be empty")
    effective = r.get(v, "effective_from", f"{p}.effective_from", date, describe="a date (YYYY-MM-DD, unquoted)")
    if not isinstance(effective, date) or hasattr(effective, "hour"):
        raise r.fail(f"{p}.effective_from", f"must be a date (YYYY-MM-DD, unquoted), got {effective!r}")
    raw_tiers = r.get(v, "age_tiers", f"{p}.age_tiers", list)
    tiers = []
    for i, t in enumerate(raw_tiers):
        tp = f"{p}.age_tiers[{i}]"
        if not isinstance(t, dict):
            raise r.fail(tp, f"must be a table {{ min_age = 60, discount_fen = 300 }}, got {t!r}")
        r.unknown_keys(t, {"min_age", "discount_fen"}, tp)
        min_age = r.whole(t, "min_age", f"{tp}.min_age", minimum=1, what="years")
        if min_age > 130:
            raise r.fail(f"{tp}.min_age", f"must be at most 130 years, got {min_age}")
        discount = r.whole(t, "discount_fen", f"{tp}.discount_fen", minimum=1, what="fen")
        if tiers and min_age <= tiers[-1].min_age:
            raise r.fail(f"{tp}.min_age", f"must be greater than the tier before it ({tiers[-1].min_age}): "
                                         f"list tiers in increasing age without overlap, got {min_age}")
        if tiers and discount < tiers[-1].discount_fen:
            raise r.fail(f"{tp}.discount_fen", f"must not be smaller than the younger tier's ({tiers[-1].discount_fen}), got {discount}")
        tiers.append(AgeTier(min_age, discount))
    residency = r.get(v, "residency_required", f"{p}.residency_required", bool, default=True)
    walk_in = r.get(v, "walk_in_id_counts_as_resident", f"{p}.walk_in_id_counts_as_resident", bool, default=False)

    fm = r.table(v, "free_meals", f"{p}.free_meals", required=False)
    r.unknown_keys(fm, {"worker_categories", "cap_per_day"}, f"{p}.free_meals")
    cats = r.get(fm, "worker_categories", f"{p}.free_meals.worker_categories", list, default=list(WORKER_CATEGORIES))
    for i, cat in enumerate(cats):
        if cat not in WORKER_CATEGORIES:
            raise r.fail(f"{p}.free_meals.worker_categories[{i}]",
                         f"is not a known worker category ({', '.join(WORKER_CATEGORIES)}), got {cat!r}")
    cap = r.whole(fm, "cap_per_day", f"{p}.free_meals.cap_per_day", minimum=0, what="meals", default=40)

    lim = r.table(v, "limit", f"{p}.limit", required=False)
    r.unknown_keys(lim, {"per", "periods"}, f"{p}.limit")
    per = r.get(lim, "per", f"{p}.limit.per", str, default="day")
    if per not in ("day", "period"):
        raise r.fail(f"{p}.limit.per", f"must be \"day\" or \"period\", got {per!r}")
    periods = []
    for i, m in enumerate(r.get(lim, "periods", f"{p}.limit.periods", list, default=[])):
        mp = f"{p}.limit.periods[{i}]"
        if not isinstance(m, dict):
            raise r.fail(mp, f"must be a table {{ name = \"lunch\", start = \"10:30\", end = \"14:00\" }}, got {m!r}")
        r.unknown_keys(m, {"name", "start", "end"}, mp)
        name = r.get(m, "name", f"{mp}.name", str)
        if not name.strip():
            raise r.fail(f"{mp}.name", "must not be empty")
        start = _clock_time(r, m.get("start"), f"{mp}.start")
        end = _clock_time(r, m.get("end"), f"{mp}.end")
        if end <= start:
            raise r.fail(f"{mp}.end", f"must be after start ({start:%H:%M}), got {end:%H:%M}")
        if periods and start < periods[-1].end:
            raise r.fail(f"{mp}.start", f"overlaps the period before it (ends {periods[-1].end:%H:%M}), got {start:%H:%M}")
        periods.append(MealPeriod(name, start, end))
    if per == "period" and not periods:
        raise r.fail(f"{p}.limit.periods", "must list the meal periods when limit.per = \"period\"")
    return PolicyVersion(
        version=version, effective_from=effective, age_tiers=tuple(tiers),
        residency_required=residency, walk_in_id_counts_as_resident=walk_in,
        welfare_categories=frozenset(cats), free_meals_per_day=cap,
        limit_per=per, meal_periods=tuple(periods),
    )


def _policy(r: _Reader, raw: Any) -> Policy:
    if raw is None:
        raise r.fail("policy", "is missing: add a [[policy]] block with version, effective_from and age_tiers")
    if isinstance(raw, dict):
        versions = [_policy_version(r, raw, "policy")]
    elif isinstance(raw, list) and raw:
        versions = []
        for i, v in enumerate(raw):
            p = "policy" if len(raw) == 1 else f"policy[{i}]"
            if not isinstance(v, dict):
                raise r.fail(p, f"must be a table, got {v!r}")
            versions.append(_policy_version(r, v, p))
    else:
        raise r.fail("policy", "must be one or more [[policy]] blocks")
    for i in range(1, len(versions)):
        if versions[i].effective_from <= versions[i - 1].effective_from:
            raise r.fail(f"policy[{i}].effective_from",
                         f"must be later than the version before it ({versions[i - 1].effective_from}); "
                         f"list versions oldest first, got {versions[i].effective_from}")
        if versions[i].version in {v.version for v in versions[:i]}:
            raise r.fail(f"policy[{i}].version", f"repeats version {versions[i].version!r}")
    return Policy(tuple(versions))


def _secret(env: Mapping[str, str], name: str, dev_default: str, development: bool) -> str:
    value = env.get(name, "")
    if development and not value:
        return dev_default
    if not value:
        raise ConfigError(f"environment: {name} is not set; set a long random secret "
                          f"(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), "
                          f"or CANTEEN_ENV=development for a demo")
    if value == dev_default and not development:
        raise ConfigError(f"environment: {name} is the built-in development secret, refused outside "
                          f"development mode (CANTEEN_ENV=development); set a long random secret")
    if len(value) < _MIN_SECRET_LEN:
        raise ConfigError(f"environment: {name} must be at least {_MIN_SECRET_LEN} characters, got {len(value)}")
    return value


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("CANTEEN_CONFIG") or "config.toml")


def load_settings(path: str | os.PathLike | None = None, *, env: Mapping[str, str] | None = None,
                  instance_path: str | os.PathLike | None = None) -> Settings:
    """Read and validate the config file and environment; raise ConfigError (one line)."""
    env = os.environ if env is None else env
    cfg = Path(path) if path else config_path(env)
    r = _Reader(cfg.name)
    try:
        text = cfg.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{cfg}: file not found (set CANTEEN_CONFIG or run from the project folder)") from None
    except OSError as e:
        raise ConfigError(f"{cfg}: cannot be read: {e.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{cfg.name}: is not valid TOML: {e}") from None
    r.unknown_keys(data, {"app", "security", "canteens", "policy"}, "")

    app = r.table(data, "app", "app", required=False)
    r.unknown_keys(app, {"base_url", "language", "voucher_valid_days", "database_url"}, "app")
    base_url = r.get(app, "base_url", "app.base_url", str, default="http://127.0.0.1:5000").rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise r.fail("app.base_url", f"must start with http:// or https://, got {base_url!r}")
    language = r.get(app, "language", "app.language", str, default="zh")
    if language not in ("zh", "en"):
        raise r.fail("app.language", f"must be \"zh\" or \"en\", got {language!r}")
    valid_days = r.whole(app, "voucher_valid_days", "app.voucher_valid_days", minimum=1, what="days", default=365)

    sec = r.table(data, "security", "security", required=False)
    fields = SecurityConfig.__dataclass_fields__
    r.unknown_keys(sec, set(fields), "security")
    security = SecurityConfig(**{k: r.whole(sec, k, f"security.{k}", minimum=1, what="units", default=fields[k].default)
                                 for k in fields})

    canteens = _canteens(r, data.get("canteens"))
    policy = _policy(r, data.get("policy"))

    development = env.get("CANTEEN_ENV", "") == "development"
    inst = Path(instance_path or env.get("CANTEEN_INSTANCE") or "instance").resolve()
    db_url = env.get("DATABASE_URL") or r.get(app, "database_url", "app.database_url", str, default="")
    if not db_url:
        db_url = f"sqlite:///{inst / 'canteen.db'}"
    if not db_url.startswith(("sqlite:///", "postgresql+psycopg://", "postgresql://")):
        raise ConfigError(f"DATABASE_URL must be sqlite:///PATH or postgresql+psycopg://..., got {db_url.split('@')[-1]!r}")
    if db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgresql://"):]

    secret = _secret(env, "CANTEEN_SECRET_KEY", DEV_SECRET_KEY, development)
    id_key = _secret(env, "CANTEEN_ID_KEY", DEV_ID_KEY, development)
    if secret == id_key:
        raise ConfigError("environment: CANTEEN_ID_KEY must differ from CANTEEN_SECRET_KEY")
    return Settings(
        canteens=canteens, policy=policy, database_url=db_url, base_url=base_url,
        language=language, voucher_valid_days=valid_days, security=security,
        secret_key=secret, id_key=id_key.encode(), development=development,
        config_path=str(cfg.resolve()), instance_path=str(inst),
    )
