"""Security headers on pages, API answers, errors and static files; templates that need
no inline script (the CSP would block it)."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from support import ROOT, api_token, build_app, make_settings

TEMPLATES = ROOT / "pos" / "web" / "templates"


def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def check_headers(response, *, sensitive: bool = True) -> None:
    csp = csp_directives(response)
    scripts = csp.get("script-src", csp.get("default-src"))
    assert scripts, "a script source is declared"
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts and "*" not in scripts
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    if sensitive:
        assert response.headers["Cache-Control"] == "no-store"


def test_headers_on_a_page(sqlite_client):
    client = sqlite_client
    r = client.get("/login")
    assert r.status_code == 200
    check_headers(r)


def test_headers_on_an_api_answer(sqlite_client):
    client = sqlite_client
    r = client.get("/api/v1/menu", headers=api_token(client, "cashier"))
    assert r.status_code == 200 and r.is_json
    check_headers(r)


@pytest.mark.parametrize("url", ["/api/v1/menu", "/no-such-page", "/api/v1/no-such-thing", "/healthz",
                                 "/api/v1/openapi.json"])
def test_headers_on_errors_and_plain_answers(sqlite_client, url):
    client = sqlite_client
    check_headers(client.get(url))


def test_headers_on_static_files(sqlite_client):
    client = sqlite_client
    r = client.get("/static/app.css")
    assert r.status_code == 200
    check_headers(r, sensitive=False)


def test_hsts_only_behind_https(sqlite_url, tmp_path):
    plain = build_app(sqlite_url, tmp_path, demo=False)
    assert "Strict-Transport-Security" not in plain.test_client().get("/login").headers
    plain.extensions["canteen_db"].dispose()
    settings = replace(make_settings(sqlite_url, tmp_path), base_url="https://canteen.example")
    secure = build_app(sqlite_url, tmp_path, demo=False, settings=settings)
    assert secure.test_client().get("/login").headers["Strict-Transport-Security"].startswith("max-age=")
    secure.extensions["canteen_db"].dispose()


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script> (move it to pos/web/static/*.js)"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler (use addEventListener in a .js file)"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_the_templates_are_where_this_test_looks():
    assert len(list(TEMPLATES.rglob("*.html"))) > 10


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_have_no_inline_script(template: Path):
    text = template.read_text(encoding="utf-8")
    for pattern, what in INLINE:
        for m in pattern.finditer(text):
            if 'type="application/json"' in m.group(0):
                continue  # data islands are not executed
            line = text.count("\n", 0, m.start()) + 1
            pytest.fail(f"{template.relative_to(ROOT)}:{line}: {what}: {m.group(0)[:60]}")
