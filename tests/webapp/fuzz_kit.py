"""Helpers shared by the fuzz tests (``test_fuzz*.py``): apps on instance folders of their own,
what a refused request must leave as it was, and multipart bodies as a browser writes them."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from flask import Flask
from PIL import Image

from webapp.app import create_app

BASE_CONFIG = {"TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "test-secret"}
BOUNDARY = "outfit-fuzz-boundary-7f3a9c"


def new_app(home: Path, **config: Any) -> Flask:
    """An app on ``home`` (CSRF off), for a module-scoped fixture: hypothesis runs every
    example of a test against the same one, so a fixture costs once, not per example."""
    return create_app({**BASE_CONFIG, "OUTFIT_HOME": home, **config})


def files_under(folder: Path) -> frozenset[str]:
    """Every file under ``folder``, relative (SQLite's journal files aside: reads touch them)."""
    return frozenset(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                     if p.is_file() and not p.name.endswith(("-wal", "-shm", "-journal")))


def snapshot(app: Flask) -> dict[str, Any]:
    """What a refused request must not change: the items, wears and thumbs (rows), the files
    of the instance folder, the jobs and the active model."""
    svc = app.extensions["outfit"]
    store = svc.store
    return {"items": store.list(), "wears": store.wears(limit=10**6), "feedback": store.feedback(),
            "files": files_under(store.folder), "jobs": [j.id for j in svc.jobs.list()],
            "model": svc.model.path}


def encode(im: Image.Image, fmt: str) -> bytes:
    """``im`` as a file of format ``fmt`` (WebP lossless, so pixels survive a round trip)."""
    buf = io.BytesIO()
    im.save(buf, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    return buf.getvalue()


def multipart(files: list[tuple[str, bytes]], field: str = "photos") -> tuple[bytes, str]:
    """(body, content type) of a form holding ``files`` (name, bytes) under ``field``, written
    as a browser does (RFC 7578: quote and backslash escaped in the file name, CR and LF
    percent-encoded), so any name reaches the server; Werkzeug's test client sends names raw,
    and one ending in a backslash loses its file."""
    parts = []
    for name, data in files:
        assert BOUNDARY.encode() not in data
        quoted = (name.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "%0D")
                  .replace("\n", "%0A"))
        head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; '
                f'filename="{quoted}"\r\nContent-Type: application/octet-stream\r\n\r\n')
        parts.append(head.encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def as_received(name: str) -> str:
    """The file name the server reads from :func:`multipart` (Werkzeug decodes ``%22``, the
    API calls a nameless file ``photo``)."""
    return name.replace("\r", "%0D").replace("\n", "%0A").replace("%22", '"') or "photo"
