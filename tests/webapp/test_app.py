"""The web app's pages and foundations: every page renders its content on the server with the
security headers, forms change the closet (with CSRF tokens when CSRF is on), errors are pages,
the secret key is kept private, and the real waitress server answers over HTTP."""

from __future__ import annotations

import io
import os
import re
import stat
import threading
import urllib.request

import pytest
from click.testing import CliRunner

import webapp.pages.closet as closet_pages
import webapp.server as server_module
from outfit_cli import cli
from webapp.app import SECRET_KEY_FILE, SECURITY_HEADERS, create_app
from webapp.server import make_server, stop_server

MULTI = "multipart/form-data"


def _page(client, url: str, status: int = 200) -> str:
    r = client.get(url)
    assert r.status_code == status, r.data[:300]
    assert r.mimetype == "text/html"
    for name, value in SECURITY_HEADERS.items():
        assert r.headers[name] == value
    return r.get_data(as_text=True)


def test_security_headers_are_strict():
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert SECURITY_HEADERS["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("url", ["/api/v1/health", "/api/v1/items", "/api/v1/openapi.json",
                                 "/api/v1/items/abcdefabcdef", "/static/style.css"])
def test_security_headers_on_api_and_static(client, url):
    with client.get(url) as r:
        for name, value in SECURITY_HEADERS.items():
            assert r.headers[name] == value


def test_no_inline_script_or_style_anywhere(client, add_items):
    item = add_items()[0]
    for url in ("/", "/upload", f"/items/{item['id']}", f"/items/{item['id']}/delete", "/api/docs"):
        html = _page(client, url)
        assert not re.search(r"<script(?![^>]*\ssrc=)", html), url
        assert "<style" not in html and " style=" not in html and " on" + "click=" not in html


def test_closet_empty_state(client):
    html = _page(client, "/")
    assert "Your closet is empty" in html and 'href="/upload"' in html
    assert '<nav aria-label="Main">' in html and 'aria-current="page"' in html


def test_closet_grid_renders_items_server_side(client, add_items):
    a, b = add_items(2)
    client.patch(f"/api/v1/items/{a['id']}", json={"semantic_category": "tops", "color": "navy",
                                                  "category": "shirt"})
    client.patch(f"/api/v1/items/{b['id']}", json={"in_wash": True})
    html = _page(client, "/")
    assert f'src="/api/v1/items/{a["id"]}/thumb"' in html and f'href="/items/{b["id"]}"' in html
    assert "navy shirt" in html and "In the wash" in html and "2 items" in html
    assert '<option value="navy">' in html  # the colours in use are offered as suggestions


@pytest.mark.parametrize("query, shown, hidden", [
    ("slot=upper", 0, 1), ("color=navy", 0, 1), ("available=no", 1, 0), ("q=shirt", 0, 1)])
def test_closet_filters(client, add_items, query, shown, hidden):
    items = add_items(2)
    client.patch(f"/api/v1/items/{items[0]['id']}", json={"semantic_category": "tops",
                                                         "color": "navy", "category": "shirt"})
    client.patch(f"/api/v1/items/{items[1]['id']}", json={"in_wash": True})
    html = _page(client, f"/?{query}")
    assert f'href="/items/{items[shown]["id"]}"' in html
    assert f'href="/items/{items[hidden]["id"]}"' not in html
    assert "1 shown" in html and 'href="/">Clear' in html.replace('class="button secondary" ', "")


def test_closet_bad_filter_is_a_note_not_an_error(client, add_items):
    add_items()
    html = _page(client, "/?slot=moon&available=perhaps&page=zero")
    assert "no slot called" in html


def test_closet_nothing_matches(client, add_items):
    add_items()
    assert "Nothing matches" in _page(client, "/?q=unicorn")


def test_closet_pages(client, add_items, monkeypatch):
    monkeypatch.setattr(closet_pages, "PAGE_SIZE", 1)
    newer = add_items(2)[1]  # newest first
    first = _page(client, "/")
    assert "Page 1 of 2" in first and 'rel="next"' in first and newer["id"] in first
    assert 'rel="prev"' in _page(client, "/?page=2")


