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

from subsidies.policy import AgeTier, MealPeriod, Policy, PolicyError, PolicyVersion
from subsidies.vocabulary import WORKER_CATEGORIES

# Accepted only when CANTEEN_ENV=development (which `make run` sets).
DEV_SECRET_KEY = "development-only-secret-key-do-not-use"
DEV_ID_KEY = "development-only-id-key-do-not-use"
_MIN_SECRET_LEN = 16
# Opening hours of a canteen that does not state its own (the shipped meal periods' span).
DEFAULT_OPENS, DEFAULT_CLOSES = time(6, 30), time(19, 30)


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
    opens: time = DEFAULT_OPENS    # local time; sales before it or from closes on are flagged
    closes: time = DEFAULT_CLOSES


@dataclass(frozen=True)
class SecurityConfig:
    login_max_failures: int = 5
    login_window_minutes: int = 15
    pin_max_failures: int = 3
    pin_window_minutes: int = 15
    token_hours: int = 12


@dataclass(frozen=True)
class ChecksConfig:
    """Thresholds of the anomaly edit checks (reports.anomalies): they flag, never refuse."""

    void_rate_max: float = 0.10           # a cashier's voided share of a day's sales
    void_rate_min_sales: int = 20         # ... counted only from this many sales that day
    attendance_factor: float = 1.0        # subsidised meals ≤ eligible registered diners × this
    same_diner_window_minutes: int = 60   # one diner at two canteens within this is flagged


@dataclass(frozen=True)
class RegistryConfig:
    """The diner registry: how long an erased diner's pseudonymous grants are kept for the
    claims (the accounting archive period) before `canteen diners purge` may remove them."""

    retention_years: int = 10
    # Months a worker category's proof (employer letter, work card…) counts from the day staff
    # saw it, and a resident's proof of residency; 0 = it never expires.
    worker_proof_months: int = 12
    residency_proof_months: int = 0


@dataclass(frozen=True)
class PublicConfig:
    """The canteen's public side, which anyone may use without signing in."""

    # Neighbourhood reports one address, or one device, may file within an hour; the next is
    # refused until the oldest of them is an hour old (a flood would bury the staff's queue).
    reports_per_hour: int = 20
    # How often an open "today" page asks for the free meals left: a TV by the door polls
    # all day (not too often), a queue reads the number (not too seldom).
    refresh_seconds: int = 15


