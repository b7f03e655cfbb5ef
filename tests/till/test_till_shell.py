"""The installable till: its service worker script, what the worker keeps, the manifest, and
sign-out telling the browser to forget the kept copies (the browser side is
tests/browser/test_till_offline_shell.py)."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from pos.web.till import SHELL_FILES, ServiceWorker
from support import ROOT, browser_login

STATIC = ROOT / "pos" / "web" / "static"


@pytest.fixture
def signed_in(sqlite_app):
    """A test client of the cashier, signed in through the form (which carries no page's token here)."""
    sqlite_app.config["WTF_CSRF_ENABLED"] = False
    client = sqlite_app.test_client()
    assert browser_login(client, "cashier").status_code == 302
    return client


def _shell_of(script: str) -> dict:
    first, rest = script.split("\n", 1)
    assert first.startswith("var TILL_SHELL = ") and first.endswith(";")
    assert rest == (STATIC / "till-sw.js").read_text("utf-8")
    return json.loads(first[len("var TILL_SHELL = "):-1])


def test_the_worker_is_served_to_anyone_as_a_script_that_may_control_the_till_page(sqlite_app):
    r = sqlite_app.test_client().get("/till/sw.js")  # not signed in: the browser checks for updates by itself
    assert r.status_code == 200
    assert r.mimetype == "text/javascript"
    assert r.headers["Cache-Control"] == "no-cache"
    assert r.headers["Service-Worker-Allowed"] == "/till"
    shell = _shell_of(r.get_data(as_text=True))
    assert shell["page"] == "/till"
    assert shell["assets"] == [f"/static/{name}" for name in SHELL_FILES]
    assert re.fullmatch(r"[0-9a-f]{16}", shell["version"])


def test_the_worker_keeps_every_file_the_till_page_loads(signed_in):
    client = signed_in
    page = client.get("/till").get_data(as_text=True)
    linked = set(re.findall(r'(?:href|src)="(/static/[^"]+)"', page))
    assert linked, "the till page links its files under /static/"
    kept = set(_shell_of(client.get("/till/sw.js").get_data(as_text=True))["assets"])
    assert linked <= kept, f"not kept for a reload offline: {sorted(linked - kept)}"
    for url in kept:
        assert client.get(url).status_code == 200, url


def test_a_release_that_changes_a_file_of_the_till_changes_the_workers_version(tmp_path):
    static = tmp_path / "static"
    shutil.copytree(STATIC, static)
    before = ServiceWorker.of(str(static), "/static")
    assert ServiceWorker.of(str(static), "/static") == before  # the same files: the same worker
    (static / "till.js").write_text((static / "till.js").read_text("utf-8") + "\n// a new release\n", "utf-8")
    after = ServiceWorker.of(str(static), "/static")
    assert after.version != before.version and after.script != before.script


def test_the_manifest_installs_the_till_from_its_own_icon(signed_in):
    client = signed_in
    r = client.get("/static/till.webmanifest")
    assert r.status_code == 200 and r.mimetype == "application/manifest+json"
    manifest = json.loads(r.data)
    assert manifest["name"] == "社区食堂收银"
    assert manifest["start_url"] == "/till" and manifest["scope"] == "/till"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#c0392b"  # the till's bar (app.css --accent)
    assert "--accent: #c0392b" in (STATIC / "app.css").read_text("utf-8")
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200, icon["src"]
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in manifest["icons"]}
    page = client.get("/till").get_data(as_text=True)
    assert '<link rel="manifest" href="/static/till.webmanifest">' in page
    assert '<meta name="theme-color" content="#c0392b">' in page


def test_sign_out_tells_the_browser_to_forget_the_kept_till_but_not_the_tablets_own_storage(signed_in):
    # "storage" would wipe the tablet's till identity and its offline sales not yet synced.
    client = signed_in
    r = client.post("/logout")
    assert r.status_code == 302
    assert r.headers["Clear-Site-Data"] == '"cache"'
    assert client.get("/till").status_code == 302  # signed out indeed
