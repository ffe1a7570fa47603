"""The outfit builder page: pick items from the closet and read why the outfit scores as it
does (score, per-item bars, the items x feature-groups heat map, sentences, the suggested swap,
the shopping hint (another colour or pattern of the harmful item), the pixel maps on the photos).

``/builder?items=a,b,c&method=gxa`` is explained on the server, so the first load is complete
and the page works without JavaScript (the picker is a GET form, "fix it" a link to the swapped
outfit). ``static/builder.js`` then explains through ``POST /api/v1/explain`` as items are
picked, without reloading.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for

from closet.records import item_title
from outfit.errors import ItemNotFoundError, OutfitError
from outfit.vocab import SLOTS
from usecases.explain_outfit import (
    DEFAULT_METHOD,
    DEFAULT_PIXEL_METHOD,
    GROUP_LABELS,
    explain_outfit,
    methods,
    parse_ids,
    pixel_methods,
)
from webapp.pages.closet import SLOT_LABELS
from webapp.services import services

__all__ = ["bp", "heat_class", "bar", "score_text"]

bp = Blueprint("builder", __name__)

HEAT_STEPS = 5  # colour classes each side of zero (CSS .heat-n5 ... .heat-p5)


@bp.app_template_filter("heat_class")
def heat_class(value: float | None, scale: float) -> str:
    """The CSS class of a heat-map cell: ``heat-n3`` (lowers), ``heat-0``, ``heat-p2`` (raises),
    ``heat-na`` where the method has no value; one ``scale`` for the whole table."""
    if value is None:
        return "heat-na"
    if scale <= 0:
        return "heat-0"
    step = max(-HEAT_STEPS, min(HEAT_STEPS, round(value / scale * HEAT_STEPS)))
    return "heat-0" if step == 0 else f"heat-{'n' if step < 0 else 'p'}{abs(step)}"


@bp.app_template_filter("score")
def score_text(p: float) -> str:
    """A probability as a person reads it: ``73 %``, with a decimal near 0 and 100 %."""
    text = f"{p * 100:.0f}"
    if text in ("0", "100"):
        text = f"{p * 100:.1f}"
    return f"{text} %"


def bar(value: float | None, scale: float, half: float = 100.0) -> dict[str, float]:
    """A diverging bar in an SVG ``2 * half`` wide, zero in the middle: ``x`` and ``width``."""
    v = 0.0 if value is None or scale <= 0 else max(-1.0, min(1.0, value / scale))
    width = abs(v) * half
    return {"x": half - width if v < 0 else half, "width": width}


def _picker(selected: list[str]) -> list[dict[str, Any]]:
    """The closet grouped by slot, for the picker: ``[{slot, label, items: [...]}, ...]``."""
    records = [r for r in services().store.list() if r.slot]
    groups = []
    for slot in SLOTS:
        items = [{"id": r.id, "title": item_title(r), "in_wash": r.in_wash,
                  "checked": r.id in selected} for r in reversed(records) if r.slot == slot]
        if items:
            groups.append({"slot": slot, "label": SLOT_LABELS[slot], "items": items})
    return groups


@bp.get("/builder")
def builder() -> str:
    svc = services()
    ids = list(dict.fromkeys(parse_ids(request.args.getlist("items"))))[:12]
    method = request.args.get("method", DEFAULT_METHOD).strip()[:64] or DEFAULT_METHOD
    result, problem = None, None
    try:
        known = methods()
    except OutfitError as exc:  # pragma: no cover - the methods are built in
        known, problem = [], exc
    if ids:
        try:
            result = explain_outfit(svc, ids, method)
        except (ItemNotFoundError, OutfitError) as exc:
            problem = exc
    swap_url = None
    if result and result["suggestion"]["replacements"]:
        best = result["suggestion"]["replacements"][0]
        swapped = [best["item"] if i == result["suggestion"]["item"] else i for i in ids]
        swap_url = url_for(".builder", items=",".join(i for i in swapped if i), method=method)
    return render_template(
        "builder.html", groups=_picker(ids), selected=ids, method=method, methods=known,
        pixel_methods=pixel_methods(), pixel_default=DEFAULT_PIXEL_METHOD, result=result,
        problem=problem, swap_url=swap_url, group_labels=GROUP_LABELS, bar=bar,
        model_status=svc.model.status(), has_model=svc.model.path is not None)


def with_builder_links(result: dict[str, Any]) -> dict[str, Any]:
    """:func:`~usecases.recommend_outfits.recommend_outfits`'s result with each outfit's link to
    the builder (``builder_url``), as the recommendations page and API show it."""
    for rec in result["recommendations"]:
        rec["builder_url"] = url_for("builder.builder", items=",".join(i["id"] for i in rec["items"]))
    return result
