"""Bad input, fuzzed: hypothesis sends every operation of the OpenAPI document requests that
are wrong in one way each, the rest being valid (unknown and malformed ids, negative and huge
numbers, unknown enum values, wrong types, missing and extra keys, bodies that are not JSON,
malformed, nested past the parser's limit or over the size limit, the wrong method), and checks
that each gets the 4xx of that wrong, in the error envelope, with a sentence (a 422 names the
parameter), and that the closet is as it was. Uploads are fuzzed in :mod:`test_fuzz_uploads`.
The app has the session's tiny model, a dataset and six items, so a request that is right but
for one value reaches as far as that value lets it; starting a job fails the test (a training
job runs for minutes), and no valid job body is ever generated.

Generated cases per run, every one in CI (hypothesis stops early where a test has fewer
distinct cases than ``max_examples``):

- ``test_bad_parameters``: 12 for each of 24 of the document's 33 operations; the 8 without
  parameters have only their wrong methods (3 or 4 each) and ``POST /items`` 8: 326;
- ``test_oversized_bodies``: 25;
- :mod:`test_fuzz_uploads`: 150 + 60 = 210 (and 9 explicit examples);

561 in all: the two modules take 10 s here (25 s on a busy machine), plus the tiny model,
trained once per session in 5 to 20 s.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from fuzz_kit import encode, multipart, new_app, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import fields as ma_fields
from PIL import Image
from web_kit import envelope

import usecases.manage_models as manage_models
from webapp.api import init_api
from webapp.converters import ITEM_ID_PATTERN

SHARED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
TEXT = st.characters(exclude_categories=("Cs",))  # any character a client can send
PLAIN = st.characters(whitelist_categories=("L", "N", "Zs"))
KINDS = ("tops", "tops", "bottoms", "bottoms", "shoes", "shoes")
ITEM_ID = f"^{ITEM_ID_PATTERN}$"
ROUTE_WORDS = frozenset({"unworn", "compare"})  # literal path segments beside a parameter


def _document() -> dict[str, Any]:
    """The OpenAPI document of the API's blueprints (as served at /api/v1/openapi.json)."""
    return init_api(Flask("openapi")).spec.to_dict()


DOC = _document()
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    params: tuple[dict, ...]
    body: dict | None  # the request body's schema
    body_type: str | None  # its media type

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def _resolve(schema: dict) -> dict:
    if "$ref" in schema:
        return DOC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _operations() -> list[Operation]:
    out = []
    for path, item in DOC["paths"].items():
        for method in METHODS:
            if method in item:
                op = item[method]
                content = op.get("requestBody", {}).get("content", {})
                body_type = next(iter(content), None)
                body = _resolve(content[body_type]["schema"]) if body_type else None
                out.append(Operation(method, path, (*item.get("parameters", ()),
                                                    *op.get("parameters", ())), body, body_type))
    return out


OPERATIONS = _operations()


@dataclass(frozen=True)
class Context:
    """What valid values are made of: the closet's items, its model and dataset."""

    app: Flask
    ids: tuple[str, ...]
    dataset: str


