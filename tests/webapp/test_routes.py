"""Every route of the app and every error the API documents, through the test client.

``CASES`` is a table of requests and the status each must get: at least one per (rule, method)
of ``app.url_map`` (static files aside) and, for the API, one per error status that each
operation of ``/api/v1/openapi.json`` documents. Tests hold the table against the url_map and
the document, so a new route, or a newly documented error, without a case fails here by name.
Each case runs on a fresh copy of a small closet, so the table says what really happens: API
errors in the project's envelope with a status their operation documents, page errors as the
site's error page (never a traceback), refused forms as a redirect with an error flashed.
"""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from web_kit import envelope
from werkzeug.security import generate_password_hash

from explain.diagnostics import DIAGNOSTICS_INDEX
from usecases.datasets import list_datasets
from usecases.manage_models import diagnostics_dir, evaluation_dir, find_model
from webapp.app import create_app

MULTI = "multipart/form-data"
API = "/api/v1"
OPENAPI_RULE = "/api/v1/openapi.json"  # the document itself is not one of its operations
WRITES = ("post", "put", "patch", "delete")
BASE = {"TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "test-secret"}
KINDS = {"top": "tops", "bottom": "bottoms", "shoes": "shoes", "bare": None}
MISSING = "0123456789ab"  # a well-formed item id (and job id) that names nothing
JOB = "a1b2c3d4e5f6"  # the finished job of the models world
PASSWORD = "correct horse"
LOGIN = {"PASSWORD_HASH": generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")}
ERROR_PAGE = b'class="error-page"'
UNKNOWN = "{missing}&#39; in the closet"  # a page's sentence about an unknown item
CSRF_ON = {"WTF_CSRF_ENABLED": True}
SMALL = {"MAX_CONTENT_LENGTH": 4096}  # bytes
LONG_TRAINING = {"epochs": 200, "feature_epochs": 1, "image_size": 32}  # cancelled at once


def _photo(k: int, size: tuple[int, int] = (48, 48)) -> bytes:
    """JPEG number ``k``: a colour of its own and a stripe where ``k`` says."""
    color = ((53 * k + 20) % 256, (97 * k + 60) % 256, (29 * k + 110) % 256)
    im = Image.new("RGB", size, color)
    for y in range(size[1]):
        im.putpixel((k % size[0], y), (255 - color[0], 255 - color[1], 255 - color[2]))
    buf = io.BytesIO()
    im.save(buf, "JPEG")
    return buf.getvalue()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


# ------------------------------------------------------------------------------ the worlds


@dataclass
class World:
    """One case's app and client, and the names its URLs and bodies use (``{top}``: the top's
    item id, ``{ds}``: the dataset's id...)."""

    app: Any
    client: Any
    names: dict[str, str]

    def fill(self, value: Any) -> Any:
        """``value`` with each ``{name}`` of its strings replaced (lists and dicts too)."""
        if isinstance(value, str):
            return re.sub(r"\{(\w+)\}", lambda m: self.names[m.group(1)], value)
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


@pytest.fixture(scope="module")
def seed(tmp_path_factory, tiny_model) -> tuple[Path, dict[str, str]]:
    """A closet (a top, a bottom and shoes with their kinds, and an item without a kind) whose
    features for the tiny model are computed once; every case works on a copy of it."""
    home = tmp_path_factory.mktemp("routes-seed")
    client = create_app({**BASE, "OUTFIT_HOME": home}).test_client()
    files = [(io.BytesIO(_photo(k)), f"{name}.jpg") for k, name in enumerate(KINDS)]
    r = client.post(f"{API}/items", data={"photos": files}, content_type=MULTI)
    assert r.status_code == 201, r.json
    ids = {name: res["item"]["id"] for name, res in zip(KINDS, r.json["results"], strict=True)}
    for name, kind in KINDS.items():
        r = client.patch(f"{API}/items/{ids[name]}", json={"name": name, "semantic_category": kind})
        assert r.status_code == 200, r.json
    warm = create_app({**BASE, "OUTFIT_HOME": home, "MODEL": tiny_model}).test_client()
    r = warm.post(f"{API}/explain", json={"items": [ids["top"], ids["bottom"], ids["shoes"]]})
    assert r.status_code == 200, r.json
    return home, ids


def _models_home(home: Path, tiny_model: Path, tiny_world: Path) -> None:
    """Two models (``tiny`` and its copy ``twin``); for ``tiny`` on the world, the files an
    evaluate job and a diagnose job leave (a card of numbers and one PNG each: the jobs
    themselves are tested in test_models.py); and a finished job, ``JOB``."""
    for name in ("tiny", "twin"):
        shutil.copytree(tiny_model, home / "models" / name)
    info = find_model(home, "tiny")
    (dataset,) = list_datasets([Path(tiny_world)])
    evaluation = evaluation_dir(home, info, dataset)
    evaluation.mkdir(parents=True)
    (evaluation / "grader.json").write_text(json.dumps(
        {"models": {"tiny": {"auc": 0.6, "fitb": 0.3, "accuracy": 0.55, "ece": 0.1}}}))
    (evaluation / "roc.png").write_bytes(_png())
    diagnostics = diagnostics_dir(home, info)
    diagnostics.mkdir(parents=True)
    (diagnostics / DIAGNOSTICS_INDEX).write_text(json.dumps(
        {"items": 3, "images": [{"file": "features.png", "title": "Features", "caption": "c"}]}))
    (diagnostics / "features.png").write_bytes(_png())
    job = home / "jobs" / JOB
    job.mkdir(parents=True)
    (job / "job.json").write_text(json.dumps(
        {"id": JOB, "kind": "evaluate", "title": "Evaluate tiny", "commands": [["evaluate"]],
         "state": "done", "step": 1, "message": "finished", "finished": "2026-01-01T00:00:00Z"}))


@pytest.fixture
def world(seed, app_factory, tmp_path, tiny_model, tiny_world, tiny_photo_model):
    """``world(kind, config)``: ``closet`` (a copy of the seed, no model), ``model`` (the same
    with the tiny model, which reads photos by their tags), ``photo-model`` (the same with a
    model that reads pixels) or ``models`` (the models, evaluation, diagnostics and job of
    :func:`_models_home`, the tiny world as data root)."""

    def make(kind: str, config: dict[str, Any]) -> World:
        home = tmp_path / "home"
        seed_home, ids = seed
        names = {**ids, "missing": MISSING, "job": JOB}
        if kind == "models":
            home.mkdir()
            _models_home(home, Path(tiny_model), Path(tiny_world))
            config = {"DATA_ROOTS": [tiny_world], **config}
        else:
            shutil.copytree(seed_home, home)
            if kind == "model":
                config = {"MODEL": tiny_model, **config}
            elif kind == "photo-model":
                config = {"MODEL": tiny_photo_model, **config}
        app = app_factory(OUTFIT_HOME=home, **config)
        datasets = list_datasets(list(app.extensions["outfit"].data_roots))
        if datasets:
            names["ds"] = datasets[0].id
        return World(app, app.test_client(), names)

    return make


# ------------------------------------------------------------------------------- requests


def call(method: str, url: str, **kwargs: Any) -> Callable[[World], Any]:
    """A request of the table. ``{name}`` in ``url`` and in the body's strings is filled from
    the world; a callable keyword is called with the world (an uploaded file is read once, so
    each request needs a new one)."""

    def send(w: World) -> Any:
        args = {k: v(w) if callable(v) else w.fill(v) for k, v in kwargs.items()}
        return w.client.open(w.fill(url), method=method, **args)

    return send


def photos(*numbers: int) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"photos": [(io.BytesIO(_photo(k)), f"photo{k}.jpg") for k in numbers]}


def too_large(field_name: str) -> Callable[[World], dict[str, Any]]:
    return lambda w: {field_name: (io.BytesIO(b"x" * 10_000), "big.jpg")}


def not_a_zip(w: World) -> dict[str, Any]:
    return {"archive": (io.BytesIO(b"not a zip at all"), "closet.zip")}


def own_export(w: World) -> dict[str, Any]:
    """The closet's own zip (importing it skips every item: they are all here already)."""
    with w.client.get(f"{API}/closet/export") as r:
        assert r.status_code == 200
        return {"archive": (io.BytesIO(r.data), "closet.zip")}


def duplicate_upload(w: World) -> Any:
    """Upload again the photo the seed's top was made from: 409 duplicate_photo."""
    return w.client.post(f"{API}/items", data={"photos": [(io.BytesIO(_photo(0)), "again.jpg")]},
                         content_type=MULTI)


def upload_on_a_full_disk(w: World) -> Any:
    """The photo folder's disk is full (ENOSPC on writing the photo): 507 storage_full."""
    import errno
    from unittest import mock

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    with mock.patch("closet.photos.atomic_write_bytes", full):
        return w.client.post(f"{API}/items", data={"photos": [(io.BytesIO(_photo(99)), "p.jpg")]},
                             content_type=MULTI)


def patch_on_a_full_database(w: World) -> Any:
    """SQLite answers SQLITE_FULL on the update: 507 storage_full (see test_faults.py)."""
    from unittest import mock

    import closet.schema
    from tests.webapp.test_faults import _FullDatabase

    real = closet.schema.connect
    with mock.patch("closet.schema.connect", lambda *a, **k: _FullDatabase(real(*a, **k))):
        return w.client.patch(w.fill(f"{API}/items/{{top}}"), json={"color": "navy"})


def thumbs_up_then_export(w: World) -> Any:
    r = w.client.post(f"{API}/feedback", json=w.fill({"items": ["{top}", "{bottom}"], "up": True}))
    assert r.status_code == 201, r.json
    return w.client.get(f"{API}/feedback/export")


def stop_jobs(w: World) -> None:
    """Cancel the queued jobs and the running one through the API and wait until none runs."""
    jobs = w.app.extensions["outfit"].jobs
    for job in reversed(jobs.active()):
        assert w.client.post(f"{API}/jobs/{job.id}/cancel").status_code == 200
        assert jobs.wait(job.id, timeout=60).state not in ("running", "queued")


def start_training(w: World) -> Any:
    """POST /jobs: a long training job, cancelled as soon as it has been answered."""
    try:
        return w.client.post(f"{API}/jobs", json={"kind": "train", "dataset": w.names["ds"],
                                                  "name": "fresh", **LONG_TRAINING})
    finally:
        stop_jobs(w)


def job_over_the_queue(w: World) -> Any:
    """A job asked for while a training job runs and the queue is full: 409 busy."""
    ds = w.names["ds"]
    try:
        for body in ({"kind": "train", "name": "fresh", **LONG_TRAINING},
                     {"kind": "evaluate", "model": "tiny"}, {"kind": "diagnose", "model": "tiny"},
                     {"kind": "evaluate", "model": "twin"}):
            r = w.client.post(f"{API}/jobs", json={"dataset": ds, **body})
            assert r.status_code == 202, r.json
        return w.client.post(f"{API}/jobs", json={"kind": "diagnose", "dataset": ds,
                                                  "model": "twin"})
    finally:
        stop_jobs(w)


def train_form(w: World) -> Any:
    """The models page's train form: a job starts (cancelled at once)."""
    try:
        return w.client.post("/models/jobs", data={"kind": "train", "dataset": w.names["ds"],
                                                   "name": "fresh", **LONG_TRAINING})
    finally:
        stop_jobs(w)


def log_in_and_out(w: World) -> Any:
    r = w.client.post("/login", data={"password": PASSWORD})
    assert r.status_code == 302 and w.client.get("/wears").status_code == 200
    return w.client.post("/logout")


# ---------------------------------------------------------------------------------- table


@dataclass(frozen=True)
class Case:
    """A request (``send``) on a world and what it must get: ``status``; for an API error the
    envelope's ``code``; for a redirect the category of the message flashed (``ok``, ``error``)
    and where it goes; for a page, text it shows (``{name}`` filled; default for an error: the
    error page)."""

    method: str
    rule: str
    status: int
    send: Callable[[World], Any]
    world: str = "closet"
    config: dict[str, Any] = field(default_factory=dict)
    code: str | None = None
    flash: str | None = None
    location: str | None = None
    shows: str | None = None
    mimetype: str | None = None
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.rule} {self.status}" + (f" {self.note}" if self.note else "")

    @property
    def api(self) -> bool:
        return self.rule.startswith(API + "/")


