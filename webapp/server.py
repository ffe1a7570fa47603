"""Serving the app with waitress: a production WSGI server in pure Python, multi-threaded, no
compiler needed. It binds 127.0.0.1 unless told otherwise: the closet holds a person's photos,
and nobody else on the network should see them by accident. Any other address needs an app with
a password (``PASSWORD_HASH``, :mod:`webapp.access`).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable

from flask import Flask
from waitress.server import create_server

from webapp.access import AccessError, is_loopback
from webapp.hosts import machine_names

__all__ = ["bind_hosts", "make_server", "serve", "stop_server", "url_of"]


def url_of(host: str, port: int) -> str:
    """``http://host:port/``, with an IPv6 address in brackets."""
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def make_server(app: Flask, host: str = "127.0.0.1", port: int = 5000, threads: int = 8,
                trusted_proxy: str | None = None) -> object:
    """A waitress server already listening (``port=0``: a free port, see ``.effective_port``);
    call ``.run()`` to serve and ``.close()`` to stop. Raises
    :class:`~webapp.access.AccessError` for an address other than loopback when ``app`` has no
    password.

    ``trusted_proxy``: the address of a reverse proxy in front of the app. Its
    ``X-Forwarded-For`` (the client it speaks for) and ``X-Forwarded-Proto`` are then believed
    from that address only, so the login throttle counts each client behind it apart. Without
    it those headers are dropped and every client of a proxy shares the proxy's address (and
    its throttle)."""
    if not is_loopback(host) and not app.config.get("PASSWORD_HASH"):
        raise AccessError(f"refusing to serve on {host}: the app has no password",
                          hint="create the app with a PASSWORD_HASH (webapp.access.hash_password)")
    proxy: dict[str, object] = {}
    if trusted_proxy:
        proxy = {"trusted_proxy": trusted_proxy, "trusted_proxy_count": 1,
                 "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"}}
    server = create_server(app, host=host, port=port, threads=threads,
                           clear_untrusted_proxy_headers=True, **proxy)
    bind_hosts(app, host, int(server.effective_port))  # type: ignore[attr-defined]
    return server


def bind_hosts(app: Flask, host: str, port: int) -> None:
    """Tell ``app`` which address and port it is served on, so that it answers only requests
    whose ``Host`` names them (:mod:`webapp.hosts`): the bound address, or for a wildcard one
    (``0.0.0.0``, ``::``) this machine's names and addresses."""
    wildcard = host.strip("[]") in ("", "0.0.0.0", "::")
    app.config["BOUND_HOSTS"] = machine_names() if wildcard else [host]
    app.config["SERVER_PORT"] = port


def stop_server(server: object) -> None:
    """Stop a server that :meth:`run` serves in another thread: its sockets are closed from
    inside its own loop (closing them from outside can break a ``select`` in progress) and its
    worker threads finish the requests they hold."""

    def close() -> None:
        server.close()  # type: ignore[attr-defined]
        server.trigger.close()  # type: ignore[attr-defined]

    server.trigger.pull_trigger(close)  # type: ignore[attr-defined]
    server.task_dispatcher.shutdown()  # type: ignore[attr-defined]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(app: Flask, host: str = "127.0.0.1", port: int = 5000, threads: int = 8,
          announce: Callable[[str], None] = print, trusted_proxy: str | None = None) -> None:
    """Serve ``app`` until interrupted; ``announce`` gets the URL once the socket listens.
    While it serves, the process's umask is 077: every file the app and its training jobs
    write (models, job logs, exports) is its owner's only."""
    server = make_server(app, host, port, threads, trusted_proxy)
    umask = os.umask(0o077)
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a service manager stopping it) ends the server as Ctrl+C does, so the
        # clean-up below runs.
        signal.signal(signal.SIGTERM, _interrupt)
    announce(url_of(str(server.effective_host), int(server.effective_port)))  # type: ignore[attr-defined]
    try:
        server.run()  # type: ignore[attr-defined]
    finally:  # a training job must not outlive the server that shows its progress
        services = app.extensions.get("outfit")
        if services is not None:
            services.jobs.shutdown()
        os.umask(umask)
