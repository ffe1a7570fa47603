"""``/api/v1``: outfit recommendations from the closet, with the active model.

``POST /recommend`` finds the top-k outfits (pinned items in every one, excluded and in-wash
items in none, season and occasion, a re-roll for another good set); ``GET
/items/<id>/outfits`` is the same with that item pinned ("outfits for this item"). The work is
in :mod:`usecases.recommend_outfits`.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from usecases.recommend_outfits import (
    DEFAULT_DIVERSITY,
    DEFAULT_K,
    MAX_DIVERSITY,
    MAX_EXCLUDED,
    MAX_K,
    MAX_PINNED,
    OCCASIONS,
    SEASONS,
    recommend_outfits,
)
from webapp.api.blueprint import ApiBlueprint
from webapp.api.explain import OutfitItemSchema
from webapp.api.schemas import ErrorSchema, JsonFloat, JsonInteger, WholeMatch
from webapp.converters import ITEM_ID_PATTERN
from webapp.pages.builder import with_builder_links
from webapp.services import services

__all__ = ["blp", "RecommendRequestSchema", "RecommendationsSchema"]

blp = ApiBlueprint("recommend", __name__, url_prefix="/api/v1",
                   description="Outfit recommendations: top-k outfits of the closet, with a reason.")

_ID = fields.String(validate=WholeMatch(f"^{ITEM_ID_PATTERN}$", error="not an item id"))
_K = fields.Integer(load_default=DEFAULT_K, validate=validate.Range(min=1, max=MAX_K),
                    metadata={"description": "How many outfits"})


class RecommendRequestSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    k = JsonInteger(load_default=DEFAULT_K, validate=validate.Range(min=1, max=MAX_K),
                    metadata={"description": "How many outfits"})
    pinned = fields.List(_ID, load_default=list, validate=validate.Length(max=MAX_PINNED),
                         metadata={"description": "Items in every outfit"})
    excluded = fields.List(_ID, load_default=list, validate=validate.Length(max=MAX_EXCLUDED),
                           metadata={"description": "Items in none (in-wash items are left out "
                                                    "anyway, unless pinned)"})
    season = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(SEASONS), metadata={"enum": list(SEASONS)})
    occasion = fields.String(load_default=None, allow_none=True,
                             validate=validate.OneOf(OCCASIONS),
                             metadata={"enum": list(OCCASIONS)})
    reroll = JsonInteger(load_default=0, validate=validate.Range(min=0, max=10**6), metadata={
        "description": "0: the best set; n >= 1: another good set, the same for the same n"})
    diversity = JsonFloat(load_default=DEFAULT_DIVERSITY,
                             validate=validate.Range(min=0.0, max=MAX_DIVERSITY), metadata={
                                 "description": "0: best scores only; higher: outfits that "
                                                "share fewer items"})


class OutfitsQuery(ma.Schema):
    k = _K


class RecommendationSchema(ma.Schema):
    items = fields.List(fields.Nested(OutfitItemSchema), required=True,
                        metadata={"description": "Top to toe"})
    score = fields.Float(required=True, metadata={"description": "Calibrated probability"})
    logit = fields.Float(required=True)
    reason = fields.String(required=True, metadata={"description": "Why, in one sentence"})
    builder_url = fields.String(required=True, metadata={
        "description": "The outfit in the builder, explained"})


class RecommendationsSchema(ma.Schema):
    recommendations = fields.List(fields.Nested(RecommendationSchema), required=True,
                                  metadata={"description": "Best first"})
    excluded_in_wash = fields.Integer(required=True, metadata={
        "description": "Items left out because they are in the wash"})


_ERRORS_400 = ("Pinned and excluded at once, a pinned item without a kind, pinned items that "
               "cannot be worn together, or a closet that cannot make a complete outfit (the "
               "message says which slots are missing)")


@blp.route("/recommend", methods=["POST"])
@blp.arguments(RecommendRequestSchema)
@blp.response(200, RecommendationsSchema)
@blp.alt_response(400, schema=ErrorSchema, description=_ERRORS_400)
@blp.alt_response(404, schema=ErrorSchema, description="No such item")
@blp.alt_response(422, schema=ErrorSchema, description="A value is out of range or unknown")
@blp.alt_response(503, schema=ErrorSchema, description="No model is active (the hint says how "
                                                        "to train or choose one)")
def recommend(body: dict[str, Any]) -> dict[str, Any]:
    """The top-k outfits of the closet, best first, each with its score, a one-line reason and
    a link to it in the builder. Items in the wash are left out unless pinned."""
    return with_builder_links(recommend_outfits(services(), **body))


@blp.route("/items/<item_id:item_id>/outfits", methods=["GET"])
@blp.arguments(OutfitsQuery, location="query")
@blp.response(200, RecommendationsSchema)
@blp.alt_response(400, schema=ErrorSchema, description=_ERRORS_400)
@blp.alt_response(404, schema=ErrorSchema, description="No such item")
@blp.alt_response(422, schema=ErrorSchema, description="k is out of range")
@blp.alt_response(503, schema=ErrorSchema, description="No model is active")
def item_outfits(query: dict[str, Any], item_id: str) -> dict[str, Any]:
    """Outfits for this item: the top-k outfits with the item pinned."""
    return with_builder_links(recommend_outfits(services(), k=query["k"], pinned=[item_id]))
