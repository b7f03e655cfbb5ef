"""The canteen's LAN: which of this machine's addresses phones can open, the URLs
`canteen serve` is reached at, and the one-line warning when app.base_url (printed in
every voucher QR code) points at the server itself."""
from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from pos.web.lan import base_url_warning, is_loopback_url, lan_addresses, serving_urls, usable_addresses

LAN = ["192.168.1.20", "10.0.0.7"]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:5000", "http://127.0.0.1", "http://127.8.9.10:5000", "https://127.255.255.254/",
    "http://[::1]:5000", "http://[::1]", "http://localhost:5000", "http://LOCALHOST", "https://localhost/",
    "http://[::ffff:127.0.0.1]:5000",
])
def test_loopback_urls_are_recognised(url):
    assert is_loopback_url(url)


@pytest.mark.parametrize("url", [
    "http://192.168.1.20:5000", "https://canteen.example", "http://10.0.0.7", "http://[fd00::2]:5000",
    "http://128.0.0.1", "http://localhost.example.com", "http://0.0.0.0:5000", "not a url", "", "http://[::1",
])
def test_other_urls_are_not_loopback(url):
    assert not is_loopback_url(url)


def test_loopback_base_url_on_every_interface_names_the_key_and_suggests_the_lan_address():
    line = base_url_warning("http://127.0.0.1:5000", "0.0.0.0", 5000, addresses=LAN)
    assert line is not None and "\n" not in line
    assert "app.base_url" in line and "config.toml" in line
    assert "phones" in line and "QR" in line
    assert "http://192.168.1.20:5000" in line and "10.0.0.7" not in line  # the first serving URL


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.20"])
def test_loopback_base_url_warns_whenever_the_server_listens_beyond_this_machine(host):
    assert base_url_warning("http://localhost:5000", host, 5000, addresses=LAN) is not None


def test_without_a_network_the_warning_still_says_what_to_set():
    line = base_url_warning("http://127.0.0.1:5000", "0.0.0.0", 5000, addresses=[])
    assert line is not None and "app.base_url" in line and "address on the canteen's network" in line


@pytest.mark.parametrize("base_url, host, port", [
    ("http://192.168.1.20:5000", "0.0.0.0", 5000),   # a LAN address phones reach
    ("https://canteen.lan", "127.0.0.1", 5000),     # HTTPS in front, canteen serve behind it on 5000
    ("http://192.168.1.20:8080", "0.0.0.0", 5000),   # another port: a proxy's, not ours to judge
    ("http://127.0.0.1:5000", "127.0.0.1", 5000),    # a till on the server itself
    ("http://localhost:5000", "localhost", 5000),
    ("http://127.0.0.1", "127.0.0.1", 80),
])
def test_no_warning_when_all_is_fine(base_url, host, port):
    assert base_url_warning(base_url, host, port, addresses=LAN) is None


def test_loopback_base_url_on_another_port_than_served_warns_with_the_right_one():
    line = base_url_warning("http://127.0.0.1:5000", "127.0.0.1", 8000, addresses=LAN)
    assert line is not None and "app.base_url" in line and "port 8000" in line
    assert "http://127.0.0.1:8000" in line
    assert base_url_warning("http://localhost", "127.0.0.1", 5000) is not None  # port 80 by default


def test_every_interface_gives_one_url_per_lan_address_with_the_port():
    assert serving_urls("0.0.0.0", 5000, addresses=LAN) == ["http://192.168.1.20:5000", "http://10.0.0.7:5000"]
    both = serving_urls("::", 8000, addresses=["fd00::2", "192.168.1.20"])
    assert both == ["http://192.168.1.20:8000", "http://[fd00::2]:8000"]
    assert serving_urls("", 8000, addresses=["192.168.1.20"]) == ["http://192.168.1.20:8000"]
    # 0.0.0.0 listens on IPv4 only, so no IPv6 URL
    assert serving_urls("0.0.0.0", 5000, addresses=["fd00::2", "192.168.1.20"]) == ["http://192.168.1.20:5000"]


