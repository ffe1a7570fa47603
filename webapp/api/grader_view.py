"""The JSON shapes of what a grader relies on (:mod:`explain.global_view`): in a model's
diagnostics (``GET /models/{name}/diagnostics``) and, per feature group, in the comparison of
two models (``GET /models/compare``)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

__all__ = ["GraderViewSchema", "CompareGroupSchema"]


class GroupRelianceSchema(ma.Schema):
    group = fields.String(required=True, metadata={"description": "color, shape, pattern, style"})
    word = fields.String(required=True, metadata={"description": "The group, in words"})
    mean_abs = fields.Float(required=True, metadata={
        "description": "Mean |gradient x activation| of the group per worn item (logit points)"})
    share = fields.Float(required=True, metadata={"description": "Its part of the groups' sum"})


class SlotRelianceSchema(ma.Schema):
    slot = fields.String(required=True)
    items = fields.Integer(required=True, metadata={"description": "Items of this slot seen"})
    mean_abs = fields.Float(allow_none=True, metadata={"description": "Mean |gxa| item total"})
    groups = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True),
                         metadata={"description": "Mean |gxa| per group"})


class SlotPairSchema(ma.Schema):
    a = fields.String(required=True)
    b = fields.String(required=True)
    pairs = fields.Integer(required=True, metadata={"description": "Item pairs seen"})
    interaction = fields.Float(allow_none=True, metadata={"description": (
        "Mean |f(S) - f(S-i) - f(S-j) + f(S-i-j)|: how much the grader judges the two together")})
    removal = fields.Float(allow_none=True, metadata={"description": "Mean |f(S) - f(S-i-j)|"})


class GraderViewSchema(ma.Schema):
    method = fields.String(required=True, metadata={"description": "gxa"})
    outfits = fields.Integer(required=True, metadata={"description": "Outfits looked at"})
    items = fields.Integer(required=True, metadata={"description": "Items worn in them"})
    seed = fields.Integer(required=True)
    max_outfits = fields.Integer(required=True)
    mean_logit = fields.Float(allow_none=True)
    pair_measure = fields.String(required=True)
    groups = fields.List(fields.Nested(GroupRelianceSchema), required=True)
    slots = fields.List(fields.Nested(SlotRelianceSchema), required=True)
    pairs = fields.List(fields.Nested(SlotPairSchema), required=True)


class CompareGroupSchema(ma.Schema):
    group = fields.String(required=True)
    word = fields.String(required=True)
    a = fields.Float(allow_none=True, metadata={"description": "a's mean |gxa| per item"})
    b = fields.Float(allow_none=True, metadata={"description": "b's mean |gxa| per item"})
    share_a = fields.Float(allow_none=True)
    share_b = fields.Float(allow_none=True)
    delta = fields.Float(allow_none=True, metadata={"description": "share_b - share_a"})