def _no_job(*_a: Any, **_k: Any) -> None:
    raise AssertionError("the fuzzer started a job")


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory, tiny_model, tiny_world):
    """An app with the tiny model (as ``tiny``), the tiny world as its dataset and six items
    with kinds; starting a job fails the test."""
    home = tmp_path_factory.mktemp("fuzz-params") / "home"
    shutil.copytree(tiny_model, home / "models" / "tiny")
    app = new_app(home, DATA_ROOTS=[tiny_world])
    client = app.test_client()
    files = [(io.BytesIO(encode(Image.new("RGB", (40 + k, 40), (30 * k, 90, 200)), "JPEG")),
              f"item{k}.jpg") for k in range(len(KINDS))]
    r = client.post("/api/v1/items", data={"photos": files}, content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    ids = tuple(res["item"]["id"] for res in r.json["results"])
    for item_id, kind in zip(ids, KINDS, strict=True):
        assert client.patch(f"/api/v1/items/{item_id}",
                            json={"semantic_category": kind}).status_code == 200
    (dataset,) = client.get("/api/v1/datasets").json["datasets"]
    with pytest.MonkeyPatch.context() as mp:
        for name in ("start_training", "start_evaluation", "start_diagnostics"):
            mp.setattr(manage_models, name, _no_job)
        yield Context(app, ids, dataset["id"])


def _valid(schema: dict, ctx: Context, name: str = "") -> st.SearchStrategy:
    """Values ``schema`` accepts, made of the closet's own ids, model and dataset."""
    schema = _resolve(schema)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "integer":
        return st.integers(schema.get("minimum", -1000), schema.get("maximum", 1000))
    if kind == "number":
        return st.floats(schema.get("minimum", -1e6), schema.get("maximum", 1e6))
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        low, high = schema.get("minItems", 0), schema.get("maxItems", 3)
        return st.lists(_valid(schema["items"], ctx), min_size=low, max_size=min(high, low + 3))
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {k: _valid(v, ctx, k) for k, v in props.items() if k in required},
            optional={k: _valid(v, ctx, k) for k, v in props.items() if k not in required},
        ).filter(bool)  # PATCH /items needs one value at least
    if schema.get("pattern") == ITEM_ID:
        return st.sampled_from(ctx.ids)
    if name == "dataset":
        return st.just(ctx.dataset)
    if name in ("name", "a", "b", "model"):
        return st.just("tiny")
    if name == "items":  # the heat map's comma-separated ids
        return st.lists(st.sampled_from(ctx.ids), min_size=1, max_size=3).map(",".join)
    if schema.get("format") == "date":
        return st.dates().map(str)
    return st.text(PLAIN, min_size=schema.get("minLength", 0),
                   max_size=min(schema.get("maxLength", 20), 20))


def _not_int(s: str) -> bool:
    try:
        int(s)
    except ValueError:
        return True
    return False


def _not_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return True
    return False


def _not_date(s: str) -> bool:
    return not re.fullmatch(r"\d{4}-\d{2}-\d{2}", s)


BOOLEAN_WORDS = {str(v) for v in ma_fields.Boolean.truthy | ma_fields.Boolean.falsy}
WRONG_JSON_TYPES = st.one_of(st.lists(st.integers(), max_size=2), st.dictionaries(
    st.text(max_size=3), st.integers(), max_size=2))


def _invalid(schema: dict, where: str) -> st.SearchStrategy | None:
    """Values ``schema`` refuses, sent in the query string (``where="query"``, as text) or in a
    JSON body; None when there are none (free text in a query)."""
    schema = _resolve(schema)
    kind = schema.get("type")
    query = where == "query"
    bad: list[st.SearchStrategy] = []
    if not schema.get("nullable") and not query:
        bad.append(st.none())
    if "enum" in schema:
        words = {str(v) for v in schema["enum"]}
        bad.append(st.text(TEXT, max_size=20).filter(lambda s: s not in words))
    elif kind in ("integer", "number"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None:
            bad.append(st.integers(max_value=int(low) - 1))  # negative k, -10**30...
        if high is not None:
            bad.append(st.integers(min_value=int(high) + 1))  # huge k, 10**300...
        bad.append(st.text(TEXT, max_size=20).filter(_not_int if kind == "integer" else _not_float))
        if kind == "number" and not query:
            bad.append(st.sampled_from([float("nan"), float("inf"), float("-inf")]))
        if not query:
            bad.append(st.booleans())
    elif kind == "boolean":
        bad.append(st.text(TEXT, max_size=10).filter(lambda s: s not in BOOLEAN_WORDS))
        if not query:
            bad.append(st.integers().filter(lambda n: n not in (0, 1)))
    elif kind == "string":
        if "maxLength" in schema:
            n = schema["maxLength"]
            bad.append(st.integers(n + 1, n + 300).map(lambda m: "x" * m))
        if schema.get("minLength"):
            bad.append(st.just(""))
        if "pattern" in schema:
            bad.append(st.text(TEXT, max_size=30).filter(
                lambda s, p=schema["pattern"]: not re.match(p, s)))  # as the validator reads it
        if schema.get("format") == "date":
            bad.append(st.text(TEXT, max_size=12).filter(_not_date))
            bad.append(st.sampled_from(["2026-02-30", "2026-13-01", "0000-01-01"]))
        if not query:
            bad.append(st.one_of(st.integers(), st.booleans(), WRONG_JSON_TYPES))
    elif kind == "array" and not query:
        items = schema["items"]
        if "maxItems" in schema:
            n = schema["maxItems"]
            bad.append(st.integers(n + 1, n + 5).map(lambda m: ["a" * 12] * m))
        if schema.get("minItems"):
            bad.append(st.integers(0, schema["minItems"] - 1).map(lambda m: ["a" * 12] * m))
        element = _invalid(items, where)
        if element is not None:
            bad.append(st.lists(element, min_size=1, max_size=3))
        bad.append(st.one_of(st.text(TEXT, max_size=12), st.integers(), st.dictionaries(
            st.text(max_size=3), st.integers(), max_size=2)))
    return st.one_of(bad) if bad else None


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    query: dict[str, str]
    data: bytes | None
    content_type: str | None
    fault: str
    name: str | None  # the parameter at fault


# Each fault's status; "deep" is a 400 past the parser's recursion limit, a 422 below it.
EXPECTED = {"path": {404}, "query": {422}, "query_missing": {422}, "body": {422},
            "body_missing": {422}, "body_extra": {422}, "body_type": {422}, "malformed": {400},
            "not_json": {415}, "deep": {400, 422}, "unknown_id": {404}, "no_file": {422},
            "archive_bad": {400}, "method": {405}}
CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
         415: "unsupported_type", 422: "validation_error"}


