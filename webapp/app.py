"""The Flask app factory: ``create_app(config)`` builds one closet web app.

    app = create_app({"OUTFIT_HOME": "/tmp/closet", "MODEL": "/tmp/model"})

Config keys (all optional): ``OUTFIT_HOME`` (the instance folder; default
:func:`outfit.config.instance_dir`), ``MODEL`` (the model folder that scores and tags; default the
one chosen on the models page, else the newest folder under ``<instance>/models/`` with a
``model.pt``, else none), ``DATA_ROOTS`` (folders the models page may read datasets from,
beside ``<instance>/worlds``), ``MAX_CONTENT_LENGTH``
(bytes per request, default 25 MiB; more is answered with 413), ``AUTO_TAG`` (default on: every
uploaded photo is tagged by the shipped real-photo tagger; off, photos are stored untagged for
the person to tag by hand), ``MAX_IMPORT_LENGTH`` (bytes of
a closet archive imported, default 1 GiB), ``SECRET_KEY`` (default: one
generated on first start and kept in ``<instance>/secret_key``, mode 0600, so sessions and CSRF
tokens survive a restart), ``PASSWORD_HASH`` (when set, every page and API call needs the
password: :mod:`webapp.access`), ``SESSION_IDLE_TIMEOUT`` (seconds an unused login session
lasts, default a week), ``ALLOWED_HOSTS`` (host names the app answers to besides loopback and
the address it is served on, :mod:`webapp.hosts`), ``SESSION_COOKIE_SECURE`` (off: the app
usually speaks plain http on a LAN; set it behind an https proxy), ``TESTING``, and any Flask or
Flask-WTF key.

Every response carries security headers: a Content-Security-Policy that allows only the app's
own scripts, styles and images (no inline script, no CDN: the app works offline), ``nosniff``,
``Referrer-Policy: same-origin`` and ``X-Frame-Options: DENY``; every response but the app's
static files is private to the person (``Cache-Control: no-store`` for pages and JSON,
``private`` for photos and plots; ``Vary: Cookie, Authorization``). Every POST, PUT, PATCH and
DELETE needs a CSRF token (Flask-WTF): forms carry it in a hidden field, scripts in the
``X-CSRFToken`` header, read from the page's ``<meta name="csrf-token">``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request
from flask_wtf.csrf import CSRFProtect

from closet.features import ClosetFeatures
from closet.store import Store
from outfit import defaults
from outfit.config import instance_dir
from usecases.datasets import data_roots
from usecases.jobs import JobManager
from usecases.manage_models import MODELS_DIR, read_active_name
from usecases.services import ActiveModel, Services, newest_model

__all__ = ["create_app", "SECURITY_HEADERS", "DEFAULT_MAX_CONTENT_LENGTH", "SECRET_KEY_FILE"]

DEFAULT_MAX_CONTENT_LENGTH = 25 * 2**20
DEFAULT_MAX_IMPORT_LENGTH = 2**30  # waitress refuses bodies over 1 GiB by default too
IMPORT_ENDPOINTS = frozenset({"archive.import_closet", "closet.import_closet"})
SECRET_KEY_FILE = "secret_key"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

csrf = CSRFProtect()


def _secret_key(home: Path) -> str:
    """The instance's secret key, made on first use with owner-only permissions. Created with
    O_EXCL, so two servers starting together agree on one key."""
    path = home / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
        path.unlink()  # an empty file left by a crash between create and write
        return _secret_key(home)
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key)
    return key


def _default_model(home: Path) -> Path | None:
    """The model chosen on the models page, if it is still there; else the newest."""
    name = read_active_name(home)
    if name and (home / MODELS_DIR / name / "model.pt").is_file():
        return home / MODELS_DIR / name
    return newest_model(home / MODELS_DIR)


def _import_limit() -> None:
    """A closet archive holds every photo, so its import has a limit of its own
    (``MAX_IMPORT_LENGTH``, default 1 GiB; Werkzeug spools a large upload to a temporary file,
    not memory). Set before the form is parsed: the request's limit is read then."""
    if request.endpoint in IMPORT_ENDPOINTS:
        request.max_content_length = int(current_app.config["MAX_IMPORT_LENGTH"])


def _when(stamp: str | None) -> str:
    """``2026-11-26T01:16:37Z`` -> ``2026-11-26 01:16 UTC`` (anything else as it is)."""
    if not stamp or len(stamp) < 16 or stamp[10] != "T":
        return stamp or ""
    return f"{stamp[:10]} {stamp[11:16]} UTC"


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static":
        _private(response)
    return response


def _private(response: Response) -> None:
    """Everything but the app's own static files is the person's: photos and plots may be kept
    by the browser (``private``, never ``public``: no shared cache may keep them), pages, JSON
    and redirects not at all (``no-store``). Each depends on the session cookie and the
    password, so ``Vary`` says so."""
    cache = response.cache_control
    if "Cache-Control" not in response.headers:
        cache.no_store = True
    elif cache.public:
        cache.public = False
        cache.private = True
    response.vary.update(("Cookie", "Authorization"))


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """A closet web app on the instance folder of ``config`` (see the module's docstring)."""
    app = Flask(__name__, instance_relative_config=False)
    config = dict(config or {})
    home = Path(config.pop("OUTFIT_HOME", None) or instance_dir()).expanduser()
    home.mkdir(mode=0o700, parents=True, exist_ok=True)  # private when made here
    model_path = config.pop("MODEL", None)
    roots = data_roots(home, config.pop("DATA_ROOTS", None) or ())
    model = Path(model_path).expanduser() if model_path else _default_model(home)

    app.config.update(
        AUTO_TAG=True,
        MAX_CONTENT_LENGTH=DEFAULT_MAX_CONTENT_LENGTH,
        MAX_IMPORT_LENGTH=DEFAULT_MAX_IMPORT_LENGTH,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        WTF_CSRF_TIME_LIMIT=None,  # a page left open overnight still saves its form
        JSON_SORT_KEYS=False,
    )
    app.config.update(config)
    app.instance_path = str(home)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(home)

    store = Store(home, max_upload_bytes=int(app.config["MAX_CONTENT_LENGTH"]))
    app.extensions["outfit"] = Services(store=store, model=ActiveModel(model), home=home,
                                        jobs=JobManager(home), features=ClosetFeatures(store),
                                        data_roots=tuple(roots))

    from webapp.hosts import init_hosts

    init_hosts(app)  # first of all: a foreign Host gets 400, whatever it asks for
    app.before_request(_import_limit)
    from webapp.access import init_access

    init_access(app)  # before the CSRF check: no password, 401 (not a CSRF error)
    csrf.init_app(app)
    app.after_request(_security_headers)

    from webapp.api import init_api
    from webapp.api.docs import bp as docs_bp
    from webapp.errors_http import register_error_handlers
    from webapp.pages import builder_bp, closet_bp, models_bp, recommend_bp, wears_bp

    app.extensions["outfit_api"] = init_api(app)
    app.register_blueprint(docs_bp)
    app.register_blueprint(closet_bp)
    app.register_blueprint(builder_bp)
    app.register_blueprint(recommend_bp)
    app.register_blueprint(wears_bp)
    app.register_blueprint(models_bp)
    register_error_handlers(app)

    from closet.records import item_title
    from webapp.pages.closet import SLOT_LABELS

    app.jinja_env.globals.update(item_title=item_title, slot_labels=SLOT_LABELS, defaults=defaults)
    app.jinja_env.filters["when"] = _when
    return app
