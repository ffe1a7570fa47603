"""The ``beam`` strategy: beam search, one part per step, the top-and-bottom and one-piece beams
side by side until their main pieces are chosen, then one beam for shoes and accessories; its
best outfits are then improved by hill climbing (:mod:`.refine`)."""

from __future__ import annotations

import numpy as np
import torch

from outfit import defaults
from outfit.errors import OutfitError
from outfit.vocab import ACCESSORY, FULL, LOWER, MAX_ACCESSORIES, OUTER, SHOES, UPPER

from ..problem import SearchProblem
from ..scoring import ClosetScorer, Partial
from .refine import _refine
from .registry import Candidate, Shortlist, register_strategy
from .steps import _candidates, _dedupe, _expand, _start, _Step

__all__ = ["beam_search"]

_DIVERSE_PICKS = 32  # states of a beam step chosen for diversity; the rest by logit


def _plan(problem: SearchProblem) -> tuple[list[list[_Step]], list[_Step]]:
    """The main steps of each beam (one from a top and a bottom, one from a one-piece, where
    the closet has them; each optionally adding a layer over it), and the steps they share
    once their main pieces are chosen: shoes, then accessories."""
    shapes = set(problem.shapes())
    pinned = {problem.slot[r] for r in problem.pinned}
    tail = [] if SHOES in pinned else [_Step(SHOES, False)]
    free = MAX_ACCESSORIES - sum(problem.slot[r] == ACCESSORY for r in problem.pinned)
    tail += [_Step(ACCESSORY, True)] * min(free, len(problem.candidates[ACCESSORY]))
    trees = []
    for base in ({UPPER, LOWER}, {FULL}):
        with_outer = frozenset(base | {OUTER}) in shapes
        without = frozenset(base) in shapes
        if not (with_outer or without):
            continue
        steps = [_Step(s, False) for s in (UPPER, LOWER, FULL) if s in base and s not in pinned]
        if OUTER not in pinned and with_outer:
            steps.append(_Step(OUTER, without))
        trees.append(steps)
    return trees, tail


