"""Hostile input: the API fuzzed with schemathesis from /api/v1/openapi.json, on SQLite and
on PostgreSQL, the HTML forms with hypothesis.  Never a server error: every answer is below
500 and nothing raises.  The API's answers must also be the ones its document describes:
a documented status, a documented content type, and a body valid against the schema
declared for that status (schemathesis's conformance checks).

Short by default (CANTEEN_FUZZ_EXAMPLES, default 20 examples per operation and
generation mode) so `make test` stays fast; `make fuzz` runs 2000.  Each test prints the
requests it tried and the failures it found (run with -s to see them).
"""
from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from sqlalchemy import text

from pos.access import ROLES, ROUTE_ROLES, allowed
from security.helpers import ROLE_USERS, app_from_template
from support import DEMO_PASSWORD_SUFFIX, demo_app

EXAMPLES = int(os.environ.get("CANTEEN_FUZZ_EXAMPLES", "20"))
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
                         suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
SHOW_FAILURES = 10


@dataclass
class Tally:
    """Requests tried and failures found, per operation or form."""

    tried: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def report(self, title: str) -> str:
        lines = [f"{title}: {sum(self.tried.values())} requests over {len(self.tried)} targets, "
                 f"{len(self.failures)} failures; statuses {dict(sorted(self.statuses.items()))}"]
        for name, n in sorted(self.tried.items()):
            lines.append(f"  {n:6d}  {name}")
        lines += [f"  FAILURE {f}" for f in self.failures[:SHOW_FAILURES]]
        return "\n".join(lines)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory, demo_template):
    app = app_from_template(demo_template, tmp_path_factory.mktemp("fuzz"), WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["canteen_db"].dispose()


def fresh_token(app, username: str) -> dict:
    """A bearer token made in the store (no password check: the fuzzer may have throttled
    the account through /auth/token, which is part of what it fuzzes)."""
    from sqlmodel import select

    from pos.models import StaffUser
    from pos.store.staff import issue_token

    with app.extensions["canteen_db"].transaction() as s:
        user = s.exec(select(StaffUser).where(StaffUser.username == username)).one()
        token, _ = issue_token(session=s, user=user, hours=1)
    return {"Authorization": f"Bearer {token}"}


def role_for(app, method: str, path: str) -> str | None:
    """The cashier when the route table lets a cashier call it, else the first role that may."""
    adapter = app.url_map.bind("localhost")
    concrete = re.sub(r"\{[^}]+\}", "dummy", path)
    endpoint, _ = adapter.match(concrete, method=method)
    if allowed(endpoint, "cashier"):
        return "cashier"
    return next((r for r in ("supervisor", "admin", "registrar", "accountant") if allowed(endpoint, r)), None)


# --- the API, with schemathesis -------------------------------------------------------

@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def api_fuzz_app(request, tmp_path_factory, demo_templates):
    """The demo app on a fresh copy of the demo database, on each engine."""
    with demo_app(request.param, demo_templates, tmp_path_factory.mktemp(f"api-fuzz-{request.param}"),
                  WTF_CSRF_ENABLED=False) as app:
        yield app


def conformance_checks() -> list:
    """Never a server error, and the answer is one the document describes: its status is
    documented for the operation, its content type is the one documented for that status,
    and its body is valid against the schema declared for it."""
    from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                     status_code_conformance)

    return [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_fuzz_api_answers_only_what_its_document_describes(api_fuzz_app, capsys):
    import schemathesis
    from schemathesis.generation import GenerationMode

    app = api_fuzz_app
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = conformance_checks()
    tokens = {role: fresh_token(app, ROLE_USERS[role]) for role in ROLES}
    # The cashier works with an open shift, so sales get past "no open shift".
    c = app.test_client()
    assert c.post("/api/v1/shifts", json={"opening_float_fen": 10000}, headers=tokens["cashier"]).status_code == 201
    tally = Tally()
    engine = app.extensions["canteen_db"].engine.dialect.name

    for result in schema.get_all_operations():
        operation = result.ok()
        role = role_for(app, operation.method.upper(), operation.path)
        name = f"{operation.method.upper()} {operation.path} as {role}"
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @FUZZ_SETTINGS
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                headers = {**tokens[role], "Idempotency-Key": str(uuid.uuid4())} if role else {}
                tally.tried[name] += 1
                sent = f"<- {case.body!r:.200} path={case.path_parameters} query={case.query}"
                try:
                    response = case.call(headers=headers)
                except Exception as e:  # noqa: BLE001 - in TESTING mode a crash propagates: that is a finding
                    tally.failures.append(f"{name}: {e.__class__.__name__}: {e} {sent}")
                    return
                tally.statuses[response.status_code] += 1
                try:
                    case.validate_response(response, checks=checks, headers=headers)
                except BaseExceptionGroup as group:  # schemathesis's FailureGroup: one per failed check
                    for failure in group.exceptions:
                        message = " ".join(str(getattr(failure, "message", failure)).split())
                        tally.failures.append(f"{name} [{response.status_code}]: {getattr(failure, 'title', '')}: "
                                              f"{message:.400} {sent}")
                except AssertionError as e:  # a single failed check
                    tally.failures.append(f"{name} [{response.status_code}]: {' '.join(str(e).split()):.400} {sent}")
                if response.status_code == 401 and role:
                    tokens[role] = fresh_token(app, ROLE_USERS[role])  # the fuzzer revoked it

            run()
    with capsys.disabled():
        print("\n" + tally.report(f"API fuzz on {engine} with the conformance checks "
                                  f"({EXAMPLES} examples per operation and mode)"))
    assert not tally.failures, "\n".join(tally.failures[:SHOW_FAILURES])


def test_the_conformance_checks_refuse_an_answer_the_document_does_not_describe(sqlite_app):
    """The checks have teeth: a real answer passes; the same answer with an undocumented
    status, another content type, a member its schema does not declare, or a 500, does not."""
    import schemathesis

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", sqlite_app)
    case = schema["/api/v1/menu"]["GET"].Case()
    headers = fresh_token(sqlite_app, ROLE_USERS["cashier"])
    checks = conformance_checks()

    real = case.call(headers=headers)
    assert real.status_code == 200, real.content

    def failures(status: int = 200, content_type: str = "application/json", content: bytes = real.content) -> list[str]:
        """The titles of the failed checks for the real answer with these changes."""
        headers_out = {**real.headers, "content-type": [content_type]}
        response = schemathesis.Response(status_code=status, headers=headers_out, content=content,
                                         request=real.request, elapsed=real.elapsed, verify=real.verify)
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except BaseExceptionGroup as group:
            return [f.title for f in group.exceptions]
        except AssertionError as e:
            return [getattr(e, "title", str(e))]
        return []

    assert failures() == []
    assert failures(status=418) == ["Undocumented status code"]
    assert failures(content_type="text/html; charset=utf-8") == ["Undocumented Content-Type"]
    assert failures(content=real.content.replace(b'{"canteen"', b'{"surprise":1,"canteen"', 1)) == [
        "Response violates schema"]
    assert "Server error" in failures(status=500)


# --- the HTML forms, with hypothesis ----------------------------------------------------

HOSTILE = st.sampled_from([
    "", " ", "0", "-1", "1e309", "NaN", "١٢٣", "９９．５", "12.345", "99999999999999999999", "2025-02-30", "0000-00-00",
    "' OR 1=1 --", "<script>alert(1)</script>", "{{7*7}}", "%s%n", "\u202e", "\ud7ff", "A" * 5000,
    "330205195001011234", "33020519500101123X", "on", "off", "1", "true", "cashier", "admin", "YLW01", "JM01",
])
FORM_VALUE = st.one_of(HOSTILE, st.text(max_size=60), st.from_regex(r"\A-?\d{1,12}(\.\d{0,4})?\Z"))


def form_fields(client, url: str) -> list[str]:
    """Field names of the forms on the page at ``url`` (its GET, when it has one)."""
    r = client.get(url)
    if r.status_code != 200 or "html" not in r.content_type:
        return []
    return sorted(set(re.findall(r'\bname="([^"]+)"', r.get_data(as_text=True))) - {"csrf_token"})


def real_values(app) -> dict[str, str]:
    """Ids that exist, so the fuzzer reaches past 'not found' (a spare cashier's account
    stands in for user_id, so the admin does not lock themselves out)."""
    from pos.clock import business_date

    with app.extensions["canteen_db"].session() as s:
        one = lambda sql: s.execute(text(sql)).scalar() or "dummy"  # noqa: E731
        return {
            "diner_id": one("SELECT id FROM diners ORDER BY id LIMIT 1"),
            "item_id": one("SELECT id FROM menu_items WHERE canteen_id = 'YLW01' ORDER BY id LIMIT 1"),
            "user_id": one("SELECT id FROM staff_users WHERE username = 'cashier2'"),
            "voucher_id": one("SELECT id FROM vouchers ORDER BY id LIMIT 1"),
            "sale_id": one("SELECT id FROM sales ORDER BY id LIMIT 1"),
            "canteen_code": "YLW01", "canteen": "YLW01", "code": "YLW01",
            "day": business_date(app.config["CANTEEN"].default_canteen.timezone).isoformat(),
        }


def form_targets(app) -> list[tuple[str, str, str | None]]:
    """(endpoint, url, role) for every page route that takes a POST."""
    adapter = app.url_map.bind("localhost")
    values = real_values(app)
    out = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or "POST" not in rule.methods:
            continue
        url = adapter.build(rule.endpoint, {a: values.get(a, "dummy") for a in rule.arguments})
        roles = ROUTE_ROLES.get(rule.endpoint, frozenset())
        role = None if "anonymous" in roles else next((r for r in ("admin", *ROLES) if r in roles), None)
        out.append((rule.endpoint, url, role))
    return out


def signed_in(app, role: str | None, target: int):
    """A client signed in as ``role`` from a tablet of its own for each fuzzed form: the
    fuzzing of the login form, of /auth/token and of the forms that ask for the current
    password throttles the account from the address it came from (per account and address)."""
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = "10.20.%d.%d" % (target, 1 + (ROLES.index(role) if role else len(ROLES)))
    if role is not None:
        username = ROLE_USERS[role]
        assert c.post("/login", data={"username": username, "password": username + DEMO_PASSWORD_SUFFIX}).status_code == 302
    return c


def test_fuzz_forms_never_answer_a_server_error(fuzz_app, capsys):
    tally = Tally()
    targets = form_targets(fuzz_app)
    assert any(endpoint == "auth.login" for endpoint, _, _ in targets)
    for n, (endpoint, url, role) in enumerate(targets):
        if endpoint == "auth.logout":
            continue  # signs the fuzzing client out; it takes no input
        client = signed_in(fuzz_app, role, n)
        names = form_fields(client, url) or ["value"]
        fields = st.dictionaries(st.sampled_from(names + ["unexpected"]), FORM_VALUE, max_size=len(names) + 1)
        # Most examples fill every known field, so validation gets past "missing".
        full = st.fixed_dictionaries({n: FORM_VALUE for n in names})

        @FUZZ_SETTINGS
        @given(data=st.one_of(full, fields))
        def run(data):
            tally.tried[f"POST {endpoint} as {role or 'anonymous'}"] += 1
            try:
                response = client.post(url, data=data)
            except Exception as e:  # noqa: BLE001
                tally.failures.append(f"{endpoint}: {e.__class__.__name__}: {e} <- {data!r:.300}")
                return
            tally.statuses[response.status_code] += 1
            if response.status_code >= 500:
                tally.failures.append(f"{endpoint}: {response.status_code} <- {data!r:.300}")

        run()
    with capsys.disabled():
        print("\n" + tally.report(f"form fuzz ({EXAMPLES} examples per form)"))
    assert not tally.failures, "\n".join(tally.failures[:SHOW_FAILURES])
