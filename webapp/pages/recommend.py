"""The recommend page: the top-k outfits of the closet as cards (photos, score, one line of
why, "open in builder", pin an item), with pin and exclude pickers, season, occasion and k,
and a re-roll for another good set.

``/recommend?pinned=a&excluded=b&season=winter&occasion=&k=6&reroll=0`` is computed on the
server, so the first load is complete and the page works without JavaScript (the form is a
GET form, re-roll a submit button carrying the next number). ``static/recommend.js`` then asks
``POST /api/v1/recommend`` as the form changes, without reloading.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for

from closet.records import item_title
from outfit.errors import OutfitError
from outfit.vocab import SLOTS
from usecases.explain_outfit import parse_ids
from usecases.recommend_outfits import DEFAULT_K, MAX_K, MAX_PINNED, OCCASIONS, SEASONS, recommend_outfits
from usecases.wear_log import feedback_states
from webapp.pages.builder import with_builder_links
from webapp.pages.closet import SLOT_LABELS
from webapp.services import services

__all__ = ["bp"]

bp = Blueprint("recommend_page", __name__)

_MAIN = {"outer", "upper", "lower", "full", "shoes"}  # one item each; accessories may be several


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(int(request.args.get(name, default)), high))
    except ValueError:
        return default


def _form() -> dict[str, Any]:
    """The request's choices, cleaned (a page never fails on a hand-edited address)."""
    pinned = list(dict.fromkeys(parse_ids(request.args.getlist("pinned"))))[:MAX_PINNED]
    excluded = [i for i in dict.fromkeys(parse_ids(request.args.getlist("excluded")))
                if i not in pinned][:1000]
    season = request.args.get("season") or None
    occasion = request.args.get("occasion") or None
    return {"pinned": pinned, "excluded": excluded,
            "season": season if season in SEASONS else None,
            "occasion": occasion if occasion in OCCASIONS else None,
            "k": _int_arg("k", DEFAULT_K, 1, MAX_K), "reroll": _int_arg("reroll", 0, 0, 10**6)}


def _args(form: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Query arguments of the page for ``form`` with ``changes`` (empty values dropped)."""
    merged = {**form, **changes}
    out = {"pinned": ",".join(merged["pinned"]), "excluded": ",".join(merged["excluded"]),
           "season": merged["season"], "occasion": merged["occasion"], "k": merged["k"],
           "reroll": merged["reroll"]}
    return {k: v for k, v in out.items() if v not in (None, "", 0)}


def _groups(form: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The closet grouped by slot for the pickers, and each item's slot."""
    records = [r for r in services().store.list() if r.slot]
    slot_of = {r.id: str(r.slot) for r in records}
    groups = []
    for slot in SLOTS:
        items = [{"id": r.id, "title": item_title(r), "in_wash": r.in_wash,
                  "pinned": r.id in form["pinned"], "excluded": r.id in form["excluded"]}
                 for r in reversed(records) if r.slot == slot]
        if items:
            groups.append({"slot": slot, "label": SLOT_LABELS[slot], "items": items})
    return groups, slot_of


def pin_url(form: dict[str, Any], slot_of: dict[str, str], item_id: str) -> str:
    """The page with ``item_id`` pinned, replacing a pin of the same main slot."""
    slot = slot_of.get(item_id)
    keep = [i for i in form["pinned"]
            if i != item_id and not (slot in _MAIN and slot_of.get(i) == slot)]
    excluded = [i for i in form["excluded"] if i != item_id]
    return url_for(".recommend", **_args(form, pinned=[*keep, item_id], excluded=excluded,
                                         reroll=0))


@bp.get("/recommend")
def recommend() -> str:
    svc = services()
    form = _form()
    groups, slot_of = _groups(form)
    result, problem = None, None
    if groups:
        try:
            result = with_builder_links(recommend_outfits(
                svc, k=form["k"], pinned=form["pinned"], excluded=form["excluded"],
                season=form["season"], occasion=form["occasion"], reroll=form["reroll"]))
        except OutfitError as exc:  # unknown ids, no model, a closet without an outfit
            problem = exc
    return render_template(
        "recommend.html", form=form, groups=groups, result=result, problem=problem,
        seasons=SEASONS, occasions=OCCASIONS, max_k=MAX_K,
        pin_url=lambda i: pin_url(form, slot_of, i),
        reroll_url=url_for(".recommend", **_args(form, reroll=form["reroll"] + 1)),
        model_status=svc.model.status(), has_model=svc.model.path is not None,
        feedback=feedback_states(svc) if result else {}, here=request.full_path)
