"""Every route × every role, against the one table in pos/access.py.

The walk reads ``app.url_map`` at run time, so routes added by any area are covered
without touching this file: each (rule, method) is called anonymously and as each role
(bearer token for /api/, the login session for pages), with dummy values for path
parameters.  A role the table allows must not be refused (401/403); any other answer —
404 for a dummy id, 405, 422 — is the view's business.  A role the table does not allow
must get 403; anonymous callers get 401 (API) or a redirect to the sign-in page.
"""
from __future__ import annotations

import uuid

from flask import Flask, g

from pos.access import PUBLIC, ROLES, ROUTE_ROLES, allowed
from security.helpers import ROLE_USERS, app_from_template
from support import DEMO_PASSWORD_SUFFIX, api_token

ANONYMOUS = None
CALLERS = (ANONYMOUS, *ROLES)
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
ACCESS_HEADER = "X-Test-Access"


def dummy_value(converter) -> object:
    """A value each werkzeug converter accepts and no real row has."""
    name = type(converter).__name__
    if name == "IntegerConverter":
        return 987654
    if name == "FloatConverter":
        return 9876.5
    if name == "UUIDConverter":
        return uuid.UUID(int=0)
    if name == "AnyConverter":
        return sorted(converter.items)[0] if hasattr(converter, "items") else "dummy"
    return "dummy-0000"


