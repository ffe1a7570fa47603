"""schemathesis against the OpenAPI document (/api/v1/openapi.json), in process through the
WSGI app: for every operation, generated requests (valid and not, and the other HTTP methods)
get an answer that is not a server error and whose status, content type, headers and body are
the ones the document declares.

Written against schemathesis 4.32. Its ``pytest.from_fixture`` loader sets ``Node._nodeid``,
which pytest 9 no longer has, so the schema is loaded once at import with ``from_dict`` from
the blueprints on a bare Flask app (no closet is built while tests are collected;
:func:`test_the_document_is_the_one_served` checks it is the document served), and each call
goes to the test's own app (``call_and_validate(app=...)``). Nothing it imports warns, so no
warning filter is needed under ``filterwarnings = error``.

One app serves the module: the session's tiny model and six items, whose kinds are set again
and who leave the wash before each operation (PATCH calls change them). A generated item id
that is well formed is replaced by one of theirs (chosen from the generated value, so a failing
case replays), so the success paths of explain, recommend, photos, wears and feedback are
reached and not only their 404s; DELETE keeps the generated id (a real one would take the item
from the calls after it). Left out: ``POST /api/v1/jobs``, whose valid bodies start a real
training process that runs for minutes (its invalid bodies are fuzzed in :mod:`test_fuzz`).

12 examples per operation and phase (explicit examples, coverage, fuzzing): about 1,000
requests over the 32 operations, 10 to 30 s here (the tiny model aside).
"""

from __future__ import annotations

import io
import json
import re

import pytest
import schemathesis
from flask import Flask
from fuzz_kit import encode, new_app
from hypothesis import HealthCheck, settings
from PIL import Image
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from webapp.api import init_api
from webapp.converters import ITEM_ID_PATTERN

MULTI = "multipart/form-data"
KINDS = ("tops", "tops", "bottoms", "bottoms", "shoes", "shoes")
EXAMPLES_PER_OPERATION = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
_ID_RE = re.compile(f"{ITEM_ID_PATTERN}")


@pytest.fixture(scope="module")
def closet(tmp_path_factory, tiny_model):
    """One app for the module (the tiny model, six items with kinds): (app, item ids)."""
    app = new_app(tmp_path_factory.mktemp("schemathesis") / "home", MODEL=tiny_model)
    client = app.test_client()
    files = [(io.BytesIO(encode(Image.new("RGB", (48 + 4 * k, 48), (40 * k, 120, 90)), "JPEG")),
              f"item{k}.jpg") for k in range(len(KINDS))]
    r = client.post("/api/v1/items", data={"photos": files}, content_type=MULTI)
    assert r.status_code == 201, r.json
    return app, [res["item"]["id"] for res in r.json["results"]]


@pytest.fixture
def closet_ids(closet) -> list[str]:
    """The items, their kinds set again and none in the wash (an operation before may have
    changed them)."""
    app, ids = closet
    client = app.test_client()
    for item_id, kind in zip(ids, KINDS, strict=True):
        r = client.patch(f"/api/v1/items/{item_id}", json={"semantic_category": kind,
                                                          "in_wash": False})
        assert r.status_code == 200, r.json
    return ids


def _document() -> dict:
    """The OpenAPI document of the API's blueprints on a bare Flask app: collection builds no
    closet (:func:`test_the_document_is_the_one_served` checks it is the one served)."""
    return init_api(Flask("openapi")).spec.to_dict()


schema = schemathesis.openapi.from_dict(_document()).exclude(method="POST", path="/api/v1/jobs")


def _real(value: object, ids: list[str]) -> object:
    """A well-formed id becomes one of ``ids`` (the same one for the same value)."""
    if isinstance(value, str) and _ID_RE.fullmatch(value):
        return ids[int(value, 36) % len(ids)]
    return value


def _use_real_ids(case, ids: list[str]) -> None:
    if case.path_parameters and case.method.upper() != "DELETE":
        case.path_parameters = {k: _real(v, ids) for k, v in case.path_parameters.items()}
    if isinstance(case.body, dict):
        case.body = {k: [_real(v, ids) for v in val] if isinstance(val, list) else val
                     for k, val in case.body.items()}
    if case.query:
        query = dict(case.query)
        if "item" in query:
            query["item"] = _real(query["item"], ids)
        if isinstance(query.get("items"), str):
            outfit = [str(_real(v, ids)) for v in query["items"].split(",")]
            if query.get("item") in ids and query["item"] not in outfit:
                outfit.append(query["item"])  # the heat map's item is one of its outfit's
            query["items"] = ",".join(outfit)
        case.query = query


def test_the_document_is_the_one_served(client):
    assert client.get("/api/v1/openapi.json").json == json.loads(json.dumps(_document()))


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_every_response_conforms_to_the_document(case, closet, closet_ids):
    _use_real_ids(case, closet_ids)
    # buffered: Werkzeug closes the response, so a photo's file is not left open (schemathesis
    # reads the body but never closes it: a ResourceWarning, an error here)
    case.call_and_validate(app=closet[0], checks=CHECKS, buffered=True)


@pytest.mark.parametrize("files", [
    [(b"<!DOCTYPE html><html></html>", "shirt.jpg")],
    [(b"", "a.jpg"), (b"GIF89a", "b.png")],
], ids=["one-bad-file", "two-bad-files"])
def test_a_failed_upload_matches_its_documented_schema(client, files):
    """The 400 of an upload carries each file's result beside the envelope; the document
    declared the bare envelope (additionalProperties false), so every such answer broke it."""
    data = {"photos": [(io.BytesIO(body), name) for body, name in files]}
    r = client.post("/api/v1/items", data=data, content_type=MULTI)
    assert r.status_code == 400 and len(r.json["results"]) == len(files)
    assert schema["/api/v1/items"]["POST"].is_valid_response(r)


def test_a_duplicate_upload_matches_its_documented_schema(client, photo):
    data = photo()
    for status in (201, 409):
        r = client.post("/api/v1/items", data={"photos": [(io.BytesIO(data), "p.jpg")]},
                        content_type=MULTI)
        assert r.status_code == status
        assert schema["/api/v1/items"]["POST"].is_valid_response(r)
