"""Access: with a password every page and API call needs it (login page, session, HTTP Basic),
the login form has its CSRF token and a local ``next`` only, wrong passwords are throttled,
``outfit serve`` refuses a network address without a password; and no route reads a path
from the URL (traversal attempts on every path parameter)."""

from __future__ import annotations

import base64
import os
import re
import sys
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from click.testing import CliRunner
from web_kit import envelope, served
from werkzeug.security import check_password_hash

import usecases.demo
import webapp.server
from outfit_cli import cli
from webapp.access import OPEN_ENDPOINTS, AccessError, hash_password, is_loopback
from webapp.errors_http import API_PREFIX
from webapp.server import make_server
from webapp.sessions import Throttle

PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)  # scrypt costs 0.1 s: once for the module
SAMPLE = {"item_id": "abcdefabcdef", "name": "tiny", "job_id": "abcdef", "plot": "roc.png",
          "image": "a.png", "dataset_id": "ds", "filename": "style.css"}


def _basic(password: str = PASSWORD, user: str = "anyone") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _url(rule, **values: str) -> str:
    """The rule's path with each parameter from ``values``, else a plausible sample value."""
    return re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: values.get(m[1], SAMPLE.get(m[1], "x")),
                  rule.rule)


def _routes(app) -> list[tuple[object, str]]:
    return [(rule, method) for rule in app.url_map.iter_rules()
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def _is_api(rule) -> bool:
    return rule.rule.startswith(API_PREFIX + "/")


def _to_login(response) -> bool:
    return response.status_code in (301, 302, 303, 307, 308) and \
        urlsplit(response.headers["Location"]).path == "/login"


@pytest.fixture
def locked(app_factory):
    return app_factory(PASSWORD_HASH=_HASH)


def _log_in(client, password: str = PASSWORD, next_: str = "/", **extra):
    return client.post("/login", data={"password": password, "next": next_, **extra})


# ----------------------------------------------------------------------------- every route


def test_every_route_needs_the_password(locked):
    routes = _routes(locked)
    assert len(routes) > 40 and any(_is_api(r) for r, _ in routes)
    client = locked.test_client()
    wrong: list[str] = []
    for rule, method in routes:
        if rule.endpoint in OPEN_ENDPOINTS:
            continue
        with client.open(_url(rule), method=method) as r:
            if _is_api(rule):
                ok = (r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
                      and r.headers["WWW-Authenticate"].startswith('Basic realm="outfit"'))
            else:
                ok = _to_login(r)
            if not ok:
                wrong.append(f"{method} {rule.rule}: {r.status_code}")
    assert wrong == []


def test_every_route_opens_with_the_password(locked):
    basic = locked.test_client()
    session = locked.test_client()
    assert _log_in(session).status_code == 302
    refused: list[str] = []
    for rule, method in _routes(locked):
        if rule.endpoint == "access.logout":  # would end the session: tested on its own
            continue
        client, headers = (basic, _basic()) if _is_api(rule) else (session, {})
        with client.open(_url(rule), method=method, headers=headers) as r:
            if r.status_code == 401 or _to_login(r):
                refused.append(f"{method} {rule.rule}: {r.status_code}")
    assert refused == []


def test_the_password_is_asked_before_the_csrf_token(app_factory):
    client = app_factory(PASSWORD_HASH=_HASH, WTF_CSRF_ENABLED=True).test_client()
    envelope(client.post("/api/v1/items"), 401, "unauthorized")
    assert _to_login(client.post("/upload"))


def test_only_static_files_and_the_login_page_are_open(locked):
    client = locked.test_client()
    with client.get("/static/style.css") as r:
        assert r.status_code == 200
    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'type="password"' in html and 'name="csrf_token"' in html
    assert 'href="/wears"' not in html  # the closet's navigation stays hidden
    health = client.get("/api/v1/health")
    assert "items" not in envelope(health, 401, "unauthorized")["message"]
    assert b"model" not in health.data
    assert _to_login(client.get("/no/such/page"))  # unknown addresses reveal nothing either


def test_pages_come_back_after_logging_in(locked):
    client = locked.test_client()
    r = client.get("/wears?days=7")
    assert _to_login(r)
    next_ = parse_qs(urlsplit(r.headers["Location"]).query)["next"][0]
    assert next_ == "/wears?days=7"
    assert _log_in(client, next_=next_).headers["Location"] == "/wears?days=7"
    assert client.get("/wears").status_code == 200
    assert "Log out" in client.get("/").get_data(as_text=True)


def test_logout_ends_the_session(locked):
    client = locked.test_client()
    _log_in(client)
    assert client.get("/").status_code == 200
    r = client.post("/logout")
    assert _to_login(r)
    assert _to_login(client.get("/"))
    envelope(client.get("/api/v1/items"), 401, "unauthorized")


def test_logout_ends_the_session_on_the_server(locked):
    """A copy of the session cookie taken before logging out no longer works."""
    client = locked.test_client()
    _log_in(client)
    copied = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302
    thief = locked.test_client()
    thief.set_cookie("session", copied)
    assert _to_login(thief.get("/"))
    envelope(thief.get("/api/v1/items"), 401, "unauthorized")


def test_a_session_expires_after_its_idle_time(app_factory):
    app = app_factory(PASSWORD_HASH=_HASH, SESSION_IDLE_TIMEOUT=3600)
    now = [0.0]
    app.extensions["outfit_access"].sessions.clock = lambda: now[0]
    client = app.test_client()
    _log_in(client)
    for _ in range(3):  # each visit restarts the idle time
        now[0] += 3000
        assert client.get("/").status_code == 200
    now[0] += 3601
    assert _to_login(client.get("/"))
    _log_in(client)
    assert client.get("/").status_code == 200


def test_api_takes_basic_auth_with_any_user_name(locked):
    client = locked.test_client()
    for user in ("", "me", "script"):
        assert client.get("/api/v1/items", headers=_basic(user=user)).json["total"] == 0
    assert client.get("/", headers=_basic()).status_code == 200  # a script can read a page's token
    for headers in (_basic("wrong"), _basic(PASSWORD.upper()), {"Authorization": "Bearer " + PASSWORD}):
        envelope(client.get("/api/v1/items", headers=headers), 401, "unauthorized")


def test_api_writes_with_basic_auth_still_need_the_csrf_token(app_factory, photo):
    import io

    client = app_factory(PASSWORD_HASH=_HASH, WTF_CSRF_ENABLED=True).test_client()
    files = {"photos": [(io.BytesIO(photo()), "a.jpg")]}
    envelope(client.post("/api/v1/items", data=files, headers=_basic()), 400, "csrf_failed")
    token = re.search(r'name="csrf-token" content="([^"]+)"',
                      client.get("/upload", headers=_basic()).get_data(as_text=True))[1]
    files = {"photos": [(io.BytesIO(photo()), "a.jpg")]}
    r = client.post("/api/v1/items", data=files, headers={**_basic(), "X-CSRFToken": token})
    assert r.status_code == 201


def test_no_password_no_login(app):
    client = app.test_client()
    assert client.get("/api/v1/items").status_code == 200
    assert client.get("/login?next=/wears").headers["Location"] == "/wears"
    assert "Log out" not in client.get("/").get_data(as_text=True)


# ----------------------------------------------------------------------------- login form


def test_wrong_password_is_refused(locked):
    client = locked.test_client()
    for password in ("", "correct horse", PASSWORD + " ", "CORRECT HORSE BATTERY"):
        r = _log_in(client, password)
        assert r.status_code == 401 and "not the password" in r.get_data(as_text=True)
        assert _to_login(client.get("/"))


def test_login_needs_the_csrf_token(app_factory):
    client = app_factory(PASSWORD_HASH=_HASH, WTF_CSRF_ENABLED=True).test_client()
    refused = _log_in(client)
    assert refused.status_code == 400 and "security token" in refused.get_data(as_text=True)
    assert _to_login(client.get("/"))
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True))[1]
    assert _log_in(client, csrf_token=token).status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("next_", ["https://evil.example/", "//evil.example/x", "/\t/evil.example",
                                   "\\\\evil.example", "/\\evil.example", "javascript:alert(1)",
                                   "evil.example"])
