"""``search``: the best outfits of a closet, graded by a model.

    from recommender import search
    recs = search(closet, model, k=10, pinned=["jeans-1"], excluded=["shirt-3"])
    for r in recs:
        print(r.score, [it.label for it in r.items])

Features are computed once per closet and model (:func:`recommender.scoring.feature_table`).
Each strategy returns a pool of complete outfits; the top ``k`` are then chosen to differ from
each other (maximal marginal relevance, Carbonell & Goldstein 1998: each next pick maximises
``(1 - diversity) * score - diversity * overlap`` with the outfits already picked, overlap being
the Jaccard similarity of the item sets), optionally with at most ``max_shared`` items shared
between any two. ``reroll=n`` (n >= 1) draws another good set, the same for the same n.
"""

from __future__ import annotations

import math
import random
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.api import FeatureTable, GraderModel
from outfit import defaults
from outfit.domain import Closet, Item
from outfit.errors import OutfitError

from .problem import Constraints, SearchProblem
from .retrieval import SHORTLIST_THRESHOLD, SlotIndex, complement_rows
from .scoring import ClosetScorer, closet_scorer
from .strategies import Candidate, Shortlist, check_strategy_options, get_strategy, strategy_options

__all__ = ["Recommendation", "Complement", "search", "complements", "select_diverse", "slot_index"]


@dataclass(frozen=True)
class Recommendation:
    """One recommended outfit: its items (in the order the search added them), the calibrated
    score (a probability), the raw logit, and the ids in build order."""

    items: tuple[Item, ...]
    score: float
    logit: float
    build_order: tuple[str, ...] = field(default=())

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(it.id for it in self.items)

    def to_dict(self) -> dict:
        return {"items": list(self.item_ids), "score": round(self.score, 6),
                "logit": round(self.logit, 6), "build_order": list(self.build_order),
                "slots": {it.id: it.slot for it in self.items}}


def select_diverse(pool: Sequence[Candidate], scores: np.ndarray, k: int, *,
                   diversity: float = defaults.DIVERSITY, max_shared: int | None = None,
                   rng: random.Random | None = None, temperature: float = 0.05
                   ) -> list[int]:
    """Indices into ``pool`` of ``k`` outfits chosen by maximal marginal relevance.

    ``scores`` are calibrated probabilities. ``max_shared``: skip outfits sharing more than that
    many items with one already chosen (relaxed if too few remain). ``rng``: perturb the scores
    with Gumbel noise of scale ``temperature`` (a re-roll draws another good set)."""
    if not 0.0 <= diversity < 1.0:
        raise OutfitError(f"diversity must be in [0, 1), got {diversity}")
    n = len(pool)
    if n == 0 or k <= 0:
        return []
    value = np.asarray(scores, dtype=np.float64).copy()
    if rng is not None:
        u = np.array([rng.random() for _ in range(n)]).clip(1e-12, 1 - 1e-12)
        value += temperature * -np.log(-np.log(u))
    width = max(len(c.rows) for c in pool)
    rows = np.full((n, width), -1, dtype=np.int64)
    for j, c in enumerate(pool):
        rows[j, :len(c.rows)] = c.rows
    held = rows >= 0
    sizes = held.sum(1)
    chosen: list[int] = []
    overlap = np.zeros(n)  # largest Jaccard similarity to a chosen outfit
    shared = np.zeros(n, dtype=np.int64)  # most items shared with a chosen outfit
    available = np.ones(n, dtype=bool)
    while len(chosen) < min(k, n):
        gain = (1 - diversity) * value - diversity * overlap
        allowed = available.copy()
        if max_shared is not None and (allowed & (shared <= max_shared)).any():
            allowed &= shared <= max_shared
        gain[~allowed] = -math.inf
        best = int(np.argmax(gain))
        chosen.append(best)
        available[best] = False
        pick = rows[best][held[best]]
        both = ((rows[:, :, None] == pick[None, None, :]) & held[:, :, None]).any(2).sum(1)
        overlap = np.maximum(overlap, both / (sizes + len(pick) - both))
        shared = np.maximum(shared, both)
    return chosen


