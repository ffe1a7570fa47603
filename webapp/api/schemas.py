"""The JSON API's shapes (marshmallow): what each endpoint reads and writes. flask-smorest turns
them into the OpenAPI document and webargs validates requests against them (422 on a bad one,
in the error envelope of :mod:`webapp.errors_http`)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import url_for
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from closet.records import ItemRecord
from outfit.vocab import FORMALITIES, SEASONS, SEMANTIC_CATEGORIES, SLOTS

__all__ = ["JsonInteger", "JsonFloat", "JsonBoolean", "WholeMatch",
           "ErrorSchema", "ErrorBodySchema", "ItemSchema", "ItemListQuery", "ItemListSchema",
           "ItemPatchSchema", "UploadFilesSchema", "UploadResultSchema", "UploadListSchema",
           "UploadFailedSchema",
           "ModelStatusSchema", "HealthSchema", "item_json", "MAX_LIMIT"]

MAX_LIMIT = 200
_TAG = validate.Length(max=64)
_SEASON, _FORMALITY = validate.OneOf(SEASONS), validate.OneOf(FORMALITIES)
_SEASON_DOC = {"description": "The season the item is worn in (null: unknown); the "
                              "recommender's season filter reads it"}
_FORMALITY_DOC = {"description": "How formal the item is (null: unknown); the recommender's "
                                 "occasion filter reads it"}


class WholeMatch(validate.Regexp):
    """:class:`marshmallow.validate.Regexp` on the whole value: marshmallow's uses ``re.match``,
    where ``$`` accepts a trailing newline (``"tiny\\n"`` would pass ``^[a-z]+$``). The pattern
    is shown as it is in the OpenAPI document."""

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


class JsonInteger(fields.Integer):
    """An integer of a JSON body, written as a JSON integer: ``1.5``, ``"5"`` and ``true`` are
    refused with a sentence instead of being truncated or converted."""

    default_error_messages = {"invalid": "Must be a whole number written as a JSON number "
                                         "(like 5), not a string, a fraction or true/false."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class JsonFloat(fields.Float):
    """A number of a JSON body, written as a JSON number (``"0.5"`` and ``true`` are refused)."""

    default_error_messages = {"invalid": "Must be a number written as a JSON number (like 0.5), "
                                         "not a string or true/false."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class JsonBoolean(fields.Boolean):
    """A boolean of a JSON body: only ``true`` or ``false`` ("yes", 1 and "on" are refused)."""

    default_error_messages = {"invalid": "Must be true or false (JSON booleans)."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class ErrorBodySchema(ma.Schema):
    code = fields.String(required=True, metadata={"description": "Machine-readable kind of error",
                                                  "example": "not_found"})
    message = fields.String(required=True, metadata={"description": "What is wrong, in a sentence"})
    hint = fields.String(required=True, metadata={"description": "What to do about it (may be empty)"})
    fields_ = fields.Dict(data_key="fields", metadata={
        "description": "Validation errors: parameter -> messages (422 only)"})
    existing_id = fields.String(metadata={"description": "The item holding the same photo (409)"})


class ErrorSchema(ma.Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class ItemSchema(ma.Schema):
    """An item of the closet with its tags; each tag's confidence is None when set by hand."""

    id = fields.String(required=True)
    name = fields.String()
    original_name = fields.String(metadata={"description": "The uploaded file's name (data only)"})
    slot = fields.String(allow_none=True, metadata={"enum": list(SLOTS)})
    semantic_category = fields.String(allow_none=True)
    semantic_category_confidence = fields.Float(allow_none=True)
    semantic_category_edited = fields.Boolean()
    category = fields.String(allow_none=True)
    category_confidence = fields.Float(allow_none=True)
    category_edited = fields.Boolean()
    color = fields.String(allow_none=True)
    color_confidence = fields.Float(allow_none=True)
    color_edited = fields.Boolean()
    pattern = fields.String(allow_none=True)
    pattern_confidence = fields.Float(allow_none=True)
    pattern_edited = fields.Boolean()
    season = fields.String(allow_none=True, validate=_SEASON, metadata=_SEASON_DOC)
    formality = fields.String(allow_none=True, validate=_FORMALITY, metadata=_FORMALITY_DOC)
    in_wash = fields.Boolean()
    width = fields.Integer(metadata={"description": "Stored photo width, px"})
    height = fields.Integer(metadata={"description": "Stored photo height, px"})
    sha256 = fields.String()
    source_sha256 = fields.String()
    created_at = fields.String()
    updated_at = fields.String()
    photo_url = fields.String()
    thumb_url = fields.String()


