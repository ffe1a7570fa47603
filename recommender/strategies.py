"""Search strategies, by name: ``beam``, ``partial`` (the paper's) and ``exhaustive``.

Each takes a :class:`~recommender.problem.SearchProblem` and a scorer (rows -> logits) and
returns a pool of complete outfits (:class:`Candidate`), best first. Outfits are built per main
shape (outer+upper+lower, upper+lower, outer+full, full), then shoes, then up to three
accessories, one part per step, as in Tangseng et al. (arXiv 1804.09979). Building each shape
on its own beam keeps a one-piece from competing with half an outfit (a lone top), which a
single beam with a "none" choice for every main slot would have to do. Accessories may be added
in any order; a set reached twice is graded once.
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from outfit import defaults
from outfit.errors import OutfitError
from outfit.registry import Registry
from outfit.vocab import ACCESSORY, FULL, LOWER, MAX_ACCESSORIES, OUTER, SHOES, UPPER

from .problem import SearchProblem
from .scoring import ClosetScorer

__all__ = ["Candidate", "register_strategy", "get_strategy", "list_strategies", "strategy_options",
           "check_strategy_options",
           "count_outfits", "TooManyOutfitsError", "WIDTH", "Shortlist"]

WIDTH = 8  # most items in an outfit: three main pieces, shoes, three accessories, one spare
_DIVERSE_PICKS = 32  # states of a beam step chosen for diversity; the rest by logit

# (problem, slot, states (B, WIDTH) rows, candidate rows) -> per state, the rows to try
Shortlist = Callable[[SearchProblem, str, np.ndarray, np.ndarray], list[np.ndarray]]

_MAIN_ORDER = {frozenset({UPPER, LOWER}): (UPPER, LOWER),
               frozenset({OUTER, UPPER, LOWER}): (UPPER, LOWER, OUTER),
               frozenset({FULL}): (FULL,),
               frozenset({OUTER, FULL}): (FULL, OUTER)}


class TooManyOutfitsError(OutfitError):
    """An enumerating strategy was asked to grade more outfits than its limit."""


@dataclass(frozen=True)
class Candidate:
    """A complete outfit found by a strategy: rows in the order they were added, its logit."""

    rows: tuple[int, ...]
    logit: float

    @property
    def key(self) -> frozenset[int]:
        return frozenset(self.rows)


_REGISTRY: Registry[Callable[..., list[Candidate]]] = Registry("search strategy")


def register_strategy(name: str):
    return _REGISTRY.register(name)


def get_strategy(name: str) -> Callable[..., list[Candidate]]:
    return _REGISTRY.get(name)


def list_strategies() -> list[str]:
    return _REGISTRY.names()


def strategy_options(name: str) -> tuple[str, ...]:
    """The options strategy ``name`` takes: the keyword-only parameters of its function (a
    strategy declares its options by its signature)."""
    params = inspect.signature(get_strategy(name)).parameters.values()
    return tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)


def check_strategy_options(name: str, options: Iterable[str]) -> None:
    """Refuse an option strategy ``name`` does not take, naming the options it does take."""
    takes = strategy_options(name)
    extra = sorted(set(options) - set(takes))
    if extra:
        raise OutfitError(f"the {name} search strategy takes no option {', '.join(extra)}",
                          hint=f"its options: {', '.join(takes)}")


# --------------------------------------------------------------------------- helpers


def _steps(problem: SearchProblem, shape: frozenset[str]) -> list[str]:
    """The slots filled one per step for ``shape`` (pinned main items are already there)."""
    pinned_slots = {problem.slot[r] for r in problem.pinned}
    main = [s for s in _MAIN_ORDER[shape] if s not in pinned_slots]
    shoes = [] if SHOES in pinned_slots else [SHOES]
    free_acc = MAX_ACCESSORIES - sum(problem.slot[r] == ACCESSORY for r in problem.pinned)
    acc = [ACCESSORY] * min(free_acc, len(problem.candidates[ACCESSORY]))
    return [*main, *shoes, *acc]


def _start(problem: SearchProblem) -> np.ndarray:
    start = np.full((1, WIDTH), -1, dtype=np.int64)
    start[0, :len(problem.pinned)] = problem.pinned
    return start


def _lengths(states: np.ndarray) -> np.ndarray:
    return (states >= 0).sum(1)


def _accessory_filter(problem: SearchProblem, state: np.ndarray, opts: np.ndarray) -> np.ndarray:
    """The accessory rows in ``opts`` that may join ``state`` (see ``_accessory_mask``)."""
    if len(opts) == 0:
        return opts
    padded = np.full((1, WIDTH), -1, dtype=np.int64)
    padded[0, :len(state)] = state
    return opts[_accessory_mask(problem, padded, opts)[0]]


def _expand(problem: SearchProblem, states: np.ndarray, step: _Step,
            options: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Every state extended by each of its options -> (parent index, added row; -1 for the
    "none" choice, which keeps the state as it is)."""
    b = len(states)
    same = all(o is options[0] for o in options)
    if same:  # one candidate list for every state: build the grid at once
        opts = options[0]
        parents = np.repeat(np.arange(b), len(opts))
        rows = np.tile(opts, b)
        if step.slot == ACCESSORY and len(rows):
            ok = _accessory_mask(problem, states, opts).ravel()
            parents, rows = parents[ok], rows[ok]
    else:
        parents = np.concatenate([np.full(len(o), k) for k, o in enumerate(options)] or [[]])
        rows = np.concatenate(list(options) or [[]])
        if step.slot == ACCESSORY and len(rows):
            ok = np.concatenate([_accessory_mask(problem, states[k:k + 1], o)[0]
                                 for k, o in enumerate(options)])
            parents, rows = parents[ok], rows[ok]
    if step.optional:
        parents = np.concatenate([np.arange(b), parents])
        rows = np.concatenate([np.full(b, -1), rows])
    return parents.astype(np.int64), rows.astype(np.int64)