def test_next_to_another_site_is_ignored(locked, next_):
    client = locked.test_client()
    assert _log_in(client, next_=next_).headers["Location"] == "/"
    assert client.get("/login", query_string={"next": next_}).headers["Location"] == "/"


def test_a_new_password_ends_old_sessions(app_factory):
    old = app_factory(PASSWORD_HASH=_HASH).test_client()
    _log_in(old)
    cookie = old.get_cookie("session")
    assert cookie is not None
    new = app_factory(PASSWORD_HASH=hash_password("another one")).test_client()
    new.set_cookie("session", cookie.value)
    assert _to_login(new.get("/"))


# ----------------------------------------------------------------------------- throttling


def test_wrong_passwords_are_throttled_per_address(locked):
    client = locked.test_client()
    for _ in range(5):
        assert _log_in(client, "guess").status_code == 401
    r = _log_in(client)  # even the right password waits now
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "Too many wrong passwords" in r.get_data(as_text=True)
    envelope(client.get("/api/v1/items", headers=_basic()), 429, "too_many_attempts")
    other = locked.test_client()
    other_ip = {"REMOTE_ADDR": "10.0.0.9"}
    assert other.post("/login", data={"password": PASSWORD, "next": "/"},
                      environ_base=other_ip).status_code == 302


