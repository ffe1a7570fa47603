"""Which ``Host`` the app answers to: the defence against DNS rebinding.

A web page the person visits can make its own host name (``rebind.attacker.example``) resolve
to 127.0.0.1; the browser then treats the closet's server as that page's own origin, and the
page could read and change the closet (on loopback the app has no password by default). What
such a request cannot forge is its ``Host`` header: it names the attacker's domain. So every
request, pages, API, exports and static files alike, is answered 400 unless its ``Host`` is one
the server was started for:

- the loopback names ``localhost``, ``127.0.0.1`` and ``::1``;
- the address the server is bound to (unless it is a wildcard such as ``0.0.0.0``, which is
  no name anybody types: then the machine's own host name and addresses);
- the names given with ``outfit serve --allowed-host NAME`` (config ``ALLOWED_HOSTS``), such as
  the name of a reverse proxy in front of it: ``NAME`` for any port, ``NAME:PORT`` for one.

Once a server is listening (:func:`webapp.server.make_server`), the loopback names and the
bound address are accepted on its port only (config ``SERVER_PORT``); an app that no server of
ours has bound (tests, another WSGI server) accepts them on any port. Flask's own
``TRUSTED_HOSTS`` is not used: it ignores ports and does not match a bracketed IPv6 ``Host``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from flask import Flask, current_app, request

from outfit.errors import OutfitError

__all__ = ["HostError", "LOOPBACK_NAMES", "check_host", "host_allowed", "init_hosts",
           "machine_names", "split_host"]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class HostError(OutfitError):
    """A request named a host this server was not started for."""


def split_host(value: str) -> tuple[str, int | None]:
    """``'Example.org:5000'`` -> ``('example.org', 5000)``; ``'[::1]'`` -> ``('::1', None)``.
    A port that is not a number in 1-65535 raises ValueError."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ("" if not rest else "x")
    elif value.count(":") == 1:
        name, _, port = value.partition(":")
    else:  # a name, or a bare IPv6 address
        name, port = value, ""
    if not port:
        return name.rstrip("."), None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"not a port: {port!r}")
    return name.rstrip("."), int(port)


def _canonical(name: str) -> str:
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


def host_allowed(value: str, names: Iterable[str], server_port: int | None = None,
                 extra: Iterable[str] = ()) -> bool:
    """Whether a ``Host`` header ``value`` names this server: one of ``names`` (on
    ``server_port`` when it is known) or one of ``extra`` (``NAME`` for any port, ``NAME:PORT``
    for one). A ``Host`` without a port means port 80."""
    try:
        name, port = split_host(value)
    except ValueError:
        return False
    name, port = _canonical(name), port or 80
    if name in {_canonical(split_host(n)[0]) for n in names}:
        if server_port is None or port == server_port:
            return True
    for entry in extra:
        try:
            allowed, allowed_port = split_host(entry)
        except ValueError:
            continue
        if _canonical(allowed) == name and allowed_port in (None, port):
            return True
    return False


def machine_names() -> list[str]:
    """This machine's host name and the addresses it resolves to (best effort: what a person
    on the network would type to reach a server bound to every address)."""
    names: list[str] = []
    try:
        hostname = socket.gethostname()
        names += [hostname, socket.getfqdn(hostname)]
        names += [str(info[4][0]) for info in socket.getaddrinfo(hostname, None)]
    except OSError:
        pass
    return list(dict.fromkeys(n.lower() for n in names if n))


def _names(app: Flask) -> list[str]:
    return [*LOOPBACK_NAMES, *app.config.get("BOUND_HOSTS", ())]


def check_host() -> None:
    """Before every request: raise :class:`HostError` (a 400) for a foreign ``Host``."""
    app = current_app
    value = request.environ.get("HTTP_HOST") or request.environ.get("SERVER_NAME", "")
    if host_allowed(value, _names(app), app.config.get("SERVER_PORT"),
                    app.config.get("ALLOWED_HOSTS", ())):
        return
    shown = value[:100] if value.isprintable() else repr(value[:100])
    raise HostError(f"This server does not answer to the host name {shown!r}.",
                    hint="open it by the address it printed when it started (e.g. "
                         "http://127.0.0.1:5000/); if this name is yours (a reverse proxy, "
                         f"a LAN name), start it with --allowed-host {_name_of(value)}")


def _name_of(value: str) -> str:
    try:
        return split_host(value)[0] or "NAME"
    except ValueError:
        return "NAME"


def init_hosts(app: Flask) -> None:
    """Check the ``Host`` of every request of ``app`` before anything else runs."""
    app.config.setdefault("ALLOWED_HOSTS", [])
    app.before_request_funcs.setdefault(None, []).insert(0, check_host)
