"""Outfit recommendations from the closet, shared by the JSON API (:mod:`webapp.api.recommend`)
and the page (:mod:`webapp.pages.recommend`).

    result = recommend_outfits(services(), k=6, pinned=["a1b2..."], season="winter")

The search runs on the same cached item features as the builder
(:class:`~closet.features.ClosetFeatures`, for the whole closet, once per model), under
the model's run lock. Items in the wash are left out automatically, except those the person
pinned (asking for outfits around an item is asking to wear it). Each outfit gets one sentence
of why, from the attribution of its score (``gxa``: one cheap gradient pass per outfit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from outfit import defaults
from outfit.domain import Closet, Item
from outfit.errors import ItemNotFoundError, OutfitError
from outfit.vocab import FORMALITIES, SEASONS, SLOTS
from usecases.explain_outfit import CLOSET_READS, active_model, closet_items, closet_table
from usecases.services import Services

__all__ = ["recommend_outfits", "DEFAULT_K", "DEFAULT_DIVERSITY", "MAX_K", "MAX_PINNED", "MAX_EXCLUDED",
           "MAX_DIVERSITY", "SEASONS", "OCCASIONS", "REASON_METHOD"]

DEFAULT_K = defaults.RECOMMENDATIONS_SHOWN
MAX_K = 50
MAX_PINNED = 8
MAX_EXCLUDED = 1000
MAX_DIVERSITY = 0.95
DEFAULT_DIVERSITY = defaults.DIVERSITY
OCCASIONS = FORMALITIES  # an occasion asks for items of a formality that suits it
REASON_METHOD = defaults.ATTRIBUTION_METHOD
_NAME = "closet"
_SLOT_ORDER = {s: n for n, s in enumerate(SLOTS)}  # an outfit is shown top to toe


def _check_ids(svc: Services, closet: dict[str, Item], pinned: Sequence[str],
               excluded: Sequence[str]) -> None:
    """404 for an unknown id; 400 for a pinned item without a kind (it fits no slot) and for
    an item both pinned and excluded."""
    for i in (*pinned, *excluded):
        if i not in closet:
            svc.store.get(i)  # ItemNotFoundError (404) for an unknown id
    for i in pinned:
        if i not in closet:
            raise OutfitError(f"item {i} has no kind yet, so it fits no slot of an outfit",
                              hint=f"set its kind on its page (/items/{i})")
    both = [i for i in pinned if i in set(excluded)]
    if both:
        raise OutfitError(f"item(s) both pinned and excluded: {', '.join(both)}",
                          hint="an item cannot be in every outfit and in none")


def _reason(att: Any) -> str:
    """One sentence: what helps the outfit most, else what the attribution says first."""
    from explain.text import reasons, what_helps

    helps = what_helps(att, min_points=0.0)
    if helps is not None:
        return helps
    return (reasons(att, max_sentences=1, min_points=0.0)
            or ["A good match by the model's judgement."])[0]


def recommend_outfits(svc: Services, *, k: int = DEFAULT_K, pinned: Sequence[str] = (),
                      excluded: Sequence[str] = (), season: str | None = None,
                      occasion: str | None = None, reroll: int = 0,
                      diversity: float = DEFAULT_DIVERSITY) -> dict[str, Any]:
    """The ``k`` best outfits of the closet, JSON-ready:
    ``{"recommendations": [{items, score, logit, reason}], "excluded_in_wash": n}`` (the web
    app adds each outfit's link to the builder).

    Raises :class:`~outfit.errors.ItemNotFoundError` (unknown id), :class:`OutfitError`
    (pinned and excluded at once, a pinned item without a kind, pinned items that cannot be
    worn together, a closet that cannot make an outfit: the message says what it lacks) and
    :class:`~outfit.errors.ModelError` (no model)."""
    from explain import attribute
    from recommender import search
    from recommender.problem import NoOutfitError

    pinned = list(dict.fromkeys(pinned))
    excluded = list(dict.fromkeys(excluded))
    model, key = active_model(svc)
    for attempt in range(CLOSET_READS):
        closet, in_wash = closet_items(svc)
        _check_ids(svc, closet, pinned, excluded)
        items = list(closet.values())
        if not items:
            raise OutfitError("the closet has no item with a kind yet, so it cannot make an "
                              "outfit", hint="add photos and give each a kind (a top, a bottom, "
                              "shoes...)")
        try:
            table = closet_table(svc, model, key, items)
            break
        except ItemNotFoundError:  # deleted while its features were computed: read again
            if attempt == CLOSET_READS - 1:
                raise
    wash = sorted(i for i in in_wash if i in closet and i not in pinned and i not in excluded)
    excluded_here = [i for i in excluded if i in closet] + wash
    constraints = {"season": season, "occasion": occasion}
    with svc.model.run_lock:
        try:
            recs = search(Closet.of(items, name=_NAME), model, k=k, pinned=pinned,
                          excluded=excluded_here, constraints=constraints, diversity=diversity,
                          reroll=reroll, features=table)
        except NoOutfitError as exc:  # "closet 'x' cannot ..." -> "Your closet cannot ..."
            raise NoOutfitError(exc.message.replace(f"closet {_NAME!r}", "Your closet", 1),
                                hint=exc.hint) from None
        why = [_reason(attribute(list(r.items), model, REASON_METHOD, features=table))
               for r in recs]
    out = []
    for r, reason in zip(recs, why, strict=True):
        worn = sorted(r.items, key=lambda it: _SLOT_ORDER.get(it.slot, len(_SLOT_ORDER)))
        out.append({"items": [{"id": it.id, "label": it.label, "slot": it.slot} for it in worn],
                    "score": round(float(r.score), 6), "logit": round(float(r.logit), 6),
                    "reason": reason})
    return {"recommendations": out, "excluded_in_wash": len(wash)}