def test_a_right_password_does_not_count_against_the_throttle():
    throttle = Throttle(limit=2, window=60.0)
    for _ in range(10):
        assert throttle.begin("owner") == 0
        throttle.passed("owner")
    assert throttle.begin("owner") == 0 and throttle.begin("owner") == 0
    assert throttle.begin("owner") > 0


def test_parallel_guesses_get_no_more_checks_than_the_limit(locked, monkeypatch):
    """30 wrong guesses sent at once from one address: 5 are checked, 25 answered 429."""
    import threading

    import werkzeug.security

    checks = []
    real = werkzeug.security.check_password_hash

    def counting(pwhash, password):
        checks.append(password)
        return real(pwhash, password)

    monkeypatch.setattr(werkzeug.security, "check_password_hash", counting)
    barrier, codes = threading.Barrier(30), []

    def guess(k: int) -> None:
        client = locked.test_client()
        barrier.wait()
        codes.append(_log_in(client, f"guess {k}").status_code)

    threads = [threading.Thread(target=guess, args=(k,)) for k in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(checks) == 5
    assert sorted(codes) == [401] * 5 + [429] * 25


def test_an_ipv6_client_is_its_64_network(locked):
    client = locked.test_client()
    for k in range(5):  # one machine rotating through its own /64
        assert client.post("/login", data={"password": "guess", "next": "/"},
                           environ_base={"REMOTE_ADDR": f"2001:db8:1:2::{k + 1:x}"}
                           ).status_code == 401
    assert client.post("/login", data={"password": "guess", "next": "/"},
                       environ_base={"REMOTE_ADDR": "2001:db8:1:2:ffff::9"}).status_code == 429
    assert client.post("/login", data={"password": PASSWORD, "next": "/"},
                       environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"}).status_code == 302


def _basic_status(port: int, password: str, forwarded_for: str) -> int:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/api/v1/items",
                     headers={**_basic(password), "X-Forwarded-For": forwarded_for})
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.parametrize("trusted", [True, False])
def test_behind_a_trusted_proxy_each_client_has_its_own_throttle(locked, trusted):
    """A real waitress server with a proxy on 127.0.0.1: trusted, the owner behind the proxy
    is not locked out by a guesser behind the same proxy; untrusted, they share one address."""

    with served(locked, trusted_proxy="127.0.0.1" if trusted else None) as port:
        for _ in range(5):
            assert _basic_status(port, "guess", "203.0.113.9") == 401
        assert _basic_status(port, "guess", "203.0.113.9") == 429
        assert _basic_status(port, PASSWORD, "198.51.100.2") == (200 if trusted else 429)


def test_basic_auth_guesses_count_too(locked):
    client = locked.test_client()
    for _ in range(5):
        envelope(client.get("/api/v1/items", headers=_basic("guess")), 401)
    envelope(client.get("/api/v1/items", headers=_basic()), 429, "too_many_attempts")


def test_throttle_forgets_old_failures():
    now = [1000.0]
    throttle = Throttle(limit=3, window=60.0, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.wait("a") == 0
        assert throttle.begin("a") == 0
    assert throttle.begin("a") == pytest.approx(60.0)
    assert throttle.wait("a") == pytest.approx(60.0)
    assert throttle.wait("b") == 0
    now[0] += 30
    assert throttle.wait("a") == pytest.approx(30.0)
    now[0] += 30.5
    assert throttle.wait("a") == 0


# ----------------------------------------------------------------------------- serving


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("LOCALHOST", True),
    ("::1", True), ("[::1]", True), ("0.0.0.0", False), ("::", False), ("", False),
    ("192.168.1.20", False), ("10.0.0.1", False), ("myhost.local", False), ("fe80::1", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_make_server_refuses_a_network_address_without_a_password(app, locked):
    with pytest.raises(AccessError, match="no password"):
        make_server(app, "0.0.0.0", 0)
    server = make_server(locked, "127.0.0.1", 0)
    server.close()  # type: ignore[attr-defined]


@pytest.fixture
def fake_serve(monkeypatch):
    """Replaces the server: the (app, host, port) it would have served, no socket opened."""
    monkeypatch.delenv("OUTFIT_PASSWORD", raising=False)
    served: list[tuple] = []
    monkeypatch.setattr(webapp.server, "serve",
                        lambda app, host, port, *a, **k: served.append((app, host, port)))
    return served


def _serve(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, ["serve", *args], env=env, catch_exceptions=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20"])
def test_serve_refuses_a_network_address_without_a_password(tmp_path, monkeypatch, host):
    monkeypatch.delenv("OUTFIT_PASSWORD", raising=False)

    def never(*a, **k):
        raise AssertionError("the server must not start")

    monkeypatch.setattr(webapp.server, "serve", never)
    home = tmp_path / "home"
    r = _serve("--host", host, "--home", str(home), env={"OUTFIT_PASSWORD": ""})
    assert r.exit_code != 0
    assert f"refusing to serve on {host} without a password" in r.output
    assert "OUTFIT_PASSWORD" in r.output and "--password-file" in r.output
    assert not home.exists()  # refused before the instance was touched


def test_serve_on_the_network_with_a_password(tmp_path, fake_serve):
    r = _serve("--host", "0.0.0.0", "--port", "8080", "--home", str(tmp_path / "home"),
               env={"OUTFIT_PASSWORD": PASSWORD})
    assert r.exit_code == 0, r.output
    [(app, host, port)] = fake_serve
    assert (host, port) == ("0.0.0.0", 8080)
    stored = app.config["PASSWORD_HASH"]
    assert PASSWORD not in stored and check_password_hash(stored, PASSWORD)
    assert not app.config.get("SESSION_COOKIE_SECURE")
    assert PASSWORD not in repr(app.config)


def test_serve_reads_the_password_file(tmp_path, fake_serve):
    secret = tmp_path / "password"
    secret.write_text("from the file\nsecond line\n")
    r = _serve("--host", "0.0.0.0", "--home", str(tmp_path / "home"), "--password-file",
               str(secret), "--secure-cookie", env={"OUTFIT_PASSWORD": "from the environment"})
    assert r.exit_code == 0, r.output
    config = fake_serve[0][0].config
    assert check_password_hash(config["PASSWORD_HASH"], "from the file")
    assert config["SESSION_COOKIE_SECURE"] is True


def test_serve_refuses_an_empty_password_file(tmp_path, fake_serve):
    secret = tmp_path / "password"
    secret.write_text("\nsecond line\n")
    r = _serve("--host", "0.0.0.0", "--home", str(tmp_path / "home"), "--password-file",
               str(secret))
    assert r.exit_code != 0 and "first line, the password, is empty" in r.output
    assert fake_serve == []


def test_serve_has_no_password_option():
    names = {opt for p in cli.commands["serve"].params for opt in p.opts}
    assert "--password" not in names and "--password-file" in names


def test_serve_binds_loopback_by_default_and_a_password_is_optional(tmp_path, fake_serve):
    r = _serve("--home", str(tmp_path / "home"))
    assert r.exit_code == 0, r.output
    [(app, host, _port)] = fake_serve
    assert host == "127.0.0.1" and not app.config.get("PASSWORD_HASH")
    r = _serve("--home", str(tmp_path / "home"), env={"OUTFIT_PASSWORD": PASSWORD})
    assert r.exit_code == 0 and fake_serve[1][0].config["PASSWORD_HASH"]


def test_demo_refuses_a_network_address_before_any_work(tmp_path, monkeypatch):
    monkeypatch.delenv("OUTFIT_PASSWORD", raising=False)
    monkeypatch.setattr(usecases.demo, "prepare_demo",
                        lambda *a, **k: pytest.fail("the demo must not be prepared"))
    r = CliRunner().invoke(cli, ["demo", "--host", "0.0.0.0"],
                           env={"OUTFIT_HOME": str(tmp_path / "home")}, catch_exceptions=False)
    assert r.exit_code != 0 and "without a password" in r.output


# ----------------------------------------------------------------------------- path traversal


_opened: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if _opened is not None and event in ("open", "os.listdir", "os.scandir") and args:
        _opened.append(os.path.abspath(args[0]) if isinstance(args[0], str | bytes | os.PathLike)
                       else str(args[0]))  # an int: a directory's file descriptor


sys.addaudithook(_audit)  # cannot be removed: it records only while a test sets _opened


def _traversals(outside: Path) -> list[str]:
    return ["..%2Fsecret.txt", "..%2F..%2Fsecret.txt", "..%2F..%2F..%2Fsecret.txt",
            "..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd",
            quote(str(outside / "secret.txt"), safe=""), quote(str(outside), safe=""),
            "..%5C..%5Csecret.txt", "C:%5CWindows%5Cwin.ini", "secret.txt%00.png",
            "%00", "..", "%2e%2e%2f%2e%2e%2fsecret.txt", "%252e%252e%252fsecret.txt"]


def _fetch(client, url: str, method: str) -> tuple[int, bytes]:
    """The status of ``url`` and the body of the page it ends on: a redirect (a form's answer
    with a flash message, Werkzeug's 308 to the address without ``//``) must stay on this site
    and is followed."""
    with client.open(url, method=method) as r:
        status, body, location = r.status_code, r.get_data(), r.headers.get("Location", "")
    if status in (302, 303, 308):
        parts = urlsplit(location)
        assert parts.netloc in ("", "localhost") and parts.path.startswith("/"), location
        assert not parts.path.startswith("//"), location
        with client.get(parts.path, query_string=parts.query) as after:
            body += after.get_data()
    return status, body


def test_no_route_reads_a_path_from_the_url(app_factory, tmp_path):
    """Every path parameter of every route, given a traversal: 404 or 422 (or a form's
    redirect back with a flash), the marker file beside the instance folder never opened nor
    listed, nor /etc/passwd."""
    global _opened
    app = app_factory()
    home = Path(app.instance_path)
    (home / "models" / "tiny").mkdir(parents=True)  # a model for the other parameters to hit
    (home / "models" / "tiny" / "model.pt").write_bytes(b"not a model")
    (home / "models" / "tiny" / "card.json").write_text("{}")
    (tmp_path / "secret.txt").write_text("TOP-SECRET")
    client = app.test_client()
    tried, wrong = 0, []
    for rule, method in _routes(app):
        for param in rule.arguments:
            for bad in _traversals(tmp_path):
                _opened = []
                try:
                    status, body = _fetch(client, _url(rule, **{param: bad}), method)
                finally:
                    opened, _opened = _opened, None
                tried += 1
                outside = [p for p in map(str, opened) if p in ("/etc", "/etc/passwd") or (
                    p.startswith(str(tmp_path)) and not p.startswith(str(home)))]
                answer = (404, 422) if method == "GET" and not rule.rule.startswith("/static/") \
                    else (302, 303, 308, 404, 422)
                if status not in answer or b"TOP-SECRET" in body or b"root:" in body or outside:
                    wrong.append(f"{method} {rule.rule} {param}={bad}: {status} {outside}")
    assert tried > 100
    assert wrong == []