def item_json(record: ItemRecord) -> dict[str, Any]:
    """An item as the API and the pages' scripts see it (with its photo addresses)."""
    out = record.to_dict()
    out["photo_url"] = url_for("items.item_photo", item_id=record.id)
    out["thumb_url"] = url_for("items.item_thumb", item_id=record.id)
    return out


class ItemListQuery(ma.Schema):
    slot = fields.String(validate=validate.OneOf(SLOTS))
    color = fields.String(validate=_TAG)
    pattern = fields.String(validate=_TAG)
    available = fields.Boolean(metadata={"description": "true: not in the wash; false: in the wash"})
    q = fields.String(validate=validate.Length(max=200),
                      metadata={"description": "Words that must all appear in the item's tags or names"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**9))


class ItemListSchema(ma.Schema):
    items = fields.List(fields.Nested(ItemSchema), required=True)
    total = fields.Integer(required=True, metadata={"description": "Items matching, all pages"})
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


class ItemPatchSchema(ma.Schema):
    """Tags set by hand (null clears one) and the in-the-wash flag; at least one of them."""

    class Meta:
        unknown = ma.RAISE

    name = fields.String(validate=validate.Length(max=200))
    semantic_category = fields.String(allow_none=True, validate=validate.OneOf(SEMANTIC_CATEGORIES))
    category = fields.String(allow_none=True, validate=_TAG)
    color = fields.String(allow_none=True, validate=_TAG)
    pattern = fields.String(allow_none=True, validate=_TAG)
    season = fields.String(allow_none=True, validate=_SEASON, metadata=_SEASON_DOC)
    formality = fields.String(allow_none=True, validate=_FORMALITY, metadata=_FORMALITY_DOC)
    in_wash = JsonBoolean()

    @ma.validates_schema
    def _not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ma.ValidationError("give at least one of: name, semantic_category, category, "
                                     "color, pattern, season, formality, in_wash")


class UploadFilesSchema(ma.Schema):
    photos = fields.List(Upload(), required=True,
                         metadata={"description": "One or more JPEG, PNG or WebP photos"})


class UploadResultSchema(ma.Schema):
    file = fields.String(required=True, metadata={"description": "The file's name as sent"})
    ok = fields.Boolean(required=True)
    item = fields.Nested(ItemSchema, metadata={"description": "The new item (ok only)"})
    tagging = fields.String(metadata={"description": "'tagged', or why the photo was not"})
    error = fields.Nested(ErrorBodySchema, metadata={"description": "Why the file was refused"})


class UploadListSchema(ma.Schema):
    results = fields.List(fields.Nested(UploadResultSchema), required=True)
    created = fields.Integer(required=True)
    failed = fields.Integer(required=True)


class UploadFailedSchema(ErrorSchema):
    """No file was added: the error envelope, and beside it each file's result (absent when
    the request was refused before any file was read)."""

    results = fields.List(fields.Nested(UploadResultSchema))
    created = fields.Integer()
    failed = fields.Integer()


class ModelStatusSchema(ma.Schema):
    path = fields.String(allow_none=True)
    loaded = fields.Boolean()
    error = fields.String(allow_none=True)
    status = fields.String()


class HealthSchema(ma.Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    items = fields.Integer(required=True)
    model = fields.Nested(ModelStatusSchema, required=True)
