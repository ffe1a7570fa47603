"""``/api/v1``: why an outfit scores as it does, with the active model.

``POST /explain`` scores a set of closet items, splits the score over the items and their
feature groups, says it in sentences and suggests the swap that would help most and the colour or pattern
of the harmful item that would (a shopping hint);
``GET /explain/heatmap`` draws one item's pixel map on its photo; ``GET /methods`` lists the
methods. The work is in :mod:`usecases.explain_outfit`.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from marshmallow import fields, validate

from usecases.explain_outfit import (
    DEFAULT_METHOD,
    DEFAULT_PIXEL_METHOD,
    MAX_ITEMS,
    explain_outfit,
    heatmap_png,
    methods,
    parse_ids,
    pixel_methods,
)
from webapp.api.blueprint import ApiBlueprint
from webapp.api.schemas import ErrorSchema, WholeMatch
from webapp.converters import ITEM_ID_PATTERN
from webapp.services import services

__all__ = ["blp"]

blp = ApiBlueprint("explain", __name__, url_prefix="/api/v1",
                   description="Scores of outfits and why: attributions, sentences, swaps, "
                               "shopping hints, heat maps.")

_ID = fields.String(validate=WholeMatch(f"^{ITEM_ID_PATTERN}$", error="not an item id"))
_OPT_NUM = {"allow_none": True}


class ExplainRequestSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    items = fields.List(_ID, required=True, validate=validate.Length(min=1, max=MAX_ITEMS),
                        metadata={"description": "The outfit's item ids"})
    method = fields.String(load_default=DEFAULT_METHOD, validate=validate.Length(max=64),
                           metadata={"description": "An attribution method (GET /methods)"})


class OutfitItemSchema(ma.Schema):
    id = fields.String(required=True)
    label = fields.String(required=True)
    slot = fields.String(required=True)


class ClashSchema(ma.Schema):
    """Two items that pull the score down together (explain.clash)."""

    items = fields.List(fields.Integer(), required=True, metadata={
        "description": "Indices into the outfit's items: the most harmful one, then its partner"})
    group = fields.Integer(allow_none=True, metadata={
        "description": "Index into groups (null: whole items)"})
    values = fields.List(fields.Float(), metadata={"description": "Their attributions"})
    gains = fields.List(fields.Float(), metadata={
        "description": "Logit points gained by setting the first's, the second's and both "
                       "groups to their category mean"})


class AttributionSchema(ma.Schema):
    """The outfit's logit split over items x feature groups, in logit points."""

    method = fields.String(required=True)
    items = fields.List(fields.String(), required=True)
    labels = fields.List(fields.String())
    groups = fields.List(fields.String(), required=True)
    values = fields.List(fields.List(fields.Float(**_OPT_NUM)), required=True, metadata={
        "description": "items x groups (null where the method attributes whole items only)"})
    item_totals = fields.List(fields.Float(**_OPT_NUM), required=True)
    item_blame = fields.List(fields.Float(**_OPT_NUM), metadata={
        "description": "Per item: its most harmful group's value (else its total)"})
    by_group = fields.Boolean()
    scale = fields.Float(metadata={"description": "Largest |value| of the table"})
    bar_scale = fields.Float(metadata={"description": "Largest |blame| or |total|"})
    logit = fields.Float(**_OPT_NUM)
    score = fields.Float(**_OPT_NUM)
    baseline = fields.String()
    reference_logit = fields.Float(**_OPT_NUM)
    completeness_error = fields.Float(**_OPT_NUM)
    reference_source = fields.String()
    options = fields.Dict()
    clash = fields.Nested(ClashSchema, allow_none=True, metadata={
        "description": "Two items that clash, when the most harmful shares its blame"})


class ReplacementSchema(ma.Schema):
    item = fields.String(allow_none=True, metadata={"description": "null: take the item off"})
    label = fields.String()
    score = fields.Float()
    logit = fields.Float()
    gain = fields.Float(metadata={"description": "Logit points gained"})


class SuggestionSchema(ma.Schema):
    item = fields.String(required=True, metadata={"description": "The item that hurts most"})
    label = fields.String()
    score = fields.Float()
    logit = fields.Float()
    method = fields.String()
    replacements = fields.List(fields.Nested(ReplacementSchema), required=True)
    clash = fields.String(allow_none=True, metadata={
        "description": "The item the suggested one clashes with (both were tried; changing "
                       "this one helps less)"})
    sentence = fields.String(required=True)


class PropertyHintSchema(ma.Schema):
    """The harmful item in another colour or pattern of the vocabulary, graded."""

    item = fields.String(required=True)
    label = fields.String()
    index = fields.Integer(metadata={"description": "Index into the outfit's items"})
    group = fields.String(required=True, metadata={"description": "'color' or 'pattern'"})
    old = fields.String(allow_none=True, metadata={
        "description": "The item's value: its tag, else the value its features are nearest to "
                       "(null when neither is known)"})
    old_tagged = fields.Boolean(metadata={"description": "Whether old is the item's tag"})
    new = fields.String(required=True, metadata={"description": "The value to buy instead"})
    before = fields.Float(metadata={"description": "The outfit's score as it is"})
    score = fields.Float(required=True, metadata={"description": "The score with the change"})
    logit = fields.Float()
    gain = fields.Float(metadata={"description": "score - before"})
    sentence = fields.String(required=True)