@dataclass(frozen=True)
class OfflineConfig:
    """Selling while the canteen's network is down (see pos/store/leases.py)."""

    # Free meals a till holds while online, to grant from while offline (never more than
    # are left today); 0: no leases, so an offline till grants no free meal.
    lease_size: int = 5


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
    checks: ChecksConfig = field(default_factory=ChecksConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    public: PublicConfig = field(default_factory=PublicConfig)
    offline: OfflineConfig = field(default_factory=OfflineConfig)
    # Reverse proxies in front of `canteen serve` whose X-Forwarded-For/-Proto/-Host to believe
    # (0: none, the server is reached directly).
    trusted_proxies: int = 0
    # How long a write (a sale) waits for another writer — a server process stopped while
    # writing — before it is answered 503 "busy, try again" with nothing recorded.
    write_wait_seconds: int = 5

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
        r.unknown_keys(c, {"code", "name", "community", "district", "timezone", "currency", "opens", "closes"}, p)
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
        opens = _clock_time(r, c.get("opens", DEFAULT_OPENS), f"{p}.opens")
        closes = _clock_time(r, c.get("closes", DEFAULT_CLOSES), f"{p}.closes")
        if closes <= opens:
            raise r.fail(f"{p}.closes", f"must be after opens ({opens:%H:%M}), got {closes:%H:%M}")
        out.append(CanteenConfig(code, name, community, r.get(c, "district", f"{p}.district", str, default=""), tz, currency,
                                 opens, closes))
    return tuple(out)


# Where each field of a policy version lives in config.toml.  The rules themselves are
# checked by subsidies.policy when the version is built; this table only turns the path of
# a field it complains about into the TOML key a person must fix.
_TOML_KEYS = {
    "free_meals_per_day": "free_meals.cap_per_day",
    "welfare_categories": "free_meals.worker_categories",
    "limit_per": "limit.per",
    "meal_periods": "limit.periods",
    "per_week": "limit.per_week",
}


def _toml_key(field_path: str) -> str:
    head, sep, rest = field_path.partition("[")
    if not sep:
        head, sep, rest = field_path.partition(".")
    return _TOML_KEYS.get(head, head) + sep + rest


def _policy_version(r: _Reader, v: dict, p: str) -> PolicyVersion:
    """Map one [[policy]] block onto a PolicyVersion (the version checks its own rules)."""
    r.unknown_keys(v, {"version", "effective_from", "age_tiers", "residency_required",
                       "walk_in_id_counts_as_resident", "free_meals", "limit"}, p)
    version = r.get(v, "version", f"{p}.version", str)
    effective = r.get(v, "effective_from", f"{p}.effective_from", date, describe="a date (YYYY-MM-DD, unquoted)")
    tiers = []
    for i, t in enumerate(r.get(v, "age_tiers", f"{p}.age_tiers", list)):
        tp = f"{p}.age_tiers[{i}]"
        if not isinstance(t, dict):
            raise r.fail(tp, f"must be a table {{ min_age = 60, discount_fen = 300 }}, got {t!r}")
        r.unknown_keys(t, {"min_age", "discount_fen"}, tp)
        tiers.append(AgeTier(r.get(t, "min_age", f"{tp}.min_age", object),
                             r.get(t, "discount_fen", f"{tp}.discount_fen", object)))
    fm = r.table(v, "free_meals", f"{p}.free_meals", required=False)
    r.unknown_keys(fm, {"worker_categories", "cap_per_day"}, f"{p}.free_meals")
    lim = r.table(v, "limit", f"{p}.limit", required=False)
    r.unknown_keys(lim, {"per", "periods", "per_week"}, f"{p}.limit")
    periods = []
    for i, m in enumerate(r.get(lim, "periods", f"{p}.limit.periods", list, default=[])):
        mp = f"{p}.limit.periods[{i}]"
        if not isinstance(m, dict):
            raise r.fail(mp, f"must be a table {{ name = \"lunch\", start = \"10:30\", end = \"14:00\" }}, got {m!r}")
        r.unknown_keys(m, {"name", "start", "end"}, mp)
        periods.append(MealPeriod(r.get(m, "name", f"{mp}.name", str), _clock_time(r, m.get("start"), f"{mp}.start"),
                                  _clock_time(r, m.get("end"), f"{mp}.end")))
    try:
        return PolicyVersion(
            version=version, effective_from=effective, age_tiers=tuple(tiers),
            residency_required=v.get("residency_required", True),
            walk_in_id_counts_as_resident=v.get("walk_in_id_counts_as_resident", False),
            welfare_categories=tuple(r.get(fm, "worker_categories", f"{p}.free_meals.worker_categories", list,
                                           default=list(WORKER_CATEGORIES))),
            free_meals_per_day=fm.get("cap_per_day", 40),
            limit_per=lim.get("per", "day"), meal_periods=tuple(periods), per_week=lim.get("per_week"))
    except PolicyError as e:
        first = e.problems[0]
        raise r.fail(f"{p}.{_toml_key(first.path)}", first.message) from None


def _policy(r: _Reader, raw: Any) -> Policy:
    if raw is None:
        raise r.fail("policy", "is missing: add a [[policy]] block with version, effective_from and age_tiers")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise r.fail("policy", "must be one or more [[policy]] blocks")
    paths = ["policy" if len(raw) == 1 else f"policy[{i}]" for i in range(len(raw))]
    versions = []
    for p, v in zip(paths, raw):
        if not isinstance(v, dict):
            raise r.fail(p, f"must be a table, got {v!r}")
        versions.append(_policy_version(r, v, p))
    try:
        return Policy(tuple(versions))
    except PolicyError as e:
        first = e.problems[0]
        index, _, rest = first.path.removeprefix("versions[").partition("]")
        raise r.fail(paths[int(index)] + rest, first.message) from None


def _number(r: _Reader, data: Mapping, key: str, path: str, *, low: float, high: float | None, what: str,
            default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low < value \
            or (high is not None and value > high):
        raise r.fail(path, f"must be {what}, got {value!r}")
    return float(value)


def _checks(r: _Reader, data: Mapping) -> ChecksConfig:
    chk = r.table(data, "checks", "checks", required=False)
    r.unknown_keys(chk, set(ChecksConfig.__dataclass_fields__), "checks")
    d = ChecksConfig()
    return ChecksConfig(
        void_rate_max=_number(r, chk, "void_rate_max", "checks.void_rate_max", low=0, high=1, default=d.void_rate_max,
                              what="a share above 0 and at most 1 (0.1 = 10 %)"),
        void_rate_min_sales=r.whole(chk, "void_rate_min_sales", "checks.void_rate_min_sales", minimum=1, what="sales",
                                    default=d.void_rate_min_sales),
        attendance_factor=_number(r, chk, "attendance_factor", "checks.attendance_factor", low=0, high=None,
                                  default=d.attendance_factor, what="a number above 0 (1.0 = one meal per eligible diner)"),
        same_diner_window_minutes=r.whole(chk, "same_diner_window_minutes", "checks.same_diner_window_minutes",
                                          minimum=1, what="minutes", default=d.same_diner_window_minutes))


def _registry(r: _Reader, data: Mapping) -> RegistryConfig:
    reg = r.table(data, "registry", "registry", required=False)
    r.unknown_keys(reg, set(RegistryConfig.__dataclass_fields__), "registry")
    years = r.whole(reg, "retention_years", "registry.retention_years", minimum=1, what="years",
                    default=RegistryConfig().retention_years)
    if years > 100:
        raise r.fail("registry.retention_years", f"must be 1 to 100 years, got {years}")
    months = {key: r.whole(reg, key, f"registry.{key}", minimum=0, what="months",
                           default=getattr(RegistryConfig(), key))
              for key in ("worker_proof_months", "residency_proof_months")}
    for key, n in months.items():
        if n > 120:
            raise r.fail(f"registry.{key}", f"must be 0 to 120 months (0: never expires), got {n}")
    return RegistryConfig(retention_years=years, **months)


def _public(r: _Reader, data: Mapping) -> PublicConfig:
    pub = r.table(data, "public", "public", required=False)
    r.unknown_keys(pub, set(PublicConfig.__dataclass_fields__), "public")
    per_hour = r.whole(pub, "reports_per_hour", "public.reports_per_hour", minimum=1, what="reports",
                       default=PublicConfig().reports_per_hour)
    if per_hour > 1000:
        raise r.fail("public.reports_per_hour", f"must be 1 to 1000 reports an hour, got {per_hour}")
    seconds = r.whole(pub, "refresh_seconds", "public.refresh_seconds", minimum=1, what="seconds",
                      default=PublicConfig().refresh_seconds)
    if seconds > 600:
        raise r.fail("public.refresh_seconds", f"must be 1 to 600 seconds, got {seconds}")
    return PublicConfig(reports_per_hour=per_hour, refresh_seconds=seconds)


def _offline(r: _Reader, data: Mapping) -> OfflineConfig:
    off = r.table(data, "offline", "offline", required=False)
    r.unknown_keys(off, set(OfflineConfig.__dataclass_fields__), "offline")
    size = r.whole(off, "lease_size", "offline.lease_size", minimum=0, what="meals",
                   default=OfflineConfig().lease_size)
    if size > 40:
        raise r.fail("offline.lease_size", f"must be 0 to 40 free meals (0: no leases), got {size}")
    return OfflineConfig(lease_size=size)


#: scrypt's work factor for new password and PIN hashes (pos.store.passwords).  Each hash
#: keeps its own, so a change never locks anyone out.
SCRYPT_N = 2**15


def scrypt_n(env: Mapping[str, str]) -> int:
    """The work factor for new hashes: SCRYPT_N, or ``CANTEEN_SCRYPT_N`` — a power of two
    from 1024 — which may be lower only in development (a demo, the test suite: every
    sign-in pays it).  Raises ConfigError naming the variable."""
    raw = env.get("CANTEEN_SCRYPT_N", "")
    if not raw:
        return SCRYPT_N
    n = int(raw) if raw.isdigit() else 0
    if n < 1024 or n > 2**20 or n & (n - 1):
        raise ConfigError(f"environment: CANTEEN_SCRYPT_N must be a power of two from 1024 to 1048576, got {raw!r}")
    if n < SCRYPT_N and env.get("CANTEEN_ENV", "") != "development":
        raise ConfigError(f"environment: CANTEEN_SCRYPT_N below {SCRYPT_N} is refused outside development mode "
                          f"(CANTEEN_ENV=development)")
    return n


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
    r.unknown_keys(data, {"app", "security", "canteens", "policy", "checks", "registry", "public", "offline"}, "")

    app = r.table(data, "app", "app", required=False)
    r.unknown_keys(app, {"base_url", "language", "voucher_valid_days", "database_url", "trusted_proxies",
                         "write_wait_seconds"}, "app")
    base_url = r.get(app, "base_url", "app.base_url", str, default="http://127.0.0.1:5000").rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise r.fail("app.base_url", f"must start with http:// or https://, got {base_url!r}")
    language = r.get(app, "language", "app.language", str, default="zh")
    if language not in ("zh", "en"):
        raise r.fail("app.language", f"must be \"zh\" or \"en\", got {language!r}")
    valid_days = r.whole(app, "voucher_valid_days", "app.voucher_valid_days", minimum=1, what="days", default=365)
    proxies = r.whole(app, "trusted_proxies", "app.trusted_proxies", minimum=0, what="proxies", default=0)
    write_wait = r.whole(app, "write_wait_seconds", "app.write_wait_seconds", minimum=1, what="seconds", default=5)
    if proxies > 3:
        raise r.fail("app.trusted_proxies", f"must be 0 to 3 (the reverse proxies in front of the server), got {proxies}")

    sec = r.table(data, "security", "security", required=False)
    fields = SecurityConfig.__dataclass_fields__
    r.unknown_keys(sec, set(fields), "security")
    security = SecurityConfig(**{k: r.whole(sec, k, f"security.{k}", minimum=1, what="units", default=fields[k].default)
                                 for k in fields})

    canteens = _canteens(r, data.get("canteens"))
    policy = _policy(r, data.get("policy"))
    checks = _checks(r, data)
    registry = _registry(r, data)
    public = _public(r, data)
    offline = _offline(r, data)

    development = env.get("CANTEEN_ENV", "") == "development"
    scrypt_n(env)  # refused here, at start-up, rather than at the first new password
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
        config_path=str(cfg.resolve()), instance_path=str(inst), checks=checks, registry=registry, public=public, offline=offline,
        trusted_proxies=proxies,
        write_wait_seconds=write_wait,
    )
