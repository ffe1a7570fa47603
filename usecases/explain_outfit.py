"""The outfit builder's work, shared by the JSON API (:mod:`webapp.api.explain`) and the page
(:mod:`webapp.pages.builder`): explain a set of closet items with the active model, and draw
the pixel heat map of one of them on its stored photo.

    result = explain_outfit(services(), ["a1b2...", ...], "gxa")   # JSON-ready dict

Item features come from :class:`~closet.features.ClosetFeatures` (once per model);
attributions, suggestions and pixel maps run under the model's run lock (torch uses every
core). Pixel maps are kept for the last few outfits in a small LRU, so showing the maps of
an outfit's items costs one pass, not one per photo.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from closet.features import ClosetFeatures
from closet.records import item_title
from outfit import defaults
from outfit.domain import Item, Outfit
from outfit.errors import ItemNotFoundError, ModelError, OutfitError
from usecases.services import Services

if TYPE_CHECKING:
    from explain.pixels import PixelMaps
    from grader.api import FeatureTable, GraderModel

__all__ = ["DEFAULT_METHOD", "DEFAULT_PIXEL_METHOD", "MAX_ITEMS", "active_model", "closet_items",
           "closet_table", "explain_outfit",
           "heatmap_png", "methods", "pixel_methods", "parse_ids", "closet_features",
           "GROUP_LABELS"]

DEFAULT_METHOD = defaults.ATTRIBUTION_METHOD
DEFAULT_PIXEL_METHOD = defaults.PIXEL_METHOD
MAX_ITEMS = 8  # four main slots' worth, shoes and three accessories
HEATMAP_CACHE = 8
GROUP_LABELS = {"color": "Colour", "shape": "Shape", "pattern": "Pattern", "style": "Style"}
NO_MODEL_HINT = ("train one with `outfit train DATASET --out <instance>/models/NAME` (or run "
                 "`make demo`), then restart the server, or start it with --model FOLDER")




def methods() -> list[str]:
    """The attribution methods' names."""
    from explain import list_methods

    return list_methods()


def pixel_methods() -> list[str]:
    """The pixel methods' names (for the heat maps)."""
    from explain.pixels import list_pixel_methods

    return list_pixel_methods()


def parse_ids(values: Sequence[str]) -> list[str]:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]`` (query strings give either form)."""
    return [p.strip() for v in values for p in str(v).split(",") if p.strip()]


def closet_features(svc: Services) -> ClosetFeatures:
    """The app's feature helper (one per :class:`Services`)."""
    return svc.features


def active_model(svc: Services) -> tuple[GraderModel, str]:
    active = svc.model  # read once: the models page may replace it meanwhile
    model = active.get()
    if model is None or active.key is None:
        if active.path is None:
            raise ModelError("No model is active, so outfits cannot be scored or explained.",
                             hint=NO_MODEL_HINT)
        raise ModelError(active.status(), hint="fix or replace that model folder; "
                         + NO_MODEL_HINT)
    return model, active.key


def closet_items(svc: Services) -> tuple[dict[str, Item], set[str]]:
    """Every item with a kind, named as the pages name it ("navy shirt"), and the ids of those
    in the wash."""
    records = {r.id: r for r in svc.store.list()}
    items = {it.id: replace(it, name=item_title(records[it.id]))
             for it in svc.store.closet(available_only=False) if it.id in records}
    return items, {i for i, r in records.items() if r.in_wash}


def _items(svc: Services, ids: Sequence[str]) -> tuple[list[Item], list[Item], set[str]]:
    """The outfit's items (in the order given), the closet's items (all with a kind) and the
    ids of those in the wash."""
    if not ids:
        raise OutfitError("no items to explain", hint="choose the items of an outfit")
    if len(ids) > MAX_ITEMS:
        raise OutfitError(f"an outfit has at most {MAX_ITEMS} items, got {len(ids)}",
                          hint="one item per main slot, shoes and at most three accessories")
    if len(set(ids)) != len(ids):
        raise OutfitError("an item is listed twice", hint="list each item once")
    closet, in_wash = closet_items(svc)
    items = []
    for i in ids:
        if i not in closet:
            svc.store.get(i)  # ItemNotFoundError (404) for an unknown id
            raise OutfitError(f"item {i} has no kind yet, so it fits no slot of an outfit",
                              hint=f"set its kind on its page (/items/{i})")
        items.append(closet[i])
    return items, list(closet.values()), in_wash


def _check_method(name: str, known: list[str]) -> None:
    if name not in known:
        raise OutfitError(f"unknown method {name!r}", hint="one of: " + ", ".join(known))


CLOSET_READS = 3
"""Reads of the closet when an item is deleted (by another request) while the features of a
newly added one are computed: the closet is read again, and the request goes on without it."""


def closet_table(svc: Services, model: GraderModel, key: str, closet: list[Item]
                 ) -> FeatureTable:
    """The closet's features for ``model`` (computed once per model, kept in the store)."""
    return closet_features(svc).table(model, key, closet, run_lock=svc.model.run_lock)