def _faults(op: Operation) -> list[tuple[str, str | None]]:
    """The ways this operation can be sent wrong, each with the parameter it is about."""
    faults: list[tuple[str, str | None]] = [("path", p["name"]) for p in op.params
                                            if p["in"] == "path"]
    for p in op.params:
        if p["in"] == "query":
            if _invalid(p["schema"], "query") is not None:
                faults.append(("query", p["name"]))
            if p.get("required"):
                faults.append(("query_missing", p["name"]))
    if op.body_type == "application/json":
        props = op.body.get("properties", {})
        faults += [("body", k) for k in props if _invalid(props[k], "json") is not None]
        faults += [("body_missing", k) for k in op.body.get("required", ())]
        faults += [("body_extra", None), ("body_type", None), ("malformed", None),
                   ("not_json", None), ("deep", None)]
        faults += [("unknown_id", k) for k, v in props.items()
                   if v.get("type") == "array" and v["items"].get("pattern") == ITEM_ID]
    elif op.body_type == "multipart/form-data":
        faults.append(("no_file", None))
        if "archive" in op.body.get("properties", {}):
            faults.append(("archive_bad", None))
    if set(METHODS) - set(DOC["paths"][op.path]):
        faults.append(("method", None))
    return faults


def _bad_path_value(name: str, ctx: Context) -> st.SearchStrategy:
    """A value no resource has. Not one with an empty segment ("/x", "a//b"): Werkzeug answers
    those with a 308 to the URL with the slashes merged, a URL and not a value."""
    if name == "item_id":
        unknown = st.from_regex(ITEM_ID, fullmatch=True).filter(lambda s: s not in ctx.ids)
        malformed = st.text(TEXT, min_size=1, max_size=30).filter(
            lambda s: not re.fullmatch(ITEM_ID_PATTERN, s))
        values = st.one_of(unknown, malformed)
    else:
        values = st.text(TEXT, min_size=1, max_size=70).filter(lambda s: s != "tiny")
    return values.filter(lambda s: not re.search(r"^/|/$|//", s))


def _valid_path_value(name: str, ctx: Context) -> st.SearchStrategy:
    return {"item_id": st.sampled_from(ctx.ids), "name": st.just("tiny"),
            "plot": st.just("roc.png"), "job_id": st.just("0123456789ab")}[name]


def _url(draw, op: Operation, fault: str, name: str | None, ctx: Context) -> str:
    url = op.path
    for p in op.params:
        if p["in"] == "path":
            wrong = fault == "path" and p["name"] == name
            value = draw((_bad_path_value if wrong else _valid_path_value)(p["name"], ctx))
            if value in ROUTE_WORDS:  # /items/unworn is another route, not a bad item id
                value = "no-such-" + value
            url = url.replace("{" + p["name"] + "}", quote(value, safe=""))
    return url


