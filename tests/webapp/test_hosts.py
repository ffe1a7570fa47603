"""The Host check against DNS rebinding: a request naming a foreign host gets 400 on every
route (pages, API, exports, static files) and changes nothing; loopback names, the bound
address on its port and the names given with ``--allowed-host`` work."""

from __future__ import annotations

import http.client
import re

import pytest
from click.testing import CliRunner
from web_kit import envelope, served

from outfit_cli import cli
from webapp.hosts import host_allowed, split_host

FOREIGN = "rebind.attacker.example"


def _paths(app) -> list[tuple[str, str]]:
    """(method, path) for every route, with a sample value for each parameter."""
    out = []
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:>]+:)?(\w+)>", "abcdefabcdef", rule.rule)
        if rule.endpoint == "static":
            path = "/static/style.css"
        out += [(m, path) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return out


@pytest.mark.parametrize("host", [FOREIGN, f"{FOREIGN}:5000", "127.0.0.1.attacker.example",
                                  "localhost:abc", "evil.example:80"])
def test_a_foreign_host_is_refused_on_every_route(app, host):
    client = app.test_client()
    routes = _paths(app)
    assert len(routes) > 30 and ("GET", "/static/style.css") in routes
    for method, path in routes:
        r = client.open(path, method=method, headers={"Host": host})
        assert r.status_code == 400, (method, path, r.status_code)
        if path.startswith("/api/v1/"):
            assert envelope(r, 400, "host_not_allowed")["hint"].find("--allowed-host") >= 0


def test_a_rebound_request_changes_and_exports_nothing(client, add_items, store):
    item = add_items(1)[0]
    r = client.patch(f"/api/v1/items/{item['id']}", json={"color": "red", "name": "stolen"},
                     headers={"Host": FOREIGN})
    assert r.status_code == 400
    assert store.get(item["id"]).name == item["name"]
    r = client.get("/api/v1/closet/export", headers={"Host": FOREIGN})
    assert r.status_code == 400 and r.mimetype == "application/json"
    r = client.delete(f"/api/v1/items/{item['id']}", headers={"Host": FOREIGN})
    assert r.status_code == 400 and store.count() == 1
    page = client.get("/", headers={"Host": FOREIGN})
    assert b"does not answer to the host name" in page.data
    assert item["id"].encode() not in page.data


@pytest.mark.parametrize("host", ["localhost", "localhost:5000", "127.0.0.1:8080", "[::1]:5000",
                                  "LOCALHOST:5000", "[0:0:0:0:0:0:0:1]:5000"])
def test_loopback_names_work(client, host):
    assert client.get("/", headers={"Host": host}).status_code == 200
    assert client.get("/api/v1/items", headers={"Host": host}).status_code == 200


def test_allowed_hosts_add_names_with_or_without_a_port(app_factory):
    app = app_factory(ALLOWED_HOSTS=["closet.example.org", "nas.lan:8443"])
    client = app.test_client()
    ok = ["closet.example.org", "closet.example.org:443", "nas.lan:8443"]
    refused = ["nas.lan", "nas.lan:5000", "example.org", "x.closet.example.org"]
    for host in ok:
        assert client.get("/api/v1/items", headers={"Host": host}).status_code == 200, host
    for host in refused:
        assert client.get("/api/v1/items", headers={"Host": host}).status_code == 400, host


def test_split_host_and_host_allowed():
    assert split_host("Example.ORG:5000") == ("example.org", 5000)
    assert split_host("[::1]") == ("::1", None)
    assert split_host("[::1]:80") == ("::1", 80)
    for bad in ("a:0", "a:70000", "a:x", "[::1]x"):
        with pytest.raises(ValueError):
            split_host(bad)
    assert host_allowed("127.0.0.1:5000", ["127.0.0.1"], server_port=5000)
    assert not host_allowed("127.0.0.1:5001", ["127.0.0.1"], server_port=5000)
    assert host_allowed("127.0.0.1", ["127.0.0.1"], server_port=80)  # no port: 80
    assert not host_allowed("", ["127.0.0.1"])


def _get(port: int, host: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/api/v1/items", headers={"Host": host})
        return conn.getresponse().status
    finally:
        conn.close()


def test_a_served_app_answers_its_own_address_and_port_only(app):
    """A real waitress server on 127.0.0.1 and a free port."""
    with served(app) as port:
        assert _get(port, f"127.0.0.1:{port}") == 200
        assert _get(port, f"localhost:{port}") == 200
        assert _get(port, f"127.0.0.1:{port + 1}") == 400  # another port: not this server
        assert _get(port, f"{FOREIGN}:{port}") == 400


def test_serve_refuses_a_malformed_allowed_host(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--home", str(tmp_path), "--allowed-host",
                                      "nas.lan:99999"])
    assert result.exit_code == 2
    assert "--allowed-host" in result.output and "nas.lan:99999" in result.output