def test_a_named_host_gives_that_host_and_loopback_only_itself():
    assert serving_urls("192.168.1.20", 5000, addresses=LAN) == ["http://192.168.1.20:5000"]
    assert serving_urls("canteen.lan", 5000, addresses=LAN) == ["http://canteen.lan:5000"]
    assert serving_urls("127.0.0.1", 5000, addresses=LAN) == ["http://127.0.0.1:5000"]
    assert serving_urls("::1", 5000, addresses=LAN) == ["http://[::1]:5000"]


def test_every_interface_on_this_machine_lists_its_own_lan_addresses():
    urls = serving_urls("0.0.0.0", 5000)
    assert urls == [f"http://{a}:5000" for a in lan_addresses() if ":" not in a]


def test_this_machines_addresses_leave_out_loopback_and_link_local():
    found = lan_addresses()
    assert len(found) == len(set(found))
    for text in found:
        ip = ipaddress.ip_address(text)
        assert not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast), text


def test_a_machine_with_only_loopback_has_no_lan_address():
    # 0.0.0.0 routes to this machine itself and "localhost" resolves to loopback only
    assert lan_addresses(probes=("0.0.0.0",), hostname="localhost") == []


def test_a_probe_that_cannot_be_sent_and_a_bad_host_name_give_an_empty_list_not_an_error():
    assert lan_addresses(probes=("not-an-address", "::zz"), hostname="\udcff") == []


def test_the_address_list_keeps_each_once_ipv4_first_and_drops_unusable_ones():
    candidates = ["127.0.1.1", "fd00::2", "192.168.1.20", "169.254.3.4", "fe80::1", "192.168.1.20", "::1",
                  "0.0.0.0", "224.0.0.1", "10.0.0.7", "garbage", "::ffff:192.168.1.20"]
    assert usable_addresses(candidates) == ["192.168.1.20", "10.0.0.7", "fd00::2"]


def test_canteen_serve_prints_the_lan_addresses_and_warns_about_a_loopback_base_url(tmp_path, demo_templates):
    """`canteen serve --host 0.0.0.0` with the default app.base_url (127.0.0.1:5000): the
    first line lists the URLs tablets can open (this machine's LAN addresses, the port it
    serves on), and one warning line names app.base_url.  On 127.0.0.1 with the base_url's
    own port there is no warning."""
    import os
    import socket
    import subprocess
    import sys
    import time

    from support import ROOT, copy_sqlite

    copy_sqlite(Path(demo_templates("sqlite")), tmp_path / "canteen.db")
    env = {**os.environ, "CANTEEN_ENV": "development", "CANTEEN_CONFIG": str(ROOT / "config.toml"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'canteen.db'}"}

    def first_lines(host: str, port: int) -> tuple[str, str]:
        proc = subprocess.Popen([sys.executable, "-c", "from pos.web.cli import main; main()", "serve", "--host", host,
                                 "--port", str(port), "--processes", "1"], env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out = proc.stdout.readline()
            deadline = time.monotonic() + 30
            while not _answers(port) and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.1)  # stopped only once it serves: a quiet stop is tested elsewhere
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        return out.strip(), err.strip()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out, err = first_lines("0.0.0.0", port)
    for address in (a for a in lan_addresses() if ":" not in a):  # 0.0.0.0 listens on IPv4 only
        assert f"http://{address}:{port}/" in out
    assert "127.0.0.1" not in out and "0.0.0.0" not in out
    assert len(err.splitlines()) == 1 and err.startswith("warning: app.base_url is http://127.0.0.1:5000")

    # The base_url's own address and port: nothing to warn about.
    config = (ROOT / "config.toml").read_text(encoding="utf-8")
    assert 'base_url = "http://127.0.0.1:5000"' in config
    (tmp_path / "config.toml").write_text(config.replace("127.0.0.1:5000", f"127.0.0.1:{port}"), encoding="utf-8")
    env["CANTEEN_CONFIG"] = str(tmp_path / "config.toml")
    out, err = first_lines("127.0.0.1", port)
    assert out.startswith(f"serving the till on http://127.0.0.1:{port}/ ") and err == ""


def _answers(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False