def test_upload_page(client):
    html = _page(client, "/upload")
    assert 'type="file" multiple' in html and 'name="photos"' in html
    assert 'name="csrf_token"' in html and '<meta name="csrf-token"' in html
    assert 'src="/static/upload.js"' in html and 'data-api="/api/v1/items"' in html
    assert "No model is active" in html


def test_static_assets_are_served(client):
    for name, mimetype in (("upload.js", "text/javascript"), ("style.css", "text/css"),
                           ("api_docs.js", "text/javascript")):
        with client.get(f"/static/{name}") as r:
            assert r.status_code == 200 and r.mimetype == mimetype
    with client.get("/static/upload.js") as r:
        assert b"X-CSRFToken" in r.data and b"innerHTML" not in r.data


def test_upload_form_without_javascript(client, photo, store):
    data = {"photos": [(io.BytesIO(photo()), "shirt.jpg"), (io.BytesIO(b"text"), "note.jpg")]}
    r = client.post("/upload", data=data, content_type=MULTI)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert re.search(r'"status-ok"><span class="file">shirt.jpg</span>: <span class="state">'
                     r'<a href="/items/\w+">added', html)
    assert '"status-error"><span class="file">note.jpg</span>: <span class="state">refused: ' \
        'not a JPEG' in html
    assert "1 of 2 photos added." in html and 'href="/"' in html
    assert store.count() == 1
    item_id = store.list()[0].id
    assert f'href="/items/{item_id}"' in html


def test_a_large_no_javascript_upload_keeps_its_report_out_of_the_cookie(client, photo, store):
    """40 files with long names: every line of the report is on the page, and the session
    cookie stays small (a browser drops a cookie over 4 KB, and with it the login)."""
    names = [f"{'holiday-photo-of-my-favourite-garment-' * 4}{k:02d}.jpg" for k in range(40)]
    files = [(io.BytesIO(photo() if k % 2 else b"not a photo"), name)
             for k, name in enumerate(names)]
    r = client.post("/upload", data={"photos": files}, content_type=MULTI)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert all(name in html for name in names) and "20 of 40 photos added." in html
    cookies = r.headers.getlist("Set-Cookie")
    assert sum(len(c) for c in cookies) < 1000, [len(c) for c in cookies]
    assert store.count() == 20


def test_upload_form_with_no_file(client):
    r = client.post("/upload", data={}, content_type=MULTI, follow_redirects=True)
    assert r.request.path == "/upload" and "Choose at least one photo" in r.get_data(as_text=True)


def test_upload_form_too_large_is_a_413_page(app_factory):
    client = app_factory(MAX_CONTENT_LENGTH=1000).test_client()
    data = {"photos": [(io.BytesIO(os.urandom(5000)), "big.jpg")]}
    html = client.post("/upload", data=data, content_type=MULTI)
    assert html.status_code == 413 and html.mimetype == "text/html"
    assert "larger than the limit" in html.get_data(as_text=True)


def test_item_page(client, add_items):
    item = add_items()[0]
    client.patch(f"/api/v1/items/{item['id']}", json={"semantic_category": "bottoms"})
    html = _page(client, f"/items/{item['id']}")
    assert f'src="/api/v1/items/{item["id"]}/photo"' in html and "photo0.jpg" in html
    assert "set by you" in html and "Slot: Bottoms" in html
    assert '<option value="bottoms" selected>' in html
    for field in ("name", "semantic_category", "category", "color", "pattern"):
        assert f'name="{field}"' in html
    assert "Put in the wash" in html and f'href="/items/{item["id"]}/delete"' in html
    assert "No model is active" in html  # untagged, and the page says why


