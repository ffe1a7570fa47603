"""Assertions shared by the web app's tests."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from webapp.server import make_server, stop_server


@contextmanager
def served(app, **options) -> Iterator[int]:
    """``app`` served by a real waitress server on 127.0.0.1 in a thread; yields its port."""
    server = make_server(app, "127.0.0.1", 0, threads=2, **options)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield int(server.effective_port)
    finally:
        stop_server(server)
        thread.join(10)
        assert not thread.is_alive()


def envelope(response, status: int, code: str | None = None) -> dict:
    """The error of an API answer, checked to be the project's envelope with ``status`` (and
    ``code`` when given)."""
    assert response.status_code == status, response.data[:500]
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert set(error) >= {"code", "message", "hint"}
    assert error["message"].strip()
    if code is not None:
        assert error["code"] == code
    return error


def upload_closet(client, photo, kinds, *, names=None, sizes=None) -> dict:
    """A closet for a test: one new photo (``photo(size=...)``; ``sizes[n]`` or a size of its
    own) per entry of ``kinds`` (key -> semantic category, None: no kind), uploaded in one
    request, then each item's kind and name (``names[n]``, default the key) set by PATCH
    (a tiny model's auto-tags are not trusted). Returns key -> item id."""
    import io

    keys = list(kinds)
    files = [(io.BytesIO(photo(size=(sizes or {}).get(n, (48 + 4 * k, 48)))), f"{n}.jpg")
             for k, n in enumerate(keys)]
    r = client.post("/api/v1/items", data={"photos": files}, content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    ids = {n: res["item"]["id"] for n, res in zip(keys, r.json["results"], strict=True)}
    for n, kind in kinds.items():
        r = client.patch(f"/api/v1/items/{ids[n]}",
                         json={"semantic_category": kind, "name": (names or {}).get(n, n)})
        assert r.status_code == 200, r.json
    return ids