def case(method: str, rule: str, status: int, url: str | None = None,
         send: Callable[[World], Any] | None = None, *, kw: dict[str, Any] | None = None,
         **fields: Any) -> Case:
    """A case whose request is ``method url`` (default: the rule itself) with ``kw``, or
    ``send``."""
    return Case(method, rule, status, send or call(method, url or rule, **(kw or {})), **fields)


ITEM = f"{API}/items/<item_id:item_id>"
MODEL = f"{API}/models/<name>"
PAGE_ITEM = "/items/<item_id:item_id>"
OUTFIT = {"items": ["{top}", "{bottom}", "{shoes}"]}
HEATMAP = f"{API}/explain/heatmap?items={{top}},{{bottom}},{{shoes}}&item="
BAD_JSON = {"data": "{", "content_type": "application/json"}

API_CASES = [
    case("GET", f"{API}/health", 200),
    case("GET", OPENAPI_RULE, 200),
    case("GET", f"{API}/methods", 200),
    # items
    case("GET", f"{API}/items", 200, f"{API}/items?slot=upper"),
    case("GET", f"{API}/items", 422, f"{API}/items?limit=0", code="validation_error"),
    case("POST", f"{API}/items", 201, kw={"data": photos(40), "content_type": MULTI}),
    case("POST", f"{API}/items", 400, kw={"data": lambda w: {"photos": [
        (io.BytesIO(b"no photo"), "notes.jpg")]}, "content_type": MULTI}, code="bad_image"),
    case("POST", f"{API}/items", 409, send=duplicate_upload, code="duplicate_photo"),
    case("POST", f"{API}/items", 413, kw={"data": too_large("photos"), "content_type": MULTI},
         config=SMALL, code="too_large"),
    case("POST", f"{API}/items", 422, kw={"data": {}, "content_type": MULTI},
         code="validation_error"),
    case("POST", f"{API}/items", 507, send=upload_on_a_full_disk, code="storage_full"),
    case("PATCH", ITEM, 507, send=patch_on_a_full_database, code="storage_full"),
    case("GET", ITEM, 200, f"{API}/items/{{top}}"),
    case("GET", ITEM, 404, f"{API}/items/{{missing}}", code="not_found"),
    case("PATCH", ITEM, 200, f"{API}/items/{{top}}", kw={"json": {"color": "navy"}}),
    case("PATCH", ITEM, 400, f"{API}/items/{{top}}", kw=BAD_JSON, code="bad_request"),
    case("PATCH", ITEM, 404, f"{API}/items/{{missing}}", kw={"json": {"color": "navy"}},
         code="not_found"),
    case("PATCH", ITEM, 422, f"{API}/items/{{top}}", kw={"json": {}}, code="validation_error"),
    case("DELETE", ITEM, 204, f"{API}/items/{{bare}}"),
    case("DELETE", ITEM, 400, f"{API}/items/{{bare}}", config=CSRF_ON, code="csrf_failed"),
    case("DELETE", ITEM, 404, f"{API}/items/{{missing}}", code="not_found"),
    case("GET", f"{ITEM}/photo", 200, f"{API}/items/{{top}}/photo"),
    case("GET", f"{ITEM}/photo", 404, f"{API}/items/{{missing}}/photo", code="not_found"),
    case("GET", f"{ITEM}/thumb", 200, f"{API}/items/{{top}}/thumb"),
    case("GET", f"{ITEM}/thumb", 404, f"{API}/items/{{missing}}/thumb", code="not_found"),
    case("GET", f"{ITEM}/cutout", 200, f"{API}/items/{{top}}/cutout"),
    case("GET", f"{ITEM}/cutout", 404, f"{API}/items/{{missing}}/cutout", code="not_found"),
    case("GET", f"{API}/items/unworn", 200, f"{API}/items/unworn?days=0"),
    case("GET", f"{API}/items/unworn", 422, f"{API}/items/unworn?days=-1",
         code="validation_error"),
    # explain
    case("POST", f"{API}/explain", 200, kw={"json": OUTFIT}, world="model"),
    case("POST", f"{API}/explain", 400, kw={"json": {**OUTFIT, "method": "nope"}},
         world="model", code="bad_request", note="unknown method"),
    case("POST", f"{API}/explain", 404, kw={"json": {"items": ["{missing}"]}}, world="model",
         code="not_found"),
    case("POST", f"{API}/explain", 422, kw={"json": {"items": []}}, code="validation_error"),
    case("POST", f"{API}/explain", 503, kw={"json": OUTFIT}, code="model_unavailable"),
    case("GET", f"{API}/explain/heatmap", 200, HEATMAP + "{top}", world="photo-model",
         mimetype="image/png"),
    case("GET", f"{API}/explain/heatmap", 400, HEATMAP + "{top}", world="model",
         code="bad_request", note="a model that reads tags has no pixel maps"),
    case("GET", f"{API}/explain/heatmap", 400, HEATMAP + "{bare}", world="model",
         code="bad_request", note="item not in the outfit"),
    case("GET", f"{API}/explain/heatmap", 404,
         f"{API}/explain/heatmap?items={{missing}}&item={{missing}}", world="model",
         code="not_found"),
    case("GET", f"{API}/explain/heatmap", 422, f"{API}/explain/heatmap?items={{top}}",
         code="validation_error"),
    case("GET", f"{API}/explain/heatmap", 503, HEATMAP + "{top}", code="model_unavailable"),
    # recommend
    case("POST", f"{API}/recommend", 200, kw={"json": {"k": 2}}, world="model"),
    case("POST", f"{API}/recommend", 400, kw={"json": {"pinned": ["{top}"],
                                                       "excluded": ["{top}"]}},
         world="model", code="bad_request", note="pinned and excluded"),
    case("POST", f"{API}/recommend", 404, kw={"json": {"pinned": ["{missing}"]}},
         world="model", code="not_found"),
    case("POST", f"{API}/recommend", 422, kw={"json": {"k": 0}}, code="validation_error"),
    case("POST", f"{API}/recommend", 503, kw={"json": {}}, code="model_unavailable"),
    case("GET", f"{ITEM}/outfits", 200, f"{API}/items/{{top}}/outfits?k=2", world="model"),
    case("GET", f"{ITEM}/outfits", 400, f"{API}/items/{{bare}}/outfits", world="model",
         code="bad_request", note="item without a kind"),
    case("GET", f"{ITEM}/outfits", 404, f"{API}/items/{{missing}}/outfits", world="model",
         code="not_found"),
    case("GET", f"{ITEM}/outfits", 422, f"{API}/items/{{top}}/outfits?k=0",
         code="validation_error"),
    case("GET", f"{ITEM}/outfits", 503, f"{API}/items/{{top}}/outfits",
         code="model_unavailable"),
    # wears and feedback
    case("POST", f"{API}/wears", 201, kw={"json": OUTFIT}),
    case("POST", f"{API}/wears", 400, kw={"json": {"items": ["{bare}"]}}, code="bad_request",
         note="item without a kind"),
    case("POST", f"{API}/wears", 404, kw={"json": {"items": ["{missing}"]}}, code="not_found"),
    case("POST", f"{API}/wears", 422, kw={"json": {"items": ["{top}"], "date": "yesterday"}},
         code="validation_error"),
    case("GET", f"{API}/wears", 200),
    case("GET", f"{API}/wears", 422, f"{API}/wears?limit=0", code="validation_error"),
    case("POST", f"{API}/feedback", 201, kw={"json": {"items": ["{top}", "{bottom}"],
                                                      "up": True}}),
    case("POST", f"{API}/feedback", 400, kw={"json": {"items": ["{top}", "{bare}"],
                                                      "up": True}},
         code="bad_request", note="item without a kind"),
    case("POST", f"{API}/feedback", 404, kw={"json": {"items": ["{top}", "{missing}"],
                                                      "up": False}}, code="not_found"),
    case("POST", f"{API}/feedback", 422, kw={"json": {"items": ["{top}", "{bottom}"]}},
         code="validation_error", note="no up"),
    case("GET", f"{API}/feedback", 200),
    case("GET", f"{API}/feedback/export", 200, send=thumbs_up_then_export,
         mimetype="application/zip"),
    case("GET", f"{API}/feedback/export", 400, code="bad_request", note="no thumbs up"),
    # the closet as a zip
    case("GET", f"{API}/closet/export", 200, mimetype="application/zip"),
    case("POST", f"{API}/closet/import", 200, kw={"data": own_export, "content_type": MULTI}),
    case("POST", f"{API}/closet/import", 400, kw={"data": not_a_zip, "content_type": MULTI},
         code="bad_request"),
    case("POST", f"{API}/closet/import", 413, kw={"data": too_large("archive"),
                                                  "content_type": MULTI},
         config={"MAX_IMPORT_LENGTH": 4096}, code="too_large"),
    case("POST", f"{API}/closet/import", 422, kw={"data": {}, "content_type": MULTI},
         code="validation_error"),
    # models, datasets, evaluations
    case("GET", f"{API}/models", 200, world="models"),
    case("GET", MODEL, 200, f"{API}/models/tiny", world="models"),
    case("GET", MODEL, 404, f"{API}/models/nope", world="models", code="not_found"),
    case("POST", f"{MODEL}/activate", 200, f"{API}/models/tiny/activate", world="models"),
    case("POST", f"{MODEL}/activate", 400, f"{API}/models/tiny/activate", world="models",
         config=CSRF_ON, code="csrf_failed"),
    case("POST", f"{MODEL}/activate", 404, f"{API}/models/nope/activate", world="models",
         code="not_found"),
    case("GET", f"{API}/datasets", 200, world="models"),
    case("GET", f"{MODEL}/evaluation", 200, f"{API}/models/tiny/evaluation?dataset={{ds}}",
         world="models"),
    case("GET", f"{MODEL}/evaluation", 404, f"{API}/models/nope/evaluation?dataset={{ds}}",
         world="models", code="not_found"),
    case("GET", f"{MODEL}/evaluation", 422, f"{API}/models/tiny/evaluation?dataset=/etc",
         world="models", code="bad_dataset"),
    case("GET", f"{MODEL}/evaluation/<plot>", 200,
         f"{API}/models/tiny/evaluation/roc.png?dataset={{ds}}", world="models"),
    case("GET", f"{MODEL}/evaluation/<plot>", 404,
         f"{API}/models/tiny/evaluation/fitb.png?dataset={{ds}}", world="models",
         code="not_found", note="no such plot"),
    case("GET", f"{MODEL}/evaluation/<plot>", 422, f"{API}/models/tiny/evaluation/roc.png",
         world="models", code="validation_error", note="no dataset"),
    case("GET", f"{MODEL}/diagnostics", 200, f"{API}/models/tiny/diagnostics", world="models"),
    case("GET", f"{MODEL}/diagnostics", 404, f"{API}/models/nope/diagnostics", world="models",
         code="not_found"),
    case("GET", f"{API}/models/compare", 200, f"{API}/models/compare?a=tiny&b=twin&dataset={{ds}}",
         world="models"),
    case("GET", f"{API}/models/compare", 404,
         f"{API}/models/compare?a=tiny&b=nope&dataset={{ds}}", world="models", code="not_found"),
    case("GET", f"{API}/models/compare", 422, f"{API}/models/compare?a=tiny&b=twin&dataset=x",
         world="models", code="bad_dataset"),
    # jobs
    case("GET", f"{API}/jobs", 200, world="models"),
    case("POST", f"{API}/jobs", 202, send=start_training, world="models"),
    case("POST", f"{API}/jobs", 400, kw=BAD_JSON, world="models", code="bad_request"),
    case("POST", f"{API}/jobs", 404, kw={"json": {"kind": "evaluate", "dataset": "{ds}",
                                                  "model": "nope"}},
         world="models", code="not_found"),
    case("POST", f"{API}/jobs", 409, send=job_over_the_queue, world="models", code="busy"),
    case("POST", f"{API}/jobs", 422, kw={"json": {"kind": "train", "dataset": "{ds}",
                                                  "name": "tiny"}},
         world="models", code="bad_dataset", note="name taken"),
    case("GET", f"{API}/jobs/<job_id>", 200, f"{API}/jobs/{{job}}", world="models"),
    case("GET", f"{API}/jobs/<job_id>", 404, f"{API}/jobs/{{missing}}", world="models",
         code="not_found"),
    case("POST", f"{API}/jobs/<job_id>/cancel", 200, f"{API}/jobs/{{job}}/cancel",
         world="models", note="finished job"),
    case("POST", f"{API}/jobs/<job_id>/cancel", 400, f"{API}/jobs/{{job}}/cancel",
         world="models", config=CSRF_ON, code="csrf_failed"),
    case("POST", f"{API}/jobs/<job_id>/cancel", 404, f"{API}/jobs/{{missing}}/cancel",
         world="models", code="not_found"),
]