def search(closet: Closet | Iterable[Item], model: GraderModel, *, k: int = defaults.RECOMMENDATIONS,
           beam: int | None = None,
           pinned: Iterable[str] = (), excluded: Iterable[str] = (),
           constraints: Constraints | Mapping[str, str | None] | None = None,
           diversity: float = defaults.DIVERSITY, max_shared: int | None = None, reroll: int = 0,
           strategy: str = defaults.STRATEGY, shortlist: Shortlist | None = None,
           cache_dir: Path | str | None = None, index_dir: Path | str | None = None,
           features: FeatureTable | None = None, **options: object) -> list[Recommendation]:
    """The ``k`` best outfits of ``closet`` by ``model``, different from each other.

    ``pinned`` ids are in every outfit ("build around this"), ``excluded`` ids in none ("in the
    wash"); ``constraints`` (``{"season": "winter", "occasion": "formal"}``) keep items whose
    attributes fit. ``strategy``: ``beam`` (default), ``partial`` or ``exhaustive``; ``beam``
    (its width) and ``options`` go to it (``max_outfits``, ``keep``...), and an option it does
    not take is an error naming those it does (:func:`~recommender.strategies.strategy_options`;
    left out, the strategy's own default applies, from :mod:`outfit.defaults`). ``shortlist``:
    narrows a large closet's options per slot before grading; by default beam search shortlists
    slots of more than ``SHORTLIST_THRESHOLD`` items through a faiss index
    (:mod:`recommender.retrieval`), saved under ``index_dir`` when given. ``features``: the
    closet's features if already computed (one row per closet item, in order); else they are
    computed from the photos once and cached."""
    if k < 1:
        raise OutfitError(f"k must be at least 1, got {k}")
    if reroll < 0:
        raise OutfitError(f"reroll must be 0 (the best set) or a positive number, got {reroll}")
    closet = closet if isinstance(closet, Closet) else Closet.of(closet)
    problem = SearchProblem.build(closet, pinned=pinned, excluded=excluded,
                                  constraints=constraints)
    run = get_strategy(strategy)
    given = {**options, **{name: value for name, value in (("beam", beam), ("shortlist", shortlist))
                           if value is not None}}
    check_strategy_options(strategy, given)
    scorer = _scorer(model, closet, features, cache_dir)
    if shortlist is None and strategy == "beam" and \
            max(len(c) for c in problem.candidates.values()) > SHORTLIST_THRESHOLD:
        given["shortlist"] = slot_index(scorer, index_dir).shortlist()
    takes = strategy_options(strategy)
    shared = {name: value for name, value in (("diversity", diversity), ("pool", max(200, 20 * k)))
              if name in takes}  # what the search itself hands to a strategy that takes it
    pool = run(problem, scorer, **shared, **given)
    if not pool:
        raise OutfitError("the search found no complete outfit",
                          hint="try a wider --beam, or fewer exclusions")
    scores = scorer.calibrate(np.array([c.logit for c in pool]))
    picks = select_diverse(pool, scores, k, diversity=diversity, max_shared=max_shared,
                           rng=random.Random(reroll) if reroll else None)
    picks.sort(key=lambda j: -scores[j])
    out = []
    for j in picks:
        c = pool[j]
        items = tuple(problem.items[r] for r in c.rows)
        out.append(Recommendation(items=items, score=float(scores[j]), logit=c.logit,
                                  build_order=tuple(it.id for it in items)))
    return out


def _scorer(model: GraderModel, closet: Closet, features: FeatureTable | None,
            cache_dir: Path | str | None) -> ClosetScorer:
    if features is None:
        return closet_scorer(model, closet.items, cache_dir=cache_dir)
    if len(features.ids) != len(closet) or any(
            a != b.id for a, b in zip(features.ids, closet.items, strict=True)):
        raise OutfitError("the feature table does not list the closet's items in order",
                          hint="compute it with model.item_table(closet.items)")
    # kept beside the table: a caller that passes the same table again grades at once
    scorers = features.__dict__.setdefault("_scorers", weakref.WeakKeyDictionary())
    scorer = scorers.get(model)
    if scorer is None:
        scorer = scorers[model] = ClosetScorer(model, features)
    return scorer


def slot_index(scorer: ClosetScorer, index_dir: Path | str | None = None) -> SlotIndex:
    """The scorer's faiss indexes, built once (kept on the scorer; saved under ``index_dir``)."""
    index = getattr(scorer, "slot_index", None)
    if index is None:
        index = SlotIndex.cached(scorer, index_dir)
        scorer.slot_index = index
    return index


@dataclass(frozen=True)
class Complement:
    """An item that goes with the given ones, and the score of them all together."""

    item: Item
    slot: str
    score: float
    logit: float

    def to_dict(self) -> dict:
        return {"item": self.item.id, "slot": self.slot, "score": round(self.score, 6),
                "logit": round(self.logit, 6)}


def complements(closet: Closet | Iterable[Item], model: GraderModel, item_ids: Sequence[str], *,
                slots: Sequence[str] | None = None, k: int = defaults.COMPLEMENTS,
                excluded: Iterable[str] = (),
                cache_dir: Path | str | None = None, index_dir: Path | str | None = None,
                features: FeatureTable | None = None) -> dict[str, list[Complement]]:
    """What goes with these items: for each slot the outfit still has room for (or each of
    ``slots``), the ``k`` closet items that make the best (partial) outfit with them."""
    closet = closet if isinstance(closet, Closet) else Closet.of(closet)
    if not item_ids:
        raise OutfitError("give at least one item to match", hint="pass the ids of the items")
    outfit = closet.outfit(item_ids)  # unknown ids and unwearable sets are refused here
    problem = SearchProblem.build(closet, excluded=excluded, check=False)
    scorer = _scorer(model, closet, features, cache_dir)
    open_slots = outfit.open_slots()
    wanted = list(slots) if slots else list(open_slots)
    closed = [s for s in wanted if s not in open_slots]
    if closed:
        raise OutfitError(f"these items leave no room in slot(s): {', '.join(closed)}",
                          hint=f"open slots: {', '.join(open_slots) or 'none'}")
    index = slot_index(scorer, index_dir) if len(closet) > SHORTLIST_THRESHOLD else None
    given = [scorer.table.index[i] for i in item_ids]
    out: dict[str, list[Complement]] = {}
    for slot in wanted:
        found = complement_rows(scorer, problem, given, slot, k, index)
        scores = scorer.calibrate(np.array([z for _, z in found]))
        out[slot] = [Complement(problem.items[r], slot, float(p), z)
                     for (r, z), p in zip(found, scores, strict=True)]
    return out