def explain_outfit(svc: Services, ids: Sequence[str], method: str = DEFAULT_METHOD
                   ) -> dict[str, Any]:
    """Score, attribution, sentences, the best swap of the outfit of items ``ids`` and the
    shopping hint (the colour or pattern of the harmful item that would help most,
    :mod:`explain.counterfactual`).

    Raises :class:`ItemNotFoundError` (unknown id), :class:`OutfitError` (no items, unknown
    method, an item without a kind, items that cannot be worn together) and
    :class:`ModelError` (no model)."""
    from explain import attribute, reasons, suggest
    from explain.attribution import wearable_items
    from explain.counterfactual import property_hints

    ids = list(ids)
    for attempt in range(CLOSET_READS):
        items, closet, in_wash = _items(svc, ids)
        if attempt == 0:
            _check_method(method, methods())
            wearable_items(items)  # the grammar's message before any model work
            model, key = active_model(svc)
        try:
            table = closet_table(svc, model, key, closet)
            break
        except ItemNotFoundError:  # a photo deleted before its features were computed
            if attempt == CLOSET_READS - 1:
                raise
    with svc.model.run_lock:
        att = attribute(items, model, method, features=table)
        suggestion = suggest(items, closet, model, features=table, attribution=att,
                             excluded=sorted(in_wash))
        hints = property_hints(att, model, features=table, closet=closet)
    attribution = att.to_dict()
    attribution["item_blame"] = [_num(v) for v in np.asarray(att.item_blame).tolist()]
    attribution["by_group"] = bool(att.by_group)
    finite = np.abs(att.values[np.isfinite(att.values)])
    attribution["scale"] = float(finite.max()) if finite.size else 0.0
    blame = np.abs(np.asarray(att.item_blame, dtype=float))
    totals = np.abs(att.item_totals)
    attribution["bar_scale"] = float(max(blame.max(initial=0.0), totals.max(initial=0.0)))
    outfit = Outfit(tuple(items))
    return {"score": round(float(att.score), 6), "logit": round(float(att.logit), 6),
            "method": method, "items": [_item(it) for it in items],
            "reads": model.closet_reads, "complete": outfit.complete, "open_slots": list(outfit.open_slots()),
            "attribution": attribution, "reasons": reasons(att),
            "suggestion": {**suggestion.to_dict(), "sentence": suggestion.sentence()},
            "property_hints": hints.to_dict()}


def _num(v: float) -> float | None:
    return round(float(v), 6) if np.isfinite(v) else None


def _item(it: Item) -> dict[str, Any]:
    return {"id": it.id, "label": it.label, "slot": it.slot}


# ------------------------------------------------------------------------------ heat maps

_maps: OrderedDict[tuple[str, tuple[str, ...], str], PixelMaps] = OrderedDict()
_maps_lock = threading.Lock()


def _pixel_maps(svc: Services, ids: Sequence[str], method: str) -> PixelMaps:
    from explain.attribution import wearable_items
    from explain.pixels import pixel_maps

    items = _items(svc, ids)[0]
    _check_method(method, pixel_methods())
    wearable_items(items)
    model, key = active_model(svc)
    if model.closet_reads == "tags":
        raise OutfitError("the active model reads the closet's photos through their tags "
                          "(category, colour, pattern), not their pixels: a pixel map would "
                          "explain a score it did not give",
                          hint="the bars of the explanation say which tag of which item counts; "
                               "a model trained on real photos has pixel maps")
    cache_key = (key, tuple(ids), method)
    with _maps_lock:
        if cache_key in _maps:
            _maps.move_to_end(cache_key)
            return _maps[cache_key]
    table = closet_table(svc, model, key, items)
    with svc.model.run_lock:  # the photos of one outfit are asked for together: one pass
        with _maps_lock:
            cached = _maps.get(cache_key)
        if cached is not None:
            return cached
        maps = pixel_maps(items, model, method, features=table)
    with _maps_lock:
        _maps[cache_key] = maps
        while len(_maps) > HEATMAP_CACHE:
            _maps.popitem(last=False)
    return maps


def heatmap_png(svc: Services, ids: Sequence[str], item_id: str,
                method: str = DEFAULT_PIXEL_METHOD) -> bytes:
    """PNG: item ``item_id``'s stored photo, its size, under the outfit's pixel map (red
    lowers the score, blue raises it; one scale for every item of the outfit)."""
    ids = list(ids)
    if item_id not in ids:
        raise OutfitError(f"item {item_id} is not in this outfit",
                          hint="ask for the heat map of one of: " + ", ".join(ids))
    maps = _pixel_maps(svc, ids, method)
    with Image.open(svc.store.photo_path(item_id)) as im:
        photo = np.asarray(im.convert("RGB"))
    buf = io.BytesIO()  # the map, of the photo padded to a square, is fitted to the photo
    maps.overlay(item_id, photo=photo).save(buf, format="PNG")
    return buf.getvalue()
