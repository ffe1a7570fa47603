"""What of the closet may be kept where: no response but the app's static files may be kept by
a shared cache (pages and JSON not at all, photos privately), and the instance folder is
created private (0700, its files 0600)."""

from __future__ import annotations

import io
import re
import stat

import pytest


def _get_routes(app, item_id: str) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "static":
            paths.append(re.sub(r"<(?:[^:>]+:)?(\w+)>", item_id, rule.rule))
    return paths


def test_no_response_of_the_closet_may_be_cached_publicly(app, client, add_items):
    item = add_items(1)[0]
    paths = _get_routes(app, item["id"])
    assert f"/api/v1/items/{item['id']}/photo" in paths and "/" in paths
    seen_images = 0
    for path in paths:
        with client.get(path) as r:
            _check_private(path, r)
            seen_images += r.status_code == 200 and r.mimetype.startswith("image/")
    assert seen_images >= 2  # the photo and its thumbnail at least


def _check_private(path: str, r) -> None:
    cache = r.headers.get("Cache-Control", "")
    assert "public" not in cache, (path, cache)
    assert "private" in cache or "no-store" in cache, (path, cache)
    assert {"Cookie", "Authorization"} <= set(r.vary), (path, r.headers.get("Vary"))
    if r.status_code == 200 and r.mimetype.startswith("image/"):
        assert "private" in cache and "max-age" in cache, path
    elif r.mimetype in ("text/html", "application/json"):
        assert "no-store" in cache, (path, cache)


def test_the_app_s_own_static_files_may_be_cached(client):
    with client.get("/static/style.css") as r:
        assert r.status_code == 200 and "no-store" not in r.headers.get("Cache-Control", "")


def _modes(root) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode)
            for p in [root, *root.rglob("*")]}


def test_the_instance_folder_is_created_private(app_factory, tmp_path, photo):
    home = tmp_path / "new-home"
    app = app_factory(OUTFIT_HOME=home)
    client = app.test_client()
    r = client.post("/api/v1/items", data={"photos": [(io.BytesIO(photo()), "a.jpg")]},
                    content_type="multipart/form-data")
    assert r.status_code == 201
    with client.get("/api/v1/closet/export") as r:
        assert r.status_code == 200
    modes = _modes(home)
    assert any(name.startswith("images/") for name in modes)
    for name, mode in modes.items():
        if (home / name).is_dir():
            assert mode == 0o700, (name, oct(mode))
        else:
            assert mode & 0o077 == 0, (name, oct(mode))


def test_an_existing_instance_folder_keeps_its_mode(app_factory, tmp_path):
    """A folder the person made and chose is theirs: only what the app creates is private."""
    home = tmp_path / "mine"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    app_factory(OUTFIT_HOME=home)
    assert stat.S_IMODE(home.stat().st_mode) == 0o755
    assert stat.S_IMODE((home / "images").stat().st_mode) == 0o700


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_files_are_private_whatever_the_umask(app_factory, tmp_path, photo, umask):
    import os

    old = os.umask(umask)
    try:
        home = tmp_path / "h"
        client = app_factory(OUTFIT_HOME=home).test_client()
        client.post("/api/v1/items", data={"photos": [(io.BytesIO(photo()), "a.jpg")]},
                    content_type="multipart/form-data")
    finally:
        os.umask(old)
    loose = {n: oct(m) for n, m in _modes(home).items() if m & 0o077}
    assert not loose


def test_serving_makes_every_new_file_private(app, monkeypatch):
    """While ``serve`` runs (the server replaced by one that only records), the umask is 077,
    so what training jobs write is private too; it is given back afterwards."""
    import os

    import webapp.server

    seen = []

    class Recorder:
        effective_host, effective_port = "127.0.0.1", 5000

        def run(self):
            current = os.umask(0o077)
            os.umask(current)
            seen.append(current)

    monkeypatch.setattr(webapp.server, "make_server", lambda *a, **k: Recorder())
    before = os.umask(0o022)
    try:
        webapp.server.serve(app, announce=lambda url: None)
        assert seen == [0o077]
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(before)