def _accessory_mask(problem: SearchProblem, states: np.ndarray, opts: np.ndarray) -> np.ndarray:
    """``(B, len(opts))``: which accessories may join each state (at most three accessories,
    at most one of each group: :func:`outfit.domain.accessory_group`; a worn item's group is
    taken)."""
    held = states >= 0
    safe = np.where(held, states, 0)
    acc = held & problem.is_accessory[safe]  # (B, S)
    groups = np.where(acc, problem.group_code[safe], -1)
    clash = (groups[:, :, None] == problem.group_code[opts][None, None, :]).any(1)
    room = acc.sum(1) < MAX_ACCESSORIES
    return ~clash & room[:, None]


def _grade(scorer: ClosetScorer, states: np.ndarray) -> torch.Tensor:
    return scorer.logits_padded(torch.from_numpy(states))


def _candidates(states: np.ndarray, logits: torch.Tensor) -> list[Candidate]:
    order = torch.argsort(logits, descending=True, stable=True).tolist()
    return [Candidate(tuple(int(r) for r in states[k] if r >= 0), float(logits[k])) for k in order]


def _dedupe(cands: Sequence[Candidate]) -> list[Candidate]:
    seen, out = set(), []
    for c in cands:
        if c.key not in seen:
            seen.add(c.key)
            out.append(c)
    return out


# --------------------------------------------------------------------------- beam


