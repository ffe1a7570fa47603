"""``/api/docs``: the OpenAPI document as a page, rendered on the server.

flask-smorest's Swagger UI and ReDoc pages load their scripts from CDNs, and the app must work
offline, so this page reads the same generated document and lists each path, method,
parameter, request body, response and schema itself. It needs no JavaScript
(``static/api_docs.js`` only adds a filter box).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

__all__ = ["bp", "operations", "schemas"]

bp = Blueprint("api_docs", __name__)

_METHODS = ("get", "post", "put", "patch", "delete")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type(schema: dict[str, Any] | None) -> str:
    """A short description of a JSON schema: ``Item``, ``array of Item``, ``integer 1..200``."""
    if not schema:
        return ""
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    kind = schema.get("type", "object")
    if kind == "array":
        return "array of " + _type(schema.get("items"))
    words = [str(kind)]
    if "format" in schema:
        words.append(f"({schema['format']})")
    if "enum" in schema:
        words.append("one of " + ", ".join(map(str, schema["enum"])))
    if "minimum" in schema or "maximum" in schema:
        words.append(f"{schema.get('minimum', '')}..{schema.get('maximum', '')}")
    if "maxLength" in schema:
        words.append(f"at most {schema['maxLength']} characters")
    if "pattern" in schema:
        words.append(f"matching {schema['pattern']}")
    if schema.get("nullable"):
        words.append("or null")
    return " ".join(words)


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every (path, method) of the document with its parameters, body and responses."""
    out = []
    for path, item in spec.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                       "type": _type(p.get("schema")), "description": p.get("description", "")}
                      for p in [*shared, *op.get("parameters", [])]]
            body = [{"content_type": ct, "type": _type(c.get("schema"))}
                    for ct, c in op.get("requestBody", {}).get("content", {}).items()]
            responses = []
            for code, r in op.get("responses", {}).items():
                if "$ref" in r:
                    r = spec.get("components", {}).get("responses", {}).get(_ref_name(r["$ref"]), {})
                types = [f"{ct}: {_type(c.get('schema'))}" for ct, c in r.get("content", {}).items()]
                responses.append({"code": code, "description": r.get("description", ""),
                                  "types": types})
            out.append({"path": path, "method": method.upper(), "summary": op.get("summary", ""),
                        "description": op.get("description", ""), "parameters": params,
                        "body": body, "responses": responses, "tags": op.get("tags", [])})
    return out


def schemas(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The document's named schemas with their properties."""
    out = []
    for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        props = [{"name": k, "type": _type(v), "required": k in required,
                  "description": v.get("description", "")}
                 for k, v in schema.get("properties", {}).items()]
        out.append({"name": name, "description": schema.get("description", ""),
                    "properties": props})
    return out


@bp.get("/api/docs")
def docs() -> str:
    spec = current_app.extensions["outfit_api"].spec.to_dict()
    return render_template("api_docs.html", info=spec.get("info", {}),
                           openapi=spec.get("openapi", ""), operations=operations(spec),
                           schemas=schemas(spec))