def _child_rows(states: np.ndarray, parents: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``states[parents]`` with ``rows`` put in each one's first free place (-1: nothing)."""
    out = states[parents].copy()
    pos = (out < 0).argmax(1)
    has = rows >= 0
    out[np.flatnonzero(has), pos[has]] = rows[has]
    return out


def _select(states: np.ndarray, logits: torch.Tensor, keep: int, diversity: float
            ) -> np.ndarray:
    """The ``keep`` states to carry on: the best by logit, or with ``diversity`` > 0 a greedy
    maximal-marginal-relevance pick among the ``3 * keep`` best (logits standardised, minus
    ``diversity`` times the largest Jaccard overlap with the states already picked). A beam
    whose states all share one prefix could only offer near-copies of one outfit. A wide beam
    picks its first ``_DIVERSE_PICKS`` states so and the rest by logit (enough spread, and the
    greedy pick costs a step per state)."""
    if len(logits) <= keep:
        return torch.argsort(logits, descending=True, stable=True).numpy()
    if diversity <= 0:
        return torch.topk(logits, keep).indices.numpy()
    if keep > _DIVERSE_PICKS:
        first = _select(states, logits, _DIVERSE_PICKS, diversity)
        order = torch.argsort(logits, descending=True, stable=True).numpy()
        rest = order[~np.isin(order, first)][:keep - len(first)]
        return np.concatenate([first, rest])
    top = torch.topk(logits, min(len(logits), 3 * keep)).indices.numpy()
    z = logits[top].double().numpy()
    z = (z - z.mean()) / (z.std() + 1e-9)
    jaccard = _jaccard(states[top])
    chosen: list[int] = []
    overlap = np.zeros(len(top))
    free = np.ones(len(top), dtype=bool)
    for _ in range(keep):
        gain = np.where(free, (1 - diversity) * z - diversity * overlap, -np.inf)
        j = int(np.argmax(gain))
        chosen.append(j)
        free[j] = False
        overlap = np.maximum(overlap, jaccard[j])
    return top[chosen]


def _jaccard(rows: np.ndarray) -> np.ndarray:
    """``(n, n)``: the Jaccard similarity of the item sets of padded ``rows (n, S)``."""
    held = rows >= 0
    ids, inverse = np.unique(rows[held], return_inverse=True)
    member = torch.zeros(len(rows), len(ids))
    member[torch.from_numpy(np.nonzero(held)[0]), torch.from_numpy(inverse)] = 1.0
    # torch, not numpy: numpy's BLAS threads would fight torch's for the same cores
    shared = (member @ member.T).numpy()
    n_items = held.sum(1)
    return shared / np.maximum(1, n_items[:, None] + n_items[None, :] - shared)


def _options(problem: SearchProblem, step: _Step, states: np.ndarray,
             shortlist: Shortlist | None) -> list[np.ndarray]:
    candidates = problem.candidate_rows[step.slot]
    if shortlist is not None:
        return shortlist(problem, step.slot, states, candidates)
    return [candidates] * len(states)  # the same list object: one grid


_MAIN_EXPANSIONS = 2048
_MAIN_WIDEN = 4
_TAIL_EXPANSIONS = 2048
_TAIL_WIDEN = 16
# A closet whose every slot offers at most _SMALL_SLOT items (a person's own closet; the
# issue's "small closets" hold up to 12 per slot) gets wider steps: up to _SMALL_WIDEN x beam
# states and _SMALL_EXPANSIONS outfits graded per step. On 40 closets of 6 to 10 items per
# slot, beam 16 then found exhaustive's best in 39 instead of 32 (on 100 such closets: 96 %, at
# 0.8 % of exhaustive's time, bench/recommend_search.py --per-slot 6,10), for a few ms more (the
# main pieces were pruned too early before: a top and a bottom alone say little about the
# coat, shoes and bag that will suit them). Large closets keep the budgets above, which hold
# their latency.
_SMALL_SLOT = 16
_SMALL_EXPANSIONS = 3072
_SMALL_WIDEN = 32


@register_strategy("beam")
def beam_search(problem: SearchProblem, scorer: ClosetScorer, *, beam: int = defaults.BEAM_WIDTH,
                shortlist: Shortlist | None = None, pool: int = 200,
                diversity: float = defaults.DIVERSITY, refine: int = 4, main_beam: int | None = None,
                tail_beam: int | None = None) -> list[Candidate]:
    """Beam search, one part per step: keep the ``beam`` best partial outfits after each step
    (``main_beam`` while the main pieces are chosen: by default up to four times as many, as
    long as a main step grades at most ``_MAIN_EXPANSIONS`` outfits, since a top and a bottom
    alone say little about the shoes and accessories that will suit them; ``tail_beam`` for
    shoes and accessories: up to sixteen times as many while a step grades at most
    ``_TAIL_EXPANSIONS``). Small closets thus get a nearly exhaustive search at little cost and
    large ones keep ``beam``: on 40 closets of 4 to 8 items per slot, beam 16 found exhaustive
    search's best outfit in 70 % of them with uniform widths, 80 % with the wider main steps
    and 95 % with both (about 15 -> 30 ms a closet); a 500-item closet keeps width 16. Every
    expansion of every state is graded in one batch by adding its new item to the
    state's running sums; only the states kept are built. The top-and-bottom and one-piece
    beams choose their main pieces side by side (so that a lone top never competes with a
    dress) and then share one beam for shoes and accessories. Returns up to ``pool`` complete
    outfits, best first (the last step keeps that many, so that diversity has room to
    choose). ``shortlist`` (large closets) narrows each state's options for a slot before
    grading; ``diversity`` spreads the beam over different partial outfits (``_select``); the
    ``refine`` best outfits found are then improved by hill climbing (``_refine``)."""
    if beam < 1:
        raise OutfitError(f"beam width must be at least 1, got {beam}")
    trees, tail = _plan(problem)
    main_beam, tail_beam = _widths(problem, trees, tail, beam, main_beam, tail_beam)
    if not trees:
        return []
    schedule, depth = _schedule(trees, tail)
    part = scorer.start(np.repeat(_start(problem), len(trees), axis=0))
    group = np.arange(len(trees))
    logits = scorer.grade(part)  # everything pinned: the outfit is given
    for k, steps in enumerate(schedule):
        if k == depth:  # main pieces chosen: one beam from here on
            group = np.zeros(len(group), dtype=np.int64)
        last = k == len(schedule) - 1
        width = pool if last else main_beam if k < depth else tail_beam
        part, logits, group = _beam_step(problem, scorer, part, group, steps, shortlist, width,
                                         0.0 if last else diversity)
    found = sorted(_dedupe(_candidates(part.states(), logits)), key=lambda c: -c.logit)
    if refine:
        found = sorted(_dedupe(_refine(problem, scorer, found[:refine], shortlist) + found),
                       key=lambda c: -c.logit)
    return found[:pool]


def _widths(problem: SearchProblem, trees: list[list[_Step]], tail: list[_Step], beam: int,
            main_beam: int | None, tail_beam: int | None) -> tuple[int, int]:
    """The beam's widths while the main pieces are chosen and then for shoes and accessories:
    ``main_beam`` and ``tail_beam`` where given, else as wide as the step budgets allow (see
    :func:`beam_search`)."""
    small = max((len(c) for c in problem.candidates.values()), default=0) <= _SMALL_SLOT
    if main_beam is None:  # wider while the main steps are cheap: few options per state
        widest = max((len(problem.candidates[s.slot]) for t in trees for s in t), default=1)
        widen, budget = (_SMALL_WIDEN, _SMALL_EXPANSIONS) if small else (_MAIN_WIDEN,
                                                                          _MAIN_EXPANSIONS)
        main_beam = max(beam, min(widen * beam, budget // max(1, widest)))
    if tail_beam is None:  # the same for shoes and accessories
        widest = max((len(problem.candidates[s.slot]) for s in tail), default=1)
        widen, budget = (_SMALL_WIDEN, _SMALL_EXPANSIONS) if small else (_TAIL_WIDEN,
                                                                          _TAIL_EXPANSIONS)
        tail_beam = max(beam, min(widen * beam, budget // max(1, widest)))
    if min(main_beam, tail_beam) < 1:
        raise OutfitError(f"beam widths must be at least 1, got {main_beam} and {tail_beam}")
    return main_beam, tail_beam


def _schedule(trees: list[list[_Step]], tail: list[_Step]
              ) -> tuple[list[list[_Step | None]], int]:
    """The steps of each beam, step by step (None: that beam waits), and how many of them
    choose main pieces. Shorter trees start later, so that all finish their main pieces on
    the same step; shoes and accessories follow on one beam."""
    depth = max(len(t) for t in trees)
    schedule: list[list[_Step | None]] = [
        [None if k < depth - len(t) else t[k - (depth - len(t))] for t in trees]
        for k in range(depth)]
    schedule += [[step] for step in tail]
    return schedule, depth


def _beam_step(problem: SearchProblem, scorer: ClosetScorer, part: Partial, group: np.ndarray,
               steps: list[_Step | None], shortlist: Shortlist | None, width: int,
               diversity: float) -> tuple[Partial, torch.Tensor, np.ndarray]:
    """One step of every beam (``group``: each state's beam; ``steps``: each beam's step):
    every expansion graded at once, the ``width`` best of each beam kept (``_select``) ->
    the states kept, their logits and their beams."""
    states = part.states()
    parent, row = _expansions(problem, states, group, steps, shortlist)
    # a set of items reached in two orders (accessories) is graded once
    _, first = np.unique(scorer.child_keys(part, parent, row).cpu().numpy(),
                         return_index=True)
    first.sort()
    parent, row = parent[first], row[first]
    z = scorer.expand(part, parent, row)
    children = _child_rows(states, parent, row)
    child_group = group[parent]
    chosen = []
    for g in range(len(steps)):
        members = np.flatnonzero(child_group == g)
        pick = _select(children[members], z[members], width, diversity)
        chosen.append(members[pick])
    keep = np.concatenate(chosen)
    return scorer.extend(part, parent[keep], row[keep]), z[keep], group[parent[keep]]


def _expansions(problem: SearchProblem, states: np.ndarray, group: np.ndarray,
                steps: list[_Step | None], shortlist: Shortlist | None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Every state of each beam extended by its beam's step -> (parent index, added row; -1:
    nothing added, as for a beam that has not started yet)."""
    parents, rows = [], []
    for g, step in enumerate(steps):
        members = np.flatnonzero(group == g)
        if step is None:  # this tree has not started yet: carried as it is
            parents.append(members)
            rows.append(np.full(len(members), -1))
            continue
        p, r = _expand(problem, states[members], step,
                       _options(problem, step, states[members], shortlist))
        parents.append(members[p])
        rows.append(r)
    return np.concatenate(parents).astype(np.int64), np.concatenate(rows).astype(np.int64)