@dataclass(frozen=True)
class _Step:
    slot: str
    optional: bool  # "none" is a choice


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
    if not trees:
        return []
    depth = max(len(t) for t in trees)
    # Shorter trees start later, so that all finish their main pieces on the same step.
    schedule = [[None if k < depth - len(t) else t[k - (depth - len(t))] for t in trees]
                for k in range(depth)]
    schedule += [[step] for step in tail]
    part = scorer.start(np.repeat(_start(problem), len(trees), axis=0))
    group = np.arange(len(trees))
    logits = scorer.grade(part)  # everything pinned: the outfit is given
    for k, steps in enumerate(schedule):
        if k == depth:  # main pieces chosen: one beam from here on
            group = np.zeros(len(group), dtype=np.int64)
        last = k == len(schedule) - 1
        states = part.states()
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
        parent = np.concatenate(parents).astype(np.int64)
        row = np.concatenate(rows).astype(np.int64)
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
            width = pool if last else main_beam if k < depth else tail_beam
            pick = _select(children[members], z[members], width,
                           0.0 if last else diversity)
            chosen.append(members[pick])
        keep = np.concatenate(chosen)
        part = scorer.extend(part, parent[keep], row[keep])
        logits, group = z[keep], group[parent[keep]]
    found = sorted(_dedupe(_candidates(part.states(), logits)), key=lambda c: -c.logit)
    if refine:
        found = sorted(_dedupe(_refine(problem, scorer, found[:refine], shortlist) + found),
                       key=lambda c: -c.logit)
    return found[:pool]


