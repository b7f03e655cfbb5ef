"""How the till's files reach a tablet on slow Wi-Fi: pages, CSS, JS and SVG compressed when
the browser accepts it (and only then), the JSON API answers never; /favicon.ico answered."""
from __future__ import annotations

import gzip
import uuid

import brotli
import pytest

from support import ROOT, api_token, cash_sale_body

STATIC = ROOT / "pos" / "web" / "static"


@pytest.mark.parametrize("name", ["till.js", "till-cart.js", "till-pay.js", "till-void.js", "till-shift.js",
                                  "till.css", "app.css", "backoffice.css"])
def test_a_static_text_file_comes_gzip_compressed_and_unpacks_to_the_file(sqlite_app, name):
    original = (STATIC / name).read_bytes()
    r = sqlite_app.test_client().get(f"/static/{name}", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(r.data) == original
    assert len(r.data) < len(original) / 2
    assert "Accept-Encoding" in r.headers["Vary"]
    # Static files keep Flask's revalidation, not the pages' no-store.
    assert r.headers.get("Cache-Control") != "no-store"


def test_a_file_under_a_kilobyte_is_not_worth_compressing(sqlite_app):
    original = (STATIC / "favicon.svg").read_bytes()
    assert len(original) < 1024
    r = sqlite_app.test_client().get("/static/favicon.svg", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in r.headers and r.data == original


def test_a_browser_that_takes_brotli_gets_brotli(sqlite_app):
    r = sqlite_app.test_client().get("/static/till.js", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert r.headers["Content-Encoding"] == "br"
    assert brotli.decompress(r.data) == (STATIC / "till.js").read_bytes()


def test_without_accept_encoding_the_file_comes_as_it_is(sqlite_app):
    r = sqlite_app.test_client().get("/static/till.js")
    assert "Content-Encoding" not in r.headers
    assert r.data == (STATIC / "till.js").read_bytes()
    assert "Accept-Encoding" in r.headers["Vary"]


def test_a_page_is_compressed_and_keeps_its_security_headers(sqlite_app):
    r = sqlite_app.test_client().get("/login", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
    assert "员工登录" in gzip.decompress(r.data).decode()
    assert r.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]


def test_the_sale_answer_of_the_api_is_not_compressed(sqlite_app):
    client = sqlite_app.test_client()
    headers = {**api_token(client, "cashier"), "Accept-Encoding": "gzip, br"}
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=headers).status_code == 201
    menu = client.get("/api/v1/menu", headers=headers)
    assert menu.status_code == 200 and "Content-Encoding" not in menu.headers
    sale = client.post("/api/v1/sales", json=cash_sale_body(client, headers),
                       headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert sale.status_code == 201, sale.get_json()
    assert "Content-Encoding" not in sale.headers
    assert sale.get_json()["receipt_no"]


def test_the_favicon_is_answered_and_kept_a_while(sqlite_app):
    r = sqlite_app.test_client().get("/favicon.ico")
    assert r.status_code == 200
    assert r.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    assert r.data == (STATIC / "favicon.ico").read_bytes() and r.data[:4] == b"\x00\x00\x01\x00"
    assert "max-age=604800" in r.headers["Cache-Control"]


def test_every_page_links_the_svg_icon(sqlite_app):
    page = sqlite_app.test_client().get("/login").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    assert sqlite_app.test_client().get("/static/favicon.svg").mimetype == "image/svg+xml"