class PropertyHintsSchema(ma.Schema):
    """What would fix the outfit when the closet has no fix: a shopping hint."""

    score = fields.Float()
    logit = fields.Float()
    hints = fields.List(fields.Nested(PropertyHintSchema), required=True, metadata={
        "description": "Best first; empty when no change raises the score by 2 points or more"})
    tried = fields.List(fields.String(), metadata={
        "description": "The items whose colour and pattern were changed (the harmful one, and "
                       "its clash partner)"})
    source = fields.String(metadata={
        "description": "Where the typical colours and patterns come from ('training items', "
                       "\"the closet's tagged items\")"})
    reason = fields.String(allow_none=True, metadata={
        "description": "Why no change could be tried (null when they were)"})
    sentence = fields.String(required=True)


class ExplanationSchema(ma.Schema):
    score = fields.Float(required=True, metadata={"description": "Calibrated probability"})
    logit = fields.Float(required=True)
    method = fields.String(required=True)
    items = fields.List(fields.Nested(OutfitItemSchema), required=True)
    reads = fields.String(required=True, metadata={
        "description": "How the active model read the photos: 'tags' (a model trained on "
                       "drawings reads each item's category, colour and pattern; no pixel maps) "
                       "or 'pixels'"})
    complete = fields.Boolean(required=True, metadata={
        "description": "A main shape (top and bottom, or a one-piece, with or without outerwear) "
                       "and shoes"})
    open_slots = fields.List(fields.String(), required=True, metadata={
        "description": "Slots one more item could fill"})
    attribution = fields.Nested(AttributionSchema, required=True)
    reasons = fields.List(fields.String(), required=True)
    suggestion = fields.Nested(SuggestionSchema, required=True)
    property_hints = fields.Nested(PropertyHintsSchema, required=True, metadata={
        "description": "The harmful item in the colour or pattern that would help most"})


class MethodsSchema(ma.Schema):
    methods = fields.List(fields.String(), required=True)
    default = fields.String(required=True)
    pixel_methods = fields.List(fields.String(), required=True)
    pixel_default = fields.String(required=True)


class HeatmapQuery(ma.Schema):
    items = fields.String(required=True, validate=validate.Length(min=1, max=13 * MAX_ITEMS),
                          metadata={"description": "The outfit's item ids, comma-separated"})
    item = _ID
    method = fields.String(load_default=DEFAULT_PIXEL_METHOD, validate=validate.Length(max=64))

    @ma.validates_schema
    def _item_given(self, data: dict[str, Any], **_: Any) -> None:
        if "item" not in data:
            raise ma.ValidationError("give the item whose heat map to draw", "item")


@blp.route("/methods")
@blp.response(200, MethodsSchema)
def list_methods() -> dict[str, Any]:
    """The attribution methods (for POST /explain) and the pixel methods (for the heat maps)."""
    return {"methods": methods(), "default": DEFAULT_METHOD, "pixel_methods": pixel_methods(),
            "pixel_default": DEFAULT_PIXEL_METHOD}


@blp.route("/explain", methods=["POST"])
@blp.arguments(ExplainRequestSchema)
@blp.response(200, ExplanationSchema)
@blp.alt_response(400, schema=ErrorSchema, description=(
    "The items cannot be worn together (the grammar says why), an item has no kind, or the "
    "method is unknown (the hint lists the known ones)"))
@blp.alt_response(404, schema=ErrorSchema, description="No such item")
@blp.alt_response(422, schema=ErrorSchema, description="No items, or a malformed id")
@blp.alt_response(503, schema=ErrorSchema, description="No model is active (the hint says how "
                                                        "to train or choose one)")
def explain(body: dict[str, Any]) -> dict[str, Any]:
    """Score an outfit and say why: attribution over items x feature groups, sentences, and
    the swap from the closet that would help most (items in the wash are not offered), and the
    colour or pattern of the harmful item that would help most (a shopping hint)."""
    return explain_outfit(services(), body["items"], body["method"])


@blp.route("/explain/heatmap", methods=["GET"])
@blp.arguments(HeatmapQuery, location="query")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="image/png")
@blp.alt_response(400, schema=ErrorSchema, description=(
    "The item is not in the outfit, the items cannot be worn together, or the method is unknown"))
@blp.alt_response(404, schema=ErrorSchema, description="No such item")
@blp.alt_response(503, schema=ErrorSchema, description="No model is active")
def heatmap(query: dict[str, Any]) -> Response:
    """One item's photo (its own size) under the outfit's pixel map: red where the pixels lower
    the score, blue where they raise it, on one scale for every item of the outfit."""
    png = heatmap_png(services(), parse_ids([query["items"]]), query["item"], query["method"])
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