def _moves(problem: SearchProblem, outfits: Sequence[np.ndarray], shortlist: Shortlist | None
           ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every move from each complete outfit (rows) to another: ``(taken off, put on)`` row
    pairs (-1: nothing), i.e. one item swapped for another of its slot, or a layer or an
    accessory taken off or put on. Pinned items stay. A shortlist is asked once per slot for
    all the outfits' partial states."""
    shapes = set(problem.shapes())
    # (outfit, item taken off or -1, slot, the state the new item joins)
    asks: list[tuple[int, int, str, np.ndarray]] = []
    for j, rows in enumerate(outfits):
        main = {problem.slot[r] for r in rows if problem.slot[r] in (OUTER, UPPER, LOWER, FULL)}
        for p, r in enumerate(rows):
            if r not in problem.pinned:
                asks.append((j, int(r), problem.slot[r], np.delete(rows, p)))
        if len(rows) < WIDTH:
            if OUTER not in main and frozenset(main | {OUTER}) in shapes:
                asks.append((j, -1, OUTER, rows))
            asks.append((j, -1, ACCESSORY, rows))
    options: list[np.ndarray] = [problem.candidate_rows[slot] for _, _, slot, _ in asks]
    if shortlist is not None:
        for slot in {a[2] for a in asks}:
            which = [k for k, a in enumerate(asks) if a[2] == slot]
            states = np.full((len(which), WIDTH), -1, dtype=np.int64)
            for i, k in enumerate(which):
                states[i, :len(asks[k][3])] = asks[k][3]
            for k, found in zip(which, shortlist(problem, slot, states,
                                                 problem.candidate_rows[slot]), strict=True):
                options[k] = found
    moves: list[tuple[list[np.ndarray], list[np.ndarray]]] = [([], []) for _ in outfits]
    for (j, off, slot, state), cands in zip(asks, options, strict=True):
        if slot == ACCESSORY:
            cands = _accessory_filter(problem, state, cands)
        main = {problem.slot[r] for r in outfits[j] if problem.slot[r] in (OUTER, FULL, UPPER, LOWER)}
        removable = slot == ACCESSORY or (slot == OUTER and frozenset(main - {OUTER}) in shapes)
        if off >= 0 and removable:
            cands = np.concatenate([[-1], cands[cands != off]])
        elif off >= 0:
            cands = cands[cands != off]
        moves[j][0].append(np.full(len(cands), off, dtype=np.int64))
        moves[j][1].append(cands.astype(np.int64))
    return [(np.concatenate(o) if o else np.zeros(0, dtype=np.int64),
             np.concatenate(n) if n else np.zeros(0, dtype=np.int64)) for o, n in moves]


def _refine(problem: SearchProblem, scorer: ClosetScorer, start: Sequence[Candidate],
            shortlist: Shortlist | None, passes: int = 8) -> list[Candidate]:
    """Hill climbing from each of ``start``: take the best move (:func:`_moves`) while it
    scores higher. Partial outfits guide the beam imperfectly (a bag can rescue or spoil what
    the shoes began); one-item repairs of its best outfits recover part of what it missed.
    Each move is graded by taking one item's terms off the outfit's sums and adding another's;
    the moves of all outfits still climbing are graded in one batch per pass."""
    rows = [np.asarray(c.rows, dtype=np.int64) for c in start]
    logit = [c.logit for c in start]
    climbing = list(range(len(start)))
    for _ in range(passes):
        moves = _moves(problem, [rows[i] for i in climbing], shortlist)
        climbing = [i for i, (off, _on) in zip(climbing, moves, strict=True) if len(off)]
        moves = [m for m in moves if len(m[0])]
        if not climbing:
            break
        padded = np.full((len(climbing), WIDTH), -1, dtype=np.int64)
        for j, i in enumerate(climbing):
            padded[j, :len(rows[i])] = rows[i]
        parents = np.concatenate([np.full(len(off), j) for j, (off, _on) in enumerate(moves)])
        offs = np.concatenate([off for off, _on in moves])
        ons = np.concatenate([on for _off, on in moves])
        z = scorer.change_logits(scorer.start(padded), parents, offs, ons)
        better = []
        for j, part in enumerate(torch.split(z, [len(off) for off, _on in moves])):
            best = int(torch.argmax(part))
            i = climbing[j]
            if float(part[best]) > logit[i] + 1e-6:
                m = int(parents.searchsorted(j)) + best
                state = rows[i][rows[i] != offs[m]]
                rows[i] = state if ons[m] < 0 else np.append(state, ons[m])
                logit[i] = float(part[best])
                better.append(i)
        climbing = better
    return [Candidate(tuple(int(r) for r in rs), lg) for rs, lg in zip(rows, logit, strict=True)]


# --------------------------------------------------------------------------- enumeration


def _main_combos(problem: SearchProblem, shape: frozenset[str]) -> np.ndarray:
    """All fillings of the shape's main slots and shoes, with the pinned rows: (M, WIDTH)."""
    base = _start(problem)[0]
    n0 = len(problem.pinned)
    slots = [s for s in _steps(problem, shape) if s != ACCESSORY]
    pools = [problem.candidates[s] for s in slots]
    total = math.prod(len(p) for p in pools)
    out = np.repeat(base[None], total, axis=0)
    if slots:
        grids = np.meshgrid(*[np.asarray(p, dtype=np.int64) for p in pools], indexing="ij")
        for j, g in enumerate(grids):
            out[:, n0 + j] = g.ravel()
    return out


def _accessory_sets(problem: SearchProblem) -> list[tuple[int, ...]]:
    """Every set of free accessories that may join the pinned ones (the empty set included)."""
    held = [r for r in problem.pinned if problem.slot[r] == ACCESSORY]
    free = MAX_ACCESSORIES - len(held)
    rows = problem.candidates[ACCESSORY]
    out: list[tuple[int, ...]] = [()]
    for size in range(1, free + 1):
        for combo in itertools.combinations(rows, size):
            groups = [problem.group[r] for r in (*held, *combo)]
            if len(set(groups)) == len(groups):
                out.append(combo)
    return out


def count_outfits(problem: SearchProblem) -> int:
    """How many complete outfits the closet can make (what ``exhaustive`` would grade)."""
    n_acc = _count_accessory_sets(problem)
    total = 0
    for shape in problem.shapes():
        slots = [s for s in _steps(problem, shape) if s != ACCESSORY]
        total += math.prod(len(problem.candidates[s]) for s in slots) * n_acc
    return total


def _count_accessory_sets(problem: SearchProblem) -> int:
    held = [r for r in problem.pinned if problem.slot[r] == ACCESSORY]
    free = MAX_ACCESSORIES - len(held)
    # at most one accessory per group: a polynomial whose x^j coefficient counts the ways to
    # pick j of them
    counts: dict[str, int] = {}
    for r in problem.candidates[ACCESSORY]:
        counts[problem.group[r]] = counts.get(problem.group[r], 0) + 1
    taken = {problem.group[r] for r in held}
    poly = [1]
    for group, n in counts.items():
        if group in taken:
            continue
        poly = [a + (n * poly[i - 1] if i else 0) for i, a in enumerate([*poly, 0])]
    return sum(poly[:free + 1])


def _append_accessories(mains: np.ndarray, acc_sets: Sequence[tuple[int, ...]]) -> np.ndarray:
    """Every main combo with every accessory set: (len(mains) * len(acc_sets), WIDTH)."""
    acc = np.full((len(acc_sets), MAX_ACCESSORIES), -1, dtype=np.int64)
    for k, s in enumerate(acc_sets):
        acc[k, :len(s)] = s
    out = np.repeat(mains, len(acc_sets), axis=0)
    lengths = np.repeat(_lengths(mains), len(acc_sets))
    tiled = np.tile(acc, (len(mains), 1))
    rows = np.arange(len(out))
    for j in range(MAX_ACCESSORIES):
        out[rows, lengths + j] = tiled[:, j]
    return out


def _top(states: np.ndarray, logits: torch.Tensor, n: int) -> tuple[np.ndarray, torch.Tensor]:
    k = min(n, len(logits))
    idx = torch.topk(logits, k).indices.numpy()
    return states[idx], logits[idx]


@register_strategy("exhaustive")
def exhaustive_search(problem: SearchProblem, scorer: ClosetScorer, *, max_outfits: int = 2_000_000,
                      pool: int = 200, chunk: int = 65536) -> list[Candidate]:
    """Grade every complete outfit (the reference for small closets). Refuses closets that
    would need more than ``max_outfits`` grades, saying how many."""
    total = count_outfits(problem)
    if total > max_outfits:
        raise TooManyOutfitsError(
            f"exhaustive search would grade {total:,} outfits (limit {max_outfits:,})",
            hint="use --strategy beam, or a smaller closet")
    acc_sets = _accessory_sets(problem)
    best_states = np.zeros((0, WIDTH), dtype=np.int64)
    best_logits = torch.zeros(0)
    per = max(1, chunk // max(1, len(acc_sets)))
    for shape in problem.shapes():
        mains = _main_combos(problem, shape)
        for start in range(0, len(mains), per):
            states = _append_accessories(mains[start:start + per], acc_sets)
            logits = _grade(scorer, states)
            best_states, best_logits = _top(np.concatenate([best_states, states]),
                                            torch.cat([best_logits, logits]), pool)
    return _candidates(best_states, best_logits)


@register_strategy("partial")
def partial_search(problem: SearchProblem, scorer: ClosetScorer, *, keep: int = 10,
                   max_outfits: int = 2_000_000, pool: int = 200, chunk: int = 65536
                   ) -> list[Candidate]:
    """The paper's "partial" search: grade every filling of the main slots and shoes, keep the
    ``keep`` best, then try every accessory set on each."""
    mains_all = [_main_combos(problem, shape) for shape in problem.shapes()]
    total = sum(len(m) for m in mains_all)
    if total > max_outfits:
        raise TooManyOutfitsError(
            f"partial search would grade {total:,} main-piece combinations (limit {max_outfits:,})",
            hint="use --strategy beam, or a smaller closet")
    mains = np.concatenate(mains_all)
    logits = torch.cat([_grade(scorer, mains[s:s + chunk]) for s in range(0, len(mains), chunk)])
    top_mains, _ = _top(mains, logits, keep)
    acc_sets = _accessory_sets(problem)
    best_states = np.zeros((0, WIDTH), dtype=np.int64)
    best_logits = torch.zeros(0)
    per = max(1, chunk // max(1, len(acc_sets)))
    for start in range(0, len(top_mains), per):
        states = _append_accessories(top_mains[start:start + per], acc_sets)
        best_states, best_logits = _top(np.concatenate([best_states, states]),
                                        torch.cat([best_logits, _grade(scorer, states)]), pool)
    return _candidates(best_states, best_logits)
