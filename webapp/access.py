"""A password for the whole app: who may see the closet when it is served on a network.

    app = create_app({"PASSWORD_HASH": hash_password("correct horse")})

Without ``PASSWORD_HASH`` the app is open, as it is on 127.0.0.1 by default; ``outfit serve``
refuses any other address until a password is set (:func:`access_config`: ``$OUTFIT_PASSWORD``
or the first line of ``--password-file``, never an option that ``ps`` would show). With it,
every request needs the password except the login page and ``/static/`` (the app's own CSS and
scripts, nothing of the closet). ``/api/v1/health`` is closed too, since it counts the items; a
401 tells a monitor that the server is up just as well.

- Pages: without a logged-in session, a redirect to ``/login?next=<the page>``. Logging in puts
  a flag in Flask's signed session cookie, bound to this ``PASSWORD_HASH`` (``outfit serve``
  salts it afresh at every start, so a restart or a new password logs everyone out), and a
  random session id that the server keeps (:class:`Sessions`): ``POST /logout`` forgets it, so
  a copy of the cookie taken before no longer works, and a session not used for
  ``SESSION_IDLE_TIMEOUT`` seconds (default 7 days) expires. The cookie goes over plain http
  unless ``SESSION_COOKIE_SECURE`` is set (``outfit serve --secure-cookie``, for an https
  reverse proxy).
- The API (``/api/v1``): without that session, 401 with the error envelope and
  ``WWW-Authenticate: Basic realm="outfit"``. HTTP Basic auth (any user name, the password) is
  accepted on every address, so scripts can call it; writes still need the CSRF token, read
  from a page fetched with the same credentials (a browser remembers Basic credentials and
  would send them on a forged cross-site request).
- Guessing is throttled per client (:class:`Throttle`; a client is an IPv4 address or an IPv6
  /64): at most 5 passwords are checked per client within a sliding minute, counted before the
  check, so 30 guesses sent at once get 5 checks, not 30; a right password does not count.
  Every further attempt from that client is answered 429 with ``Retry-After`` and not even
  checked, so guesses cost at most 5 a minute and a flood costs no hashing. Someone else's
  guesses never lock the owner out: the owner's device is another client. Behind a reverse
  proxy every client shares the proxy's address (waitress drops untrusted proxy headers)
  unless the proxy is trusted (``outfit serve --trusted-proxy ADDRESS``): then its
  ``X-Forwarded-For`` names the client.
- Only the salted scrypt hash of the password is kept (werkzeug; its check compares in constant
  time). A scrypt check costs about 0.1 s of CPU and 32 MiB, which a script sending Basic auth
  would pay on every call: the last password that passed is remembered as an HMAC-SHA256 under
  a random key made when the app starts, and compared with :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from outfit.config import PASSWORD_ENV
from outfit.errors import OutfitError
from webapp.errors_http import API_PREFIX, ApiError, error_payload
from webapp.pages.wears import safe_next
from webapp.sessions import Sessions, Throttle

__all__ = ["AccessError", "Throttle", "access_config", "bp", "hash_password", "init_access",
           "is_loopback", "read_password", "PASSWORD_ENV", "OPEN_ENDPOINTS"]

OPEN_ENDPOINTS = frozenset({"static", "access.login"})
SESSION_KEY = "access"
SESSION_ID_KEY = "sid"
DEFAULT_IDLE_TIMEOUT = 7 * 24 * 3600.0  # s: a week without a visit logs out
REALM = 'Basic realm="outfit", charset="UTF-8"'

bp = Blueprint("access", __name__)


class AccessError(OutfitError):
    """The app would be served to the network without a password, or the password is unusable."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only: ``localhost``, 127.0.0.0/8 or
    ``::1``. Any other name or address (``0.0.0.0``, ``::``, a LAN address, a host name) is not."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_password(password_file: Path | None = None,
                  environ: Mapping[str, str] = os.environ) -> str | None:
    """The password from the first line of ``password_file`` (its line ending dropped), else
    from ``$OUTFIT_PASSWORD``; ``None`` when neither sets one."""
    if password_file is not None:
        try:
            lines = Path(password_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise AccessError(f"{password_file}: cannot read the password file ({exc})",
                              hint="give a readable UTF-8 text file") from None
        if not lines or not lines[0]:
            raise AccessError(f"{password_file}: the first line, the password, is empty",
                              hint="write the password on the file's first line")
        return lines[0]
    return environ.get(PASSWORD_ENV) or None


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` (werkzeug's format), the value of ``PASSWORD_HASH``."""
    from werkzeug.security import generate_password_hash

    if not password:
        raise AccessError("the password is empty", hint=f"set a non-empty {PASSWORD_ENV}")
    return generate_password_hash(password)


def access_config(host: str, password_file: Path | None = None,
                  environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The config that guards an app served on ``host``: ``{"PASSWORD_HASH": ...}`` when a
    password is set (loopback or not), ``{}`` on a loopback address without one. Raises
    :class:`AccessError`, saying how to set one, for any other address without a password."""
    password = read_password(password_file, environ)
    if password is not None:
        return {"PASSWORD_HASH": hash_password(password)}
    if not is_loopback(host):
        raise AccessError(
            f"refusing to serve on {host} without a password: anyone who can reach this "
            "machine could see and change the closet",
            hint=f"set one in the environment ({PASSWORD_ENV}=... outfit serve --host {host}) "
                 "or on the first line of a file (--password-file FILE), or serve on 127.0.0.1")
    return {}


class _Guard:
    """The app's password: its hash, the logged-in sessions, the throttle and the remembered
    HMAC of the last password that passed."""

    def __init__(self, password_hash: str, secret_key: str, idle_timeout: float) -> None:
        self.password_hash = password_hash
        self.flag = hmac.new(secret_key.encode(), password_hash.encode(),
                             hashlib.sha256).hexdigest()[:32]
        self.throttle = Throttle()
        self.sessions = Sessions(idle_timeout)
        self._key = secrets.token_bytes(32)
        self._passed = b""

    def check(self, password: str) -> bool:
        from werkzeug.security import check_password_hash

        digest = hmac.new(self._key, password.encode(), hashlib.sha256).digest()
        if self._passed and hmac.compare_digest(digest, self._passed):
            return True
        if not check_password_hash(self.password_hash, password):
            return False
        self._passed = digest
        return True

    def try_password(self, who: str, password: str) -> float | bool:
        """Check ``password`` for client ``who`` under the throttle: the seconds to wait
        (unchecked), else whether it is right."""
        wait = self.throttle.begin(who)
        if wait > 0:
            return wait
        if self.check(password):
            self.throttle.passed(who)
            return True
        return False

    def logged_in(self) -> bool:
        return (hmac.compare_digest(str(session.get(SESSION_KEY, "")), self.flag)
                and self.sessions.touch(str(session.get(SESSION_ID_KEY, ""))))


def _guard() -> _Guard | None:
    return current_app.extensions.get("outfit_access")


def _client() -> str:
    """Who is guessing, for the throttle: the client's IPv4 address, or the /64 network of an
    IPv6 one (one machine usually holds a whole /64 and could rotate through it)."""
    addr = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return addr
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _too_many(wait: float) -> Response:
    error = ApiError(429, "too_many_attempts", "Too many wrong passwords from this address.",
                     f"wait {wait:.0f} s and try again")
    response = jsonify(error_payload(error))
    response.status_code = 429
    response.headers["Retry-After"] = str(max(1, round(wait)))
    return response


def _unauthorized() -> Response:
    error = ApiError(401, "unauthorized", "This closet needs its password.",
                     "log in at /login, or send the password by HTTP Basic auth (any user name)")
    response = jsonify(error_payload(error))
    response.status_code = 401
    response.headers["WWW-Authenticate"] = REALM
    return response


def _here() -> str:
    """The page asked for, to come back to after logging in (only a GET can be repeated)."""
    if request.method not in ("GET", "HEAD"):
        return "/"
    return request.full_path.rstrip("?")


def _require_password() -> Response | None:
    """Before every request: let it through with the session flag or the right Basic
    password, else answer 401/429 (API) or send to the login page."""
    guard = _guard()
    if guard is None or request.endpoint in OPEN_ENDPOINTS or guard.logged_in():
        return None
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.password is not None:
        result = guard.try_password(_client(), auth.password)
        if result is True:
            return None
        if result is not False:
            return _too_many(float(result))
    if request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/"):
        return _unauthorized()
    return redirect(url_for("access.login", next=_here()))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int, dict[str, str]] | str:
    """The login form (password and CSRF token); the right password sets the session flag and
    goes on to ``next`` (a path on this site only)."""
    back = safe_next(request.values.get("next"), url_for("closet.index"))
    guard = _guard()
    if guard is None or guard.logged_in():
        return redirect(back)
    if request.method == "GET":
        return render_template("login.html", next=back)
    result = guard.try_password(_client(), request.form.get("password", ""))
    if result is False:
        return render_template("login.html", next=back,
                               error="That is not the password."), 401, {}
    if result is not True:
        wait = float(result)
        return (render_template("login.html", next=back,
                                error=f"Too many wrong passwords: wait {wait:.0f} s and try "
                                      "again."), 429, {"Retry-After": str(max(1, round(wait)))})
    session.clear()  # a fresh session (and CSRF token) for the person now logged in
    session[SESSION_KEY] = guard.flag
    session[SESSION_ID_KEY] = guard.sessions.start()
    return redirect(back)


@bp.post("/logout")
def logout() -> Response:
    """End the logged-in session, on the server too: a copy of its cookie no longer works."""
    guard = _guard()
    if guard is not None:
        guard.sessions.end(str(session.get(SESSION_ID_KEY, "")))
    session.clear()
    return redirect(url_for("access.login"))


def init_access(app: Flask) -> None:
    """Guard every request of ``app`` with ``PASSWORD_HASH`` when it is set (see the module's
    docstring) and register ``/login`` and ``/logout``. Call it before the CSRF check is
    installed, so that a request without the password gets 401, not a CSRF error."""
    password_hash = app.config.get("PASSWORD_HASH")
    if password_hash:
        idle = float(app.config.get("SESSION_IDLE_TIMEOUT", DEFAULT_IDLE_TIMEOUT))
        app.extensions["outfit_access"] = _Guard(str(password_hash), str(app.config["SECRET_KEY"]),
                                                 idle)
    app.before_request(_require_password)
    app.register_blueprint(bp)