PAGE_CASES = [
    case("GET", "/", 200, shows="/items/{bottom}"),
    case("GET", "/", 200, "/?slot=nope&page=x", shows="There is no slot called", note="bad filter"),
    case("GET", "/api/docs", 200, shows="/api/v1/items"),
    case("GET", "/builder", 200, "/builder?items={top},{bottom},{shoes}", world="model",
         shows="heat-"),
    case("GET", "/builder", 200, "/builder?items={missing}", world="model", shows=UNKNOWN,
         note="unknown item"),
    case("GET", "/recommend", 200, world="model", shows="/builder?items="),
    case("GET", "/recommend", 200, "/recommend?pinned={missing}", world="model", shows=UNKNOWN,
         note="unknown item"),
    case("GET", "/upload", 200),
    case("POST", "/upload", 200, kw={"data": photos(41), "content_type": MULTI},
         shows="1 of 1 photo added", note="the report without JavaScript"),
    case("POST", "/upload", 302, kw={"data": {}, "content_type": MULTI}, flash="error",
         location="/upload", note="no photo"),
    case("POST", "/upload", 413, kw={"data": too_large("photos"), "content_type": MULTI},
         config=SMALL),
    case("POST", "/closet/import", 302, kw={"data": own_export, "content_type": MULTI},
         flash="ok", location="/"),
    case("POST", "/closet/import", 302, kw={"data": not_a_zip, "content_type": MULTI},
         flash="error", location="/", note="not a zip"),
    case("POST", "/closet/import", 413, kw={"data": too_large("archive"), "content_type": MULTI},
         config={"MAX_IMPORT_LENGTH": 4096}),
    case("GET", PAGE_ITEM, 200, "/items/{top}", shows="/api/v1/items/{top}/photo"),
    case("GET", PAGE_ITEM, 404, "/items/{missing}"),
    case("POST", f"{PAGE_ITEM}/tags", 302, "/items/{top}/tags", kw={"data": {"color": "navy"}},
         flash="ok", location="/items/{top}"),
    case("POST", f"{PAGE_ITEM}/tags", 302, "/items/{top}/tags",
         kw={"data": {"semantic_category": "spacesuits"}}, flash="error",
         location="/items/{top}", note="unknown kind"),
    case("POST", f"{PAGE_ITEM}/tags", 404, "/items/{missing}/tags", kw={"data": {"color": "x"}}),
    case("POST", f"{PAGE_ITEM}/wash", 302, "/items/{top}/wash", kw={"data": {"in_wash": "1"}},
         flash="ok", location="/items/{top}"),
    case("POST", f"{PAGE_ITEM}/wash", 404, "/items/{missing}/wash", kw={"data": {"in_wash": "1"}}),
    case("GET", f"{PAGE_ITEM}/delete", 200, "/items/{top}/delete"),
    case("GET", f"{PAGE_ITEM}/delete", 404, "/items/{missing}/delete"),
    case("POST", f"{PAGE_ITEM}/delete", 302, "/items/{top}/delete", flash="ok", location="/"),
    case("POST", f"{PAGE_ITEM}/delete", 404, "/items/{missing}/delete"),
    case("GET", "/wears", 200, "/wears?days=x"),
    case("POST", "/wears", 302, kw={"data": {"items": ["{top}", "{bottom}", "{shoes}"]}},
         flash="ok", location="/wears"),
    case("POST", "/wears", 302, kw={"data": {"items": ["{top}"], "date": "someday"}},
         flash="error", location="/wears", note="not a date"),
    case("POST", "/wears", 404, kw={"data": {"items": ["{missing}"]}}),
    case("POST", "/wears", 400, kw={"data": {"items": ["{top}"]}}, config=CSRF_ON,
         shows="security token", note="csrf"),
    case("POST", "/feedback", 302, kw={"data": {"items": ["{top}", "{bottom}"], "up": "1"}},
         flash="ok", location="/wears"),
    case("POST", "/feedback", 302, kw={"data": {"items": ["{top}"], "up": "1"}}, flash="error",
         location="/wears", note="one item"),
    case("POST", "/feedback", 404, kw={"data": {"items": ["{top}", "{missing}"], "up": "0"}}),
    # the models page
    case("GET", "/models", 200, world="models", shows='data-model="tiny"'),
    case("GET", "/models/<name>", 200, "/models/tiny", world="models",
         shows="/models/tiny/diagnostics/features.png"),
    case("GET", "/models/<name>", 404, "/models/nope", world="models"),
    case("GET", "/models/compare", 200, "/models/compare?m=tiny&m=twin&dataset={ds}",
         world="models", shows='class="model-col"'),
    case("GET", "/models/compare", 302, "/models/compare?m=tiny", world="models", flash="error",
         note="one model"),
    case("GET", "/models/compare", 404, "/models/compare?m=tiny&m=nope", world="models"),
    case("POST", "/models/<name>/activate", 302, "/models/twin/activate", world="models",
         flash="ok", location="/models"),
    case("POST", "/models/<name>/activate", 302, "/models/nope/activate", world="models",
         flash="error", location="/models", note="unknown model"),
    case("GET", "/models/<name>/plots/<dataset_id>/<plot>", 200,
         "/models/tiny/plots/{ds}/roc.png", world="models", mimetype="image/png"),
    case("GET", "/models/<name>/plots/<dataset_id>/<plot>", 404,
         "/models/tiny/plots/{ds}/fitb.png", world="models"),
    case("GET", "/models/<name>/plots/<dataset_id>/<plot>", 422,
         "/models/tiny/plots/nope/roc.png", world="models", note="unknown dataset"),
    case("GET", "/models/<name>/diagnostics/<image>", 200, "/models/tiny/diagnostics/features.png",
         world="models", mimetype="image/png"),
    case("GET", "/models/<name>/diagnostics/<image>", 404, "/models/tiny/diagnostics/model.pt",
         world="models"),
    case("POST", "/models/jobs", 302, send=train_form, world="models", flash="ok",
         location="/models"),
    case("POST", "/models/jobs", 302, kw={"data": {"kind": "explode", "dataset": "{ds}"}},
         world="models", flash="error", location="/models", note="unknown kind"),
    case("POST", "/models/jobs/<job_id>/cancel", 302, "/models/jobs/{job}/cancel",
         world="models", flash="ok", location="/models", note="finished job"),
    case("POST", "/models/jobs/<job_id>/cancel", 302, "/models/jobs/{missing}/cancel",
         world="models", flash="error", location="/models", note="unknown job"),
    # the password
    case("GET", "/login", 302, location="/", note="no password set"),
    case("GET", "/login", 200, config=LOGIN, shows='name="password"'),
    case("POST", "/login", 302, kw={"data": {"password": PASSWORD, "next": "/wears"}},
         config=LOGIN, location="/wears"),
    case("POST", "/login", 401, kw={"data": {"password": "wrong"}}, config=LOGIN,
         shows="That is not the password."),
    case("POST", "/logout", 302, send=log_in_and_out, config=LOGIN, location="/login"),
]

