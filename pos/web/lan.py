"""The canteen's local network: which addresses of this machine the tablets and the diners'
phones can open, and whether ``app.base_url`` (the address printed in every voucher QR
code) is one of them.

Plain functions over the standard library, so ``canteen serve`` can print the addresses
when it starts and the back office can refuse to print QR codes that point at the server
itself (``127.0.0.1`` opens the phone, not the canteen's server).
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Iterable, Sequence
from urllib.parse import urlsplit

#: Where the address probe "sends" (a UDP connect sends nothing; the kernel only picks the
#: route and so the source address): TEST-NET-1 follows the default route, the private
#: ranges the route of a canteen LAN that has no way out to the internet, and the IPv6
#: documentation prefix the default IPv6 route.
PROBES: tuple[str, ...] = ("192.0.2.1", "10.255.255.254", "172.31.255.254", "192.168.255.254", "2001:db8::1")

#: What ``canteen serve --host`` takes to mean "every interface".
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})
_IPV4_WILDCARD = "0.0.0.0"


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _loopback_host(host: str) -> bool:
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost":
        return True
    ip = _ip(host)
    return ip is not None and ip.is_loopback


def usable_addresses(candidates: Iterable[str]) -> list[str]:
    """The candidates phones on the LAN could open, in order, each once: IPv4 first; no
    loopback, link-local, multicast or unspecified address, and nothing that is not an
    IP address."""
    seen: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for text in candidates:
        ip = _ip(text)
        if ip is None or ip in seen or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified:
            continue
        seen.append(ip)
    return [str(ip) for ip in sorted(seen, key=lambda ip: ip.version)]


def _probe(target: str) -> str | None:
    ip = _ip(target)
    if ip is None:  # an address literal only: a name would be a DNS lookup
        return None
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((str(ip), 9))
            return s.getsockname()[0]
    except OSError:
        return None


def _host_addresses(hostname: str | None) -> list[str]:
    try:
        name = socket.gethostname() if hostname is None else hostname
        return [info[4][0] for info in socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)]
    except (OSError, UnicodeError):
        return []


def lan_addresses(*, probes: Sequence[str] = PROBES, hostname: str | None = None) -> list[str]:
    """This machine's addresses that phones on the LAN could use: the source address of
    each probe's route, then what the host name resolves to (``hostname``, default this
    machine's); loopback and link-local left out.  Never raises: no network gives []."""
    try:
        found = [a for a in map(_probe, probes) if a]
        return usable_addresses(found + _host_addresses(hostname))
    except Exception:  # noqa: BLE001 - an address list is advice; a strange network must not stop the server
        return []


def _url(host: str, port: int) -> str:
    ip = _ip(host)
    shown = f"[{ip}]" if isinstance(ip, ipaddress.IPv6Address) else host
    return f"http://{shown}:{port}"


def serving_urls(host: str, port: int, *, addresses: Sequence[str] | None = None) -> list[str]:
    """The URLs tablets can open when ``canteen serve`` listens on ``host``:``port``.

    Every interface (``0.0.0.0``: IPv4 only; ``::`` or ``""``: IPv4 and IPv6) gives one URL
    per LAN address (``addresses``, default :func:`lan_addresses`; none without a network);
    a loopback host only itself (reachable from this machine alone); any other host itself.
    """
    host = (host or "").strip()
    if host in WILDCARD_HOSTS:
        found = lan_addresses() if addresses is None else usable_addresses(addresses)
        if host == _IPV4_WILDCARD:
            found = [a for a in found if ":" not in a]
        return [_url(a, port) for a in found]
    return [_url(host.strip("[]"), port)]


def is_loopback_url(url: str) -> bool:
    """Whether the URL's host is ``localhost`` or a literal loopback address
    (127.0.0.0/8, ``::1``): an address that opens the device it is typed on."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return False
    return bool(host) and _loopback_host(host)


def _port_of(url: str) -> int | None:
    parts = urlsplit(url)
    try:
        return parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None


def base_url_warning(base_url: str, host: str, port: int, *, addresses: Sequence[str] | None = None) -> str | None:
    """One line for the person starting ``canteen serve`` when the address printed in QR
    codes cannot be the one the server is reached at, else None:

    - ``base_url`` is a loopback address while the server listens on a network interface
      (phones would open themselves); the line suggests the first of :func:`serving_urls`;
    - ``base_url`` is a loopback address on another port than the one served on.

    A LAN or public ``base_url`` on another port is left alone: a reverse proxy in front
    (HTTPS on 443 to ``canteen serve`` on 5000) is the usual reason.
    """
    if not is_loopback_url(base_url):
        return None
    fix = "set app.base_url in config.toml (or the file CANTEEN_CONFIG names) to"
    if not _loopback_host(host or _IPV4_WILDCARD):
        urls = serving_urls(host, port, addresses=addresses)
        where = urls[0] if urls else "this machine's address on the canteen's network"
        return (f"app.base_url is {base_url}, a loopback address, but the server listens on "
                f"{host or _IPV4_WILDCARD} port {port}: QR codes on printed vouchers and tickets, and links to "
                f"the diner page, will not open on phones; {fix} {where} (or the HTTPS name in front of it)")
    if _port_of(base_url) != port:
        return (f"app.base_url is {base_url}, but the server listens on port {port}: QR codes on printed "
                f"vouchers and tickets, and links to the diner page, will point at nothing; "
                f"{fix} {_url(host, port)}")
    return None
