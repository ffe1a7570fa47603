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
  salts it afresh at every start, so a restart or a new password logs everyone out);
  ``POST /logout`` ends it. The cookie goes over plain http unless ``SESSION_COOKIE_SECURE`` is
  set (``outfit serve --secure-cookie``, for an https reverse proxy).
- The API (``/api/v1``): without that session, 401 with the error envelope and
  ``WWW-Authenticate: Basic realm="outfit"``. HTTP Basic auth (any user name, the password) is
  accepted on every address, so scripts can call it; writes still need the CSRF token, read
  from a page fetched with the same credentials (a browser remembers Basic credentials and
  would send them on a forged cross-site request).
- Guessing is throttled per client address (:class:`Throttle`): after 5 wrong passwords within
  a minute, every attempt from that address is answered 429 with ``Retry-After`` and not even
  checked, so guesses cost at most 5 a minute and a flood costs no hashing. Behind a reverse
  proxy every client shares the proxy's address (waitress drops untrusted proxy headers).
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
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
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

from outfit.errors import OutfitError
from webapp.errors_http import API_PREFIX, ApiError, error_payload
from webapp.pages.wears import safe_next

__all__ = ["AccessError", "Throttle", "access_config", "bp", "hash_password", "init_access",
           "is_loopback", "read_password", "PASSWORD_ENV", "OPEN_ENDPOINTS"]

PASSWORD_ENV = "OUTFIT_PASSWORD"
OPEN_ENDPOINTS = frozenset({"static", "access.login"})
SESSION_KEY = "access"
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


class Throttle:
    """Failed password attempts per client address: at most ``limit`` within ``window`` seconds.

    ``wait(who)`` is how many seconds ``who`` must wait before the next attempt is checked
    (0: now); ``fail(who)`` records a wrong password. Old failures are forgotten as they age, and
    the table of addresses is pruned when it grows, so a flood cannot fill the memory."""

    MAX_ADDRESSES = 10_000

    def __init__(self, limit: int = 5, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, who: str, now: float) -> deque[float]:
        times = self._failures.get(who, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def wait(self, who: str) -> float:
        with self._lock:
            now = self.clock()
            times = self._recent(who, now)
            if len(times) < self.limit:
                return 0.0
            return times[0] + self.window - now

    def fail(self, who: str) -> None:
        with self._lock:
            now = self.clock()
            if len(self._failures) >= self.MAX_ADDRESSES:
                for key in [k for k, v in self._failures.items() if not self._recent(k, now)]:
                    del self._failures[key]
            times = self._recent(who, now)
            times.append(now)
            while len(times) > self.limit:
                times.popleft()
            self._failures[who] = times


class _Guard:
    """The app's password: its hash, the session flag bound to it, the throttle and the
    remembered HMAC of the last password that passed."""

    def __init__(self, password_hash: str, secret_key: str) -> None:
        self.password_hash = password_hash
        self.flag = hmac.new(secret_key.encode(), password_hash.encode(),
                             hashlib.sha256).hexdigest()[:32]
        self.throttle = Throttle()
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

    def logged_in(self) -> bool:
        return hmac.compare_digest(str(session.get(SESSION_KEY, "")), self.flag)


def _guard() -> _Guard | None:
    return current_app.extensions.get("outfit_access")


def _client() -> str:
    return request.remote_addr or "unknown"


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
        wait = guard.throttle.wait(_client())
        if wait > 0:
            return _too_many(wait)
        if guard.check(auth.password):
            return None
        guard.throttle.fail(_client())
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
    wait = guard.throttle.wait(_client())
    if wait > 0:
        return (render_template("login.html", next=back,
                                error=f"Too many wrong passwords: wait {wait:.0f} s and try "
                                      "again."), 429, {"Retry-After": str(max(1, round(wait)))})
    if not guard.check(request.form.get("password", "")):
        guard.throttle.fail(_client())
        return render_template("login.html", next=back,
                               error="That is not the password."), 401, {}
    session.clear()  # a fresh session (and CSRF token) for the person now logged in
    session[SESSION_KEY] = guard.flag
    return redirect(back)


@bp.post("/logout")
def logout() -> Response:
    """End the logged-in session."""
    session.clear()
    return redirect(url_for("access.login"))


def init_access(app: Flask) -> None:
    """Guard every request of ``app`` with ``PASSWORD_HASH`` when it is set (see the module's
    docstring) and register ``/login`` and ``/logout``. Call it before the CSRF check is
    installed, so that a request without the password gets 401, not a CSRF error."""
    password_hash = app.config.get("PASSWORD_HASH")
    if password_hash:
        app.extensions["outfit_access"] = _Guard(str(password_hash), str(app.config["SECRET_KEY"]))
    app.before_request(_require_password)
    app.register_blueprint(bp)