def _query(draw, op: Operation, fault: str, name: str | None, ctx: Context) -> dict[str, str]:
    query = {}
    for p in op.params:
        if p["in"] != "query" or (fault == "query_missing" and p["name"] == name):
            continue
        if fault == "query" and p["name"] == name:
            query[p["name"]] = str(draw(_invalid(p["schema"], "query")))
        elif p.get("required") or p["name"] == "item" or draw(st.booleans()):
            # the heat map's item is required by a schema-level check the document lacks
            query[p["name"]] = str(draw(_valid(p["schema"], ctx, p["name"])))
    return query


def _not_json(data: bytes) -> bool:
    try:
        json.loads(data.decode())
    except (ValueError, RecursionError):
        return True
    return False


def _json_body(draw, op: Operation, fault: str, name: str | None,
               ctx: Context) -> tuple[bytes, str | None, str | None]:
    """(body, content type, the parameter at fault) of a JSON operation."""
    schema = op.body
    body = draw(_valid(schema, ctx))
    if fault == "body":
        body[name] = draw(_invalid(schema["properties"][name], "json"))
    elif fault == "body_missing":
        body.pop(name, None)
    elif fault == "body_extra":
        name = draw(st.text(TEXT, min_size=1, max_size=20).filter(
            lambda s: s not in schema["properties"]))
        body[name] = draw(st.one_of(st.none(), st.integers(), st.text(TEXT, max_size=5)))
    elif fault == "body_type":
        body = draw(st.one_of(st.lists(st.integers(), max_size=3), st.text(TEXT, max_size=10),
                              st.integers(), st.floats(allow_nan=False), st.booleans(),
                              st.none()))
    elif fault == "unknown_id":
        unknown = draw(st.from_regex(ITEM_ID, fullmatch=True).filter(lambda s: s not in ctx.ids))
        low = schema["properties"][name].get("minItems", 1)
        body[name] = [*ctx.ids[:max(low - 1, 0)], unknown]
    data = json.dumps(body).encode()
    if fault == "malformed":
        data = draw(st.one_of(st.text(TEXT, min_size=1, max_size=40).map(str.encode),
                              st.binary(min_size=1, max_size=40)).filter(_not_json))
    elif fault == "deep":
        depth = draw(st.integers(1, 20_000))
        data = ("[" * depth + "]" * depth).encode()
        if draw(st.booleans()):
            data = b'{"items": ' + data + b"}"
    elif fault == "not_json":
        content_type = draw(st.sampled_from(["text/plain", "application/x-www-form-urlencoded",
                                             "application/xml", "image/jpeg", None]))
        if content_type == "application/x-www-form-urlencoded":
            data = "&".join(f"{quote(k)}={quote(json.dumps(v))}" for k, v in body.items()).encode()
        return data or b"k=3", content_type, name
    return data, "application/json", name


def _form_body(draw, op: Operation, fault: str) -> tuple[bytes, str]:
    """(body, content type) of a multipart operation: the file under another field's name, or
    an archive that is not one; otherwise an empty file."""
    field = next(iter(op.body["properties"]))
    if fault == "no_file":
        other = draw(st.sampled_from(["photo", "file", "archive", "photos[]", "x"]).filter(
            lambda s: s != field))
        return multipart([("shirt.jpg", encode(Image.new("RGB", (9, 9)), "JPEG"))], other)
    if fault == "archive_bad":
        junk = draw(st.one_of(st.binary(min_size=1, max_size=200), st.sampled_from([
            b"PK\x05\x06" + bytes(18), b"PK\x03\x04" + bytes(40)])))
        return multipart([("closet.zip", junk)], field)
    return multipart([("shirt.jpg", b"")], field)


@st.composite
def bad_calls(draw, op: Operation, ctx: Context) -> Call:
    """A request to ``op`` that is wrong in exactly one way (the rest is valid)."""
    fault, name = draw(st.sampled_from(_faults(op)))
    url, query = _url(draw, op, fault, name, ctx), _query(draw, op, fault, name, ctx)
    data, content_type, method = None, None, op.method.upper()
    if op.body_type == "application/json":
        data, content_type, name = _json_body(draw, op, fault, name, ctx)
    elif op.body_type == "multipart/form-data":
        data, content_type = _form_body(draw, op, fault)
    if fault == "method":
        method = draw(st.sampled_from(sorted(set(METHODS) - set(DOC["paths"][op.path])))).upper()
    return Call(method, url, query, data, content_type, fault, name)


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
@given(draw=st.data())
@settings(max_examples=12, deadline=None, suppress_health_check=SHARED)
def test_bad_parameters(fuzz, op, draw):
    """A request wrong in one way is answered with that way's 4xx, in the envelope, with a
    sentence; a 422 names the parameter; nothing changes."""
    call = draw.draw(bad_calls(op, fuzz), label="call")
    before = snapshot(fuzz.app)
    r = fuzz.app.test_client().open(call.url, method=call.method, query_string=call.query,
                                    data=call.data, content_type=call.content_type)
    assert r.status_code in EXPECTED[call.fault], (r.status_code, r.data[:500])
    error = envelope(r, r.status_code, CODES[r.status_code])
    if r.status_code == 422 and call.fault != "deep" and call.name is not None:
        assert call.name in error["fields"] or "_schema" in error["fields"], error
    assert snapshot(fuzz.app) == before