def walk_targets(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every rule and method of the app."""
    adapter = app.url_map.bind("localhost")
    out = []
    for rule in app.url_map.iter_rules():
        values = {arg: dummy_value(rule._converters[arg]) for arg in rule.arguments}
        url = adapter.build(rule.endpoint, values, force_external=False, append_unknown=False)
        for method in sorted(rule.methods - SKIPPED_METHODS):
            out.append((rule.endpoint, method, url))
    return out


class Caller:
    """A test client signed in as one role, that signs in again when a walked route
    (logout, token revoke) ended its credentials."""

    def __init__(self, app: Flask, role: str | None):
        self.app, self.role = app, role
        self.client = app.test_client()
        self.headers: dict[str, str] = {}
        if role is not None:
            self._sign_in()

    def _sign_in(self) -> None:
        username = ROLE_USERS[self.role]
        self.client = self.app.test_client()
        r = self.client.post("/login", data={"username": username, "password": username + DEMO_PASSWORD_SUFFIX})
        assert r.status_code == 302, f"{username} could not sign in: {r.status_code}"
        self.headers = api_token(self.app.test_client(), username)

    def _still_signed_in(self) -> bool:
        from pos.store.staff import user_fields_for_token

        with self.app.extensions["canteen_db"].tx() as tx:
            token_ok = user_fields_for_token(tx, token=self.headers["Authorization"][7:]) is not None
        start = self.client.get("/")
        return token_ok and "/login" not in start.headers.get("Location", "/login")

    def call(self, method: str, url: str):
        api = url.startswith("/api/")
        kwargs: dict = {"headers": self.headers} if api else {}
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            kwargs["json" if api else "data"] = {}
        # API calls go out without the session cookie, pages without the bearer token.
        client = self.app.test_client() if api else self.client
        response = client.open(url, method=method, **kwargs)
        # Read and close streamed answers (CSV exports) now: an open stream keeps its
        # request context alive and would leak into the next request of the walk.
        response.get_data()
        response.close()
        if self.role is not None and method != "GET" and not self._still_signed_in():
            self._sign_in()
        return response


def refused(role: str | None, response) -> bool:
    """Refused by the route table (not by the view's own checks on a dummy id)."""
    if response.headers.get(ACCESS_HEADER) != "refused":
        return False
    if role is None:
        return response.status_code in (401, 403) or (
            response.status_code in (301, 302, 303) and "/login" in response.headers.get("Location", ""))
    return response.status_code == 403


def note_access_verdict(app: Flask) -> None:
    """Let the walk see whether the access hook refused (g.access_refused) or the view answered."""
    @app.after_request
    def _note(response):
        response.headers[ACCESS_HEADER] = "refused" if g.get("access_refused") else "passed"
        return response


def test_every_route_is_declared(nocsrf_app):
    undeclared = sorted({rule.endpoint for rule in nocsrf_app.url_map.iter_rules()} - set(ROUTE_ROLES))
    assert not undeclared, f"routes with no entry in pos/access.py ROUTE_ROLES: {undeclared}"


def test_declarations_name_known_roles():
    for endpoint, roles in ROUTE_ROLES.items():
        assert roles is PUBLIC or roles <= set(ROLES), f"{endpoint}: unknown role in {sorted(roles)}"
        assert roles, f"{endpoint}: declared with no role at all"


def test_an_undeclared_route_refuses_everyone(demo_template, tmp_path):
    app = app_from_template(demo_template, tmp_path, WTF_CSRF_ENABLED=False)
    note_access_verdict(app)
    app.add_url_rule("/undeclared-probe", "undeclared_probe", lambda: "open to all", methods=["GET", "POST"])
    app.add_url_rule("/api/v1/undeclared-probe", "undeclared_api_probe", lambda: {"open": True})
    assert allowed("undeclared_probe", "admin") is None
    for role in CALLERS:
        caller = Caller(app, role)
        for method, url in (("GET", "/undeclared-probe"), ("POST", "/undeclared-probe"),
                            ("GET", "/api/v1/undeclared-probe")):
            r = caller.call(method, url)
            assert r.status_code == 403 and refused(role, r), f"{role or 'anonymous'} {method} {url}: {r.status_code}"
            assert "open" not in r.get_data(as_text=True).replace("open_", "")
    app.extensions["canteen_db"].dispose()


def test_every_route_answers_every_role_as_declared(nocsrf_app, capsys):
    note_access_verdict(nocsrf_app)
    targets = walk_targets(nocsrf_app)
    callers = {role: Caller(nocsrf_app, role) for role in CALLERS}
    wrong, crashed, view_refusals, walked = [], [], [], 0
    for endpoint, method, url in targets:
        declared = ROUTE_ROLES.get(endpoint)
        for role in CALLERS:
            may = allowed(endpoint, role)
            try:
                r = callers[role].call(method, url)
            except Exception as e:  # noqa: BLE001 - a crash is a finding of its own, listed below
                crashed.append(f"{role or 'anonymous'} {method} {url} ({endpoint}): {e.__class__.__name__}: {e}")
                continue
            walked += 1
            who = role or "anonymous"
            if r.status_code >= 500:
                crashed.append(f"{who} {method} {url} ({endpoint}): {r.status_code}")
            if may and refused(role, r):
                wrong.append(f"{who} {method} {url} ({endpoint}) is allowed {sorted(declared)} but got {r.status_code}")
            elif may and r.status_code in (401, 403):
                view_refusals.append(f"{who} {method} {url} ({endpoint}): {r.status_code}")
            elif not may and not refused(role, r):
                wrong.append(f"{who} {method} {url} ({endpoint}) is not in {sorted(declared or [])} "
                             f"but got {r.status_code}")
    with capsys.disabled():
        print(f"\nroute walk: {len({(e, m) for e, m, _ in targets})} route×method pairs × {len(CALLERS)} callers "
              f"= {walked} requests; {len(wrong)} wrong, {len(crashed)} crashed")
        for line in view_refusals:  # e.g. POST /login with no password: the view's own 401
            print(f"  allowed, refused by the view itself: {line}")
    assert not wrong, "\n".join(wrong)
    assert not crashed, "\n".join(crashed)


def test_stale_declarations_are_listed(nocsrf_app, capsys):
    """Entries for routes that do not exist (yet) are harmless but worth seeing."""
    registered = {rule.endpoint for rule in nocsrf_app.url_map.iter_rules()}
    stale = sorted(set(ROUTE_ROLES) - registered)
    if stale:
        with capsys.disabled():
            print(f"\ndeclared but not registered: {stale}")
