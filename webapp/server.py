"""Serving the app with waitress: a production WSGI server in pure Python, multi-threaded, no
compiler needed. It binds 127.0.0.1 unless told otherwise: the closet holds a person's photos,
and nobody else on the network should see them by accident. Any other address needs an app with
a password (``PASSWORD_HASH``, :mod:`webapp.access`).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from flask import Flask
from waitress.server import create_server

from webapp.access import AccessError, is_loopback

__all__ = ["make_server", "serve", "url_of"]


def url_of(host: str, port: int) -> str:
    """``http://host:port/``, with an IPv6 address in brackets."""
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def make_server(app: Flask, host: str = "127.0.0.1", port: int = 5000, threads: int = 8) -> object:
    """A waitress server already listening (``port=0``: a free port, see ``.effective_port``);
    call ``.run()`` to serve and ``.close()`` to stop. Raises
    :class:`~webapp.access.AccessError` for an address other than loopback when ``app`` has no
    password."""
    if not is_loopback(host) and not app.config.get("PASSWORD_HASH"):
        raise AccessError(f"refusing to serve on {host}: the app has no password",
                          hint="create the app with a PASSWORD_HASH (webapp.access.hash_password)")
    return create_server(app, host=host, port=port, threads=threads, clear_untrusted_proxy_headers=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(app: Flask, host: str = "127.0.0.1", port: int = 5000, threads: int = 8,
          announce: Callable[[str], None] = print) -> None:
    """Serve ``app`` until interrupted; ``announce`` gets the URL once the socket listens."""
    server = make_server(app, host, port, threads)
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