@pytest.fixture(scope="module")
def small_app(tmp_path_factory):
    """An app that takes requests of at most 2 kB."""
    return new_app(tmp_path_factory.mktemp("fuzz-small") / "home", MAX_CONTENT_LENGTH=2048)


BODY_ROUTES = [("POST", "/api/v1/recommend"), ("POST", "/api/v1/explain"),
               ("POST", "/api/v1/wears"), ("POST", "/api/v1/feedback"), ("POST", "/api/v1/jobs"),
               ("PATCH", "/api/v1/items/aaaaaaaaaaaa"), ("POST", "/api/v1/items")]


@given(route=st.sampled_from(BODY_ROUTES), size=st.integers(2049, 64 * 1024),
       filler=st.sampled_from(["x", "é", "\x00", '"', "\\"]))
@settings(max_examples=25, deadline=None, suppress_health_check=SHARED)
def test_oversized_bodies(small_app, route, size, filler):
    """A body over MAX_CONTENT_LENGTH is a 413 that says the limit, whatever it holds."""
    method, url = route
    before = snapshot(small_app)
    if url.endswith("/items"):
        data, content_type = multipart([("big.jpg", filler.encode() * size)])
    else:
        data, content_type = json.dumps({"items": [filler * size]}).encode(), "application/json"
    r = small_app.test_client().open(url, method=method, data=data, content_type=content_type)
    assert "limit" in envelope(r, 413, "too_large")["message"]
    assert snapshot(small_app) == before


# ----------------------------------------------------------------------------- regressions


def test_json_nested_too_deeply_is_400_not_500(fuzz):
    """RecursionError in webargs' JSON parsing used to reach the 500 handler."""
    for body in ("[" * 100_000 + "]" * 100_000, '{"k": ' + "[" * 50_000 + "]" * 50_000 + "}"):
        r = fuzz.app.test_client().post("/api/v1/recommend", data=body,
                                        content_type="application/json")
        assert "nested too deeply" in envelope(r, 400, "bad_request")["message"]


def test_json_number_too_long_is_400_not_500(fuzz):
    """An integer of more than 4,300 digits: ValueError in json.loads used to be a 500."""
    r = fuzz.app.test_client().post("/api/v1/recommend", data='{"k": ' + "9" * 5000 + "}",
                                    content_type="application/json")
    assert "number" in envelope(r, 400, "bad_request")["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_json_is_415(fuzz, content_type):
    """POST /recommend used to ignore a body sent as a form or text and answer with the
    default outfits, as if nothing had been asked (k, pinned and excluded all dropped)."""
    r = fuzz.app.test_client().post("/api/v1/recommend", data=b"k=1&pinned=x",
                                    content_type=content_type)
    assert "must be JSON" in envelope(r, 415, "unsupported_type")["message"]


def test_no_body_still_means_the_defaults(fuzz):
    r = fuzz.app.test_client().post("/api/v1/recommend")
    assert r.status_code == 200, r.json
    assert len(r.json["recommendations"]) >= 1


def test_a_form_body_is_415_when_the_csrf_check_has_read_it(app_factory, token_of):
    """With CSRF on, Flask-WTF reads the form (looking for its token) before the view, so the
    body is gone by then; its Content-Length still says one was sent."""
    client = app_factory(WTF_CSRF_ENABLED=True).test_client()
    token = token_of(client.get("/").data)
    r = client.post("/api/v1/recommend", data={"k": "1"}, headers={"X-CSRFToken": token})
    assert "must be JSON" in envelope(r, 415, "unsupported_type")["message"]
