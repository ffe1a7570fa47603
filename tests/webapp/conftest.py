"""Fixtures for the web app's tests: an app on a fresh instance folder, its test client, and
photos drawn with Pillow (each one different, so none is a duplicate of another)."""

from __future__ import annotations

import io
import itertools
import re
import sys
from pathlib import Path

import pytest
from PIL import Image

from webapp.app import create_app

sys.path.insert(0, str(Path(__file__).parent))  # the tests share web_kit

_counter = itertools.count()


def make_photo(fmt: str = "JPEG", size: tuple[int, int] = (64, 48),
               color: tuple[int, int, int] | None = None) -> bytes:
    """A small photo unlike any other made in this session (its colour and a stripe vary)."""
    n = next(_counter)
    color = color or ((37 * n) % 256, (91 * n + 40) % 256, (53 * n + 90) % 256)
    im = Image.new("RGB", size, color)
    for x in range(n % size[0], min(size[0], n % size[0] + 3)):
        for y in range(size[1]):
            im.putpixel((x, y), (255 - color[0], 255 - color[1], 255 - color[2]))
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def csrf_token(html: bytes | str) -> str:
    """The CSRF token a page carries in its ``<meta name="csrf-token">``."""
    text = html.decode() if isinstance(html, bytes) else html
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', text)
    assert match, "the page has no csrf-token meta tag"
    return match.group(1)


@pytest.fixture
def app_factory(tmp_path):
    """Apps on ``tmp_path/home`` (CSRF off unless asked: the CSRF tests turn it on; automatic
    tagging off unless asked, so that a test's drawn photos keep the tags it gives them: the
    tests of tagging turn it on)."""

    def make(**config):
        base = {"OUTFIT_HOME": tmp_path / "home", "TESTING": True, "WTF_CSRF_ENABLED": False,
                "SECRET_KEY": "test-secret", "AUTO_TAG": False}
        return create_app({**base, **config})

    return make


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def store(app):
    return app.extensions["outfit"].store


@pytest.fixture
def add_items(client):
    """Upload ``n`` new photos through the API; their item dicts."""

    def add(n: int = 1) -> list[dict]:
        files = [(io.BytesIO(make_photo()), f"photo{k}.jpg") for k in range(n)]
        r = client.post("/api/v1/items", data={"photos": files}, content_type="multipart/form-data")
        assert r.status_code == 201, r.json
        return [res["item"] for res in r.json["results"]]

    return add


@pytest.fixture
def photo():
    """``photo(fmt="JPEG", size=(64, 48))``: the bytes of a new, unique photo."""
    return make_photo


@pytest.fixture
def token_of():
    """``token_of(html)``: the CSRF token of a rendered page."""
    return csrf_token


@pytest.fixture
def model_app(app_factory, tiny_model):
    """An app whose active model is the session's tiny trained model."""
    return app_factory(MODEL=tiny_model)


@pytest.fixture
def mclient(model_app):
    return model_app.test_client()
