"""The JSON API under ``/api/v1``, built with flask-smorest: it validates requests against the
marshmallow schemas of :mod:`webapp.api.schemas` and generates the OpenAPI document
(``/api/v1/openapi.json``). Its own Swagger and ReDoc pages load from CDNs, so they stay off;
``/api/docs`` (:mod:`webapp.api.docs`) renders the document on the server instead, offline.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from webapp.api.schemas import ErrorSchema
from webapp.converters import ITEM_ID_PATTERN, ItemIdConverter

__all__ = ["OutfitApi", "init_api", "API_CONFIG"]

API_CONFIG = {
    "API_TITLE": "Outfit closet API",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {"info": {"description": (
        "The closet of the explainable outfit recommender. Every error is "
        '{"error": {"code", "message", "hint"}}. Writes need the CSRF token of a page '
        "(header X-CSRFToken) and its session cookie. A server with a password answers 401 "
        "without it: log in at /login, or send it by HTTP Basic auth (any user name).")}},
}


class OutfitApi(Api):
    """flask-smorest's Api with the project's error envelope: its schema documents every error
    response, and its own HTTPException handler is not installed (the app's handler in
    :mod:`webapp.errors_http` answers errors for the API and the pages alike)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        pass


def _item_id_schema(_converter: ItemIdConverter) -> dict[str, str]:
    return {"type": "string", "pattern": f"^{ITEM_ID_PATTERN}$"}


def init_api(app: Flask) -> OutfitApi:
    """Register the API's blueprints (and the item id converter, documented as a pattern)."""
    from webapp.api.archive import blp as archive_blp
    from webapp.api.explain import blp as explain_blp
    from webapp.api.items import blp as items_blp
    from webapp.api.models import blp as models_blp
    from webapp.api.recommend import blp as recommend_blp
    from webapp.api.wears import blp as wears_blp

    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    app.url_map.converters["item_id"] = ItemIdConverter
    api = OutfitApi(app)
    api.register_converter(ItemIdConverter, _item_id_schema)
    api.register_blueprint(items_blp)
    api.register_blueprint(explain_blp)
    api.register_blueprint(recommend_blp)
    api.register_blueprint(models_blp)
    api.register_blueprint(wears_blp)
    api.register_blueprint(archive_blp)
    return api