def test_item_page_shows_confidences(client, add_items, store):
    item = add_items()[0]
    store.set_auto_tags(item["id"], {"category": ("shirt", 0.834), "color": ("navy", 0.5)})
    html = _page(client, f"/items/{item['id']}")
    assert "83 %" in html and "50 %" in html and "navy shirt" in html


def test_unknown_and_malformed_item_pages_are_404(client):
    assert "no item" in _page(client, "/items/abcdefabcdef", 404)
    assert _page(client, "/items/abc.defghijkl", 404)
    assert client.get("/items/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_tag_form_saves_and_flashes(client, add_items, store):
    item = add_items()[0]
    form = {"name": "Blue Oxford", "semantic_category": "tops", "category": "shirt",
            "color": "blue", "pattern": ""}
    r = client.post(f"/items/{item['id']}/tags", data=form)
    assert r.status_code == 302 and r.headers["Location"] == f"/items/{item['id']}"
    saved = store.get(item["id"])
    assert (saved.name, saved.semantic_category, saved.category, saved.color, saved.pattern) == (
        "Blue Oxford", "tops", "shirt", "blue", None)
    assert saved.category_edited and saved.category_confidence is None
    assert "Tags saved." in _page(client, f"/items/{item['id']}")


def test_tag_form_changes_only_the_fields_the_person_changed(client, add_items, store):
    item = add_items()[0]
    store.set_auto_tags(item["id"], {"semantic_category": ("tops", 0.9), "category": ("shirt", 0.8),
                                     "color": ("blue", 0.7), "pattern": ("solid", 0.6)})
    form = {"name": "", "semantic_category": "tops", "category": "shirt", "color": "navy",
            "pattern": "solid", "season": "", "formality": ""}  # as the page sends it
    client.post(f"/items/{item['id']}/tags", data=form)
    saved = store.get(item["id"])
    assert saved.color == "navy" and saved.color_edited and saved.color_confidence is None
    for tag, conf in (("semantic_category", 0.9), ("category", 0.8), ("pattern", 0.6)):
        assert not getattr(saved, f"{tag}_edited")  # still the model's, with its confidence
        assert getattr(saved, f"{tag}_confidence") == pytest.approx(conf)
    client.post(f"/items/{item['id']}/tags", data={**form, "color": "navy"})
    assert "Nothing changed." in _page(client, f"/items/{item['id']}")


def test_tag_form_with_a_bad_value_says_so(client, add_items, store):
    item = add_items()[0]
    r = client.post(f"/items/{item['id']}/tags", data={"semantic_category": "spaceship"},
                    follow_redirects=True)
    assert "Not saved" in r.get_data(as_text=True) and store.get(item["id"]).semantic_category is None


def test_wash_toggle(client, add_items, store):
    item = add_items()[0]
    client.post(f"/items/{item['id']}/wash", data={"in_wash": "1"})
    assert store.get(item["id"]).in_wash is True
    assert "Back from the wash" in _page(client, f"/items/{item['id']}")
    client.post(f"/items/{item['id']}/wash", data={"in_wash": "0"})
    assert store.get(item["id"]).in_wash is False


def test_delete_needs_the_confirmation_step(client, add_items, store):
    item = add_items()[0]
    html = _page(client, f"/items/{item['id']}/delete")
    assert "Delete photo0.jpg?" in html and f'action="/items/{item["id"]}/delete"' in html
    assert store.count() == 1  # the confirmation page deletes nothing
    r = client.post(f"/items/{item['id']}/delete", follow_redirects=True)
    assert r.request.path == "/" and "Deleted photo0.jpg." in r.get_data(as_text=True)
    assert store.count() == 0
    assert client.post(f"/items/{item['id']}/delete").status_code == 404


def test_form_posts_need_the_csrf_token(app_factory, token_of, photo):
    client = app_factory(WTF_CSRF_ENABLED=True).test_client()
    html = client.get("/upload").get_data(as_text=True)
    r = client.post("/api/v1/items", data={"photos": [(io.BytesIO(photo()), "a.jpg")]},
                    content_type=MULTI, headers={"X-CSRFToken": token_of(html)})
    item_id = r.json["results"][0]["item"]["id"]
    store = client.application.extensions["outfit"].store

    refused = client.post(f"/items/{item_id}/wash", data={"in_wash": "1"})
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert "token" in refused.get_data(as_text=True)
    assert store.get(item_id).in_wash is False

    page = client.get(f"/items/{item_id}").get_data(as_text=True)
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    ok = client.post(f"/items/{item_id}/wash", data={"in_wash": "1", "csrf_token": form_token})
    assert ok.status_code == 302 and store.get(item_id).in_wash is True
    assert client.post(f"/items/{item_id}/delete").status_code == 400 and store.count() == 1


def test_api_docs_page_is_complete_and_offline(client):
    html = _page(client, "/api/docs")
    for path in ("/api/v1/items", "/api/v1/items/{item_id}", "/api/v1/items/{item_id}/photo",
                 "/api/v1/items/{item_id}/thumb", "/api/v1/health"):
        assert f"<code>{path}</code>" in html
    for method in ("GET", "POST", "PATCH", "DELETE"):
        assert f">{method}</span>" in html
    assert "<code>limit</code>" in html and 'id="schema-Item"' in html and "1..200" in html
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", html)
    assert "http://" not in html and "https://" not in html


def test_secret_key_is_made_once_and_private(tmp_path):
    home = tmp_path / "home"
    first = create_app({"OUTFIT_HOME": home, "TESTING": True})
    key_file = home / SECRET_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.config["SECRET_KEY"]) == 64
    second = create_app({"OUTFIT_HOME": home, "TESTING": True})
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    given = create_app({"OUTFIT_HOME": tmp_path / "other", "SECRET_KEY": "given"})
    assert given.config["SECRET_KEY"] == "given"
    assert not (tmp_path / "other" / SECRET_KEY_FILE).exists()