CASES = API_CASES + PAGE_CASES


# ------------------------------------------------------------------------------ the checks


def _openapi_path(rule: str) -> str:
    """``/api/v1/items/<item_id:item_id>`` -> ``/api/v1/items/{item_id}``."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule)


def _operation(spec: dict[str, Any], rule: str, method: str) -> dict[str, Any] | None:
    return spec["paths"].get(_openapi_path(rule), {}).get(method.lower())


@pytest.fixture(scope="module")
def plain_app(tmp_path_factory):
    return create_app({**BASE, "OUTFIT_HOME": tmp_path_factory.mktemp("routes-plain")})


@pytest.fixture(scope="module")
def spec(plain_app) -> dict[str, Any]:
    r = plain_app.test_client().get(OPENAPI_RULE)
    assert r.status_code == 200
    return r.json


def test_every_route_has_a_case(plain_app):
    routes = {(rule.rule, method) for rule in plain_app.url_map.iter_rules()
              if rule.endpoint != "static" for method in rule.methods - {"HEAD", "OPTIONS"}}
    table = {(c.rule, c.method) for c in CASES}
    uncovered = [f"{m} {r}" for r, m in sorted(routes - table)]
    assert not uncovered, "routes without a case in CASES: " + ", ".join(uncovered)
    unknown = [f"{m} {r}" for r, m in sorted(table - routes)]
    assert not unknown, "cases of routes the app does not have: " + ", ".join(unknown)
    assert len({c.id for c in CASES}) == len(CASES), "two cases share an id: add a note"


def test_every_documented_api_error_has_a_case(spec):
    """(The 401 of a server with a password, documented by every operation, has its own test
    below, over every operation.)"""
    documented = {(path, method.upper(), int(status))
                  for path, item in spec["paths"].items()
                  for method, op in item.items() if method in ("get", *WRITES)
                  for status in op["responses"] if status[0] in "45" and status != "401"}
    table = {(_openapi_path(c.rule), c.method, c.status) for c in API_CASES}
    uncovered = [f"{m} {p} {s}" for p, m, s in sorted(documented - table)]
    assert not uncovered, "documented errors without a case in CASES: " + ", ".join(uncovered)


def test_every_api_case_status_is_documented(spec):
    """Statuses the table gets (test_case checks it really does) that the document does not
    declare for the operation: an undocumented error fails here."""
    undocumented = [c.id for c in API_CASES if c.rule != OPENAPI_RULE and str(c.status) not in
                    (_operation(spec, c.rule, c.method) or {}).get("responses", {})]
    assert not undocumented, "statuses the OpenAPI document does not declare: " + ", ".join(
        undocumented)


def test_every_api_write_refuses_a_request_without_its_csrf_token(app_factory, spec):
    """Every POST, PUT, PATCH and DELETE answers 400 csrf_failed without the token, before
    anything else (even for an unknown id), and documents that 400."""
    client = app_factory(**CSRF_ON).test_client()
    undocumented = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in WRITES:
                continue
            r = client.open(re.sub(r"\{\w+\}", MISSING, path), method=method.upper())
            envelope(r, 400, "csrf_failed")
            if "400" not in op["responses"]:
                undocumented.append(f"{method.upper()} {path}")
    assert not undocumented, "writes that do not document the CSRF 400: " + ", ".join(undocumented)


def test_every_api_operation_documents_and_answers_401_behind_a_password(app_factory, spec):
    """On a server with a password, every operation of the document answers 401 unauthorized
    without it (even for an unknown id), and documents that 401 in the error envelope."""
    client = app_factory(**LOGIN).test_client()
    undocumented, operations = [], 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", *WRITES):
                continue
            operations += 1
            r = client.open(re.sub(r"\{\w+\}", MISSING, path), method=method.upper())
            envelope(r, 401, "unauthorized")
            doc = op["responses"].get("401", {})
            if "application/json" not in doc.get("content", {}):
                undocumented.append(f"{method.upper()} {path}")
    assert operations >= 30
    assert not undocumented, "operations that do not document the 401: " + ", ".join(undocumented)


def _flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_case(c: Case, world, spec, caplog):
    w = world(c.world, c.config)
    with caplog.at_level(logging.ERROR):
        r = c.send(w)
    with r:
        adapter = w.app.url_map.bind_to_environ(r.request.environ)
        rule, _args = adapter.match(return_rule=True)
        assert (rule.rule, r.request.method) == (c.rule, c.method), "the request missed its rule"
        if c.api and c.status >= 400:
            envelope(r, c.status, c.code)
        else:
            assert r.status_code == c.status, r.data[:500]
        if c.api and c.rule != OPENAPI_RULE:
            responses = _operation(spec, c.rule, c.method)["responses"]
            assert str(c.status) in responses, f"{c.id}: status not in the OpenAPI document"
            content = responses[str(c.status)].get("content", {})
            assert not content or r.mimetype in content, (r.mimetype, list(content))
        if c.mimetype or not c.api and c.status < 300:
            assert r.mimetype == (c.mimetype or "text/html")
        if not c.api and c.status >= 400:
            assert r.mimetype == "text/html" and b"Traceback" not in r.data
            assert (w.fill(c.shows).encode() if c.shows else ERROR_PAGE) in r.data, r.data[:1000]
        elif c.shows:
            assert w.fill(c.shows).encode() in r.data, r.data[:1000]
        if c.location is not None:
            assert r.headers["Location"] == w.fill(c.location)
        if c.flash is not None:
            flashes = _flashes(w.client)
            assert flashes and flashes[-1][0] == c.flash, flashes
    tracebacks = [rec.getMessage() for rec in caplog.records if rec.exc_info]
    assert not tracebacks, f"an expected error was logged as a crash: {tracebacks}"
