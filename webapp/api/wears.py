"""``/api/v1``: the wear log (log an outfit as worn, the recent wears, items unworn for a
while) and the thumbs up and down on outfits, exportable as a Polyvore Outfits dataset that
``outfit train`` fine-tunes a grader on. The work is in :mod:`usecases.wear_log`.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import marshmallow as ma
from flask import Response, send_file
from marshmallow import fields, validate

from usecases.wear_log import (
    DEFAULT_UNWORN_DAYS,
    EXPORT_NAME,
    MAX_OUTFIT_ITEMS,
    add_feedback,
    feedback_zip,
    log_wear,
    wear_rows,
)
from webapp.api.blueprint import ApiBlueprint
from webapp.api.schemas import MAX_LIMIT, ErrorSchema, ItemSchema, JsonBoolean, WholeMatch, item_json
from webapp.converters import ITEM_ID_PATTERN
from webapp.services import services

__all__ = ["blp"]

blp = ApiBlueprint("wears", __name__, url_prefix="/api/v1",
                   description="The wear log and the thumbs up and down on outfits.")

_ID = fields.String(validate=WholeMatch(f"^{ITEM_ID_PATTERN}$", error="not an item id"))
_ITEMS = fields.List(_ID, required=True, validate=validate.Length(min=1, max=MAX_OUTFIT_ITEMS),
                     metadata={"description": "The items of the outfit (ids)"})


class WearRequestSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    items = _ITEMS
    date = fields.Date(load_default=None, allow_none=True, metadata={
        "description": "The day it was worn, YYYY-MM-DD (default today)"})


class WearCreatedSchema(ma.Schema):
    id = fields.String(required=True, metadata={"description": "The wear's id"})
    worn_on = fields.String(required=True, metadata={"description": "YYYY-MM-DD"})
    items = fields.List(fields.String(), required=True, metadata={"description": "Top to toe"})


class WearSchema(ma.Schema):
    id = fields.String(required=True)
    worn_on = fields.String(required=True, metadata={"description": "YYYY-MM-DD"})
    items = fields.List(fields.Nested(ItemSchema), required=True,
                        metadata={"description": "Top to toe"})


class WearListQuery(ma.Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_LIMIT))


class WearListSchema(ma.Schema):
    wears = fields.List(fields.Nested(WearSchema), required=True,
                        metadata={"description": "Latest day first"})
    total = fields.Integer(required=True, metadata={"description": "Wears logged in all"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                         metadata={"description": "Item id -> times worn (every item)"})


class UnwornQuery(ma.Schema):
    days = fields.Integer(load_default=DEFAULT_UNWORN_DAYS,
                          validate=validate.Range(min=0, max=36500),
                          metadata={"description": "Not worn for this many days (an item never "
                                                   "worn counts from the day it was added)"})


class UnwornSchema(ma.Schema):
    days = fields.Integer(required=True)
    items = fields.List(fields.Nested(ItemSchema), required=True,
                        metadata={"description": "Longest unworn first"})


class FeedbackRequestSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    items = fields.List(_ID, required=True,
                        validate=validate.Length(min=2, max=MAX_OUTFIT_ITEMS),
                        metadata={"description": "The outfit's items (two or more)"})
    up = JsonBoolean(required=True, metadata={"description": "true: thumbs up; false: down"})


class FeedbackSchema(ma.Schema):
    id = fields.String(required=True)
    items = fields.List(fields.String(), required=True)
    up = fields.Boolean(required=True)


class FeedbackListSchema(ma.Schema):
    feedback = fields.List(fields.Nested(FeedbackSchema), required=True,
                           metadata={"description": "Oldest first"})


_UNWEARABLE = ("The items cannot be worn together (two in one main slot, a one-piece with a "
               "top or bottom, too many accessories) or one has no kind yet")


@blp.route("/wears", methods=["POST"])
@blp.arguments(WearRequestSchema)
@blp.response(201, WearCreatedSchema, description="The wear was logged")
@blp.alt_response(400, schema=ErrorSchema, description=_UNWEARABLE)
@blp.alt_response(404, schema=ErrorSchema, description="No such item")
@blp.alt_response(422, schema=ErrorSchema, description="Not an item id, or not a date")
def create_wear(body: dict[str, Any]) -> dict[str, Any]:
    """Log an outfit as worn (default today). The items must make a wearable outfit or part
    of one."""
    day: dt.date = body["date"] or dt.date.today()
    wear_id, ids = log_wear(services(), body["items"], day)
    return {"id": wear_id, "worn_on": day.isoformat(), "items": ids}


@blp.route("/wears", methods=["GET"])
@blp.arguments(WearListQuery, location="query")
@blp.response(200, WearListSchema)
@blp.alt_response(422, schema=ErrorSchema, description="limit is out of range")
def list_wears(query: dict[str, Any]) -> dict[str, Any]:
    """The latest wears with their items, and how many times each item was worn."""
    svc = services()
    return {"wears": [{"id": w["id"], "worn_on": w["worn_on"],
                       "items": [item_json(r) for r in w["items"]]}
                      for w in wear_rows(svc, query["limit"])],
            "total": svc.store.wear_total(), "counts": svc.store.wear_counts()}


@blp.route("/items/unworn", methods=["GET"])
@blp.arguments(UnwornQuery, location="query")
@blp.response(200, UnwornSchema)
@blp.alt_response(422, schema=ErrorSchema, description="days is not a whole number in range")
def unworn(query: dict[str, Any]) -> dict[str, Any]:
    """Items not worn for ``days`` days, longest first."""
    days = query["days"]
    return {"days": days, "items": [item_json(r) for r in services().store.unworn_since(days)]}


@blp.route("/feedback", methods=["POST"])
@blp.arguments(FeedbackRequestSchema)
@blp.response(201, FeedbackSchema, description="The judgement was stored")
@blp.alt_response(400, schema=ErrorSchema, description=_UNWEARABLE)
@blp.alt_response(404, schema=ErrorSchema, description="No such item")
@blp.alt_response(422, schema=ErrorSchema, description="Not an item id, or up is missing")
def create_feedback(body: dict[str, Any]) -> dict[str, Any]:
    """A thumbs up or down on an outfit; a later judgement of the same items replaces it."""
    fid = add_feedback(services(), body["items"], body["up"])
    return {"id": fid, "items": list(dict.fromkeys(body["items"])), "up": body["up"]}


@blp.route("/feedback", methods=["GET"])
@blp.response(200, FeedbackListSchema)
def list_feedback() -> dict[str, Any]:
    """Every judgement, oldest first."""
    return {"feedback": [{"id": fb.id, "items": list(fb.item_ids), "up": fb.up}
                         for fb in services().store.feedback()]}


@blp.route("/feedback/export", methods=["GET"])
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/zip",
              description=f"A zip with one folder, {EXPORT_NAME}/, in the Polyvore Outfits "
                          "layout: extract it and run `outfit train --dataset` on the folder")
@blp.alt_response(400, schema=ErrorSchema, description="No outfit has a thumbs up yet")
def export_feedback() -> Response:
    """The thumbs-up outfits (label 1) and thumbs-down ones (label 0) as a Polyvore Outfits
    dataset, split into train and valid, zipped."""
    data, _counts = feedback_zip(services())
    return send_file(io.BytesIO(data), mimetype="application/zip", as_attachment=True,
                     download_name=f"{EXPORT_NAME}.zip", max_age=0)