def test_instance_folder_defaults_to_outfit_home(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTFIT_HOME", str(tmp_path / "env-home"))
    app = create_app({"TESTING": True})
    assert app.extensions["outfit"].store.folder == tmp_path / "env-home"
    assert (tmp_path / "env-home" / "closet.db").is_file()


def test_waitress_serves_pages_and_api_over_http(app, add_items):
    add_items()
    server = make_server(app, "127.0.0.1", 0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.effective_port}"
    try:
        with urllib.request.urlopen(base + "/", timeout=10) as r:
            assert r.status == 200 and b"Your closet" in r.read()
            assert r.headers["X-Frame-Options"] == "DENY"
        with urllib.request.urlopen(base + "/api/v1/health", timeout=10) as r:
            assert r.status == 200 and b'"items":1' in r.read()
    finally:
        stop_server(server)
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_serve_command(monkeypatch, tmp_path):
    seen = {}

    def fake_serve(app, host, port, threads, announce, trusted_proxy=None):
        seen.update(app=app, host=host, port=port, trusted_proxy=trusted_proxy)
        announce(server_module.url_of(host, port))

    monkeypatch.setattr(server_module, "serve", fake_serve)
    result = CliRunner().invoke(cli, ["serve", "--home", str(tmp_path / "h")])
    assert result.exit_code == 0, result.output
    assert (seen["host"], seen["port"]) == ("127.0.0.1", 5000)
    assert "Serving the closet at http://127.0.0.1:5000/" in result.output
    assert seen["trusted_proxy"] is None
    result = CliRunner().invoke(cli, ["serve", "--home", str(tmp_path / "h"), "--trusted-proxy",
                                      "10.0.0.1", "--allowed-host", "closet.lan"])
    assert result.exit_code == 0, result.output
    assert seen["trusted_proxy"] == "10.0.0.1"
    assert seen["app"].config["ALLOWED_HOSTS"] == ["closet.lan"]
    assert seen["app"].extensions["outfit"].store.folder == tmp_path / "h"
    assert server_module.url_of("::1", 8080) == "http://[::1]:8080/"
