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

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from outfit.errors import OutfitError
from outfit.registry import Registry
from outfit.vocab import ACCESSORY, FULL, LOWER, MAX_ACCESSORIES, OUTER, SHOES, UPPER

from .problem import ONE_OF_A_KIND, SearchProblem
from .scoring import ClosetScorer, Partial

__all__ = ["Candidate", "register_strategy", "get_strategy", "list_strategies",
           "count_outfits", "TooManyOutfitsError", "WIDTH", "Shortlist"]

WIDTH = 8  # most items in an outfit: three main pieces, shoes, three accessories, one spare

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
    """``(B, len(opts))``: which accessories may join each state (not already worn, at most
    three accessories, one of each one-of-a-kind category)."""
    held = states >= 0
    safe = np.where(held, states, 0)
    acc = held & problem.is_accessory[safe]  # (B, S)
    worn = (states[:, :, None] == opts[None, None, :]).any(1)  # (B, n)
    kinds = np.where(acc & problem.one_of_a_kind[safe], problem.kind_code[safe], -1)
    clash = (kinds[:, :, None] == problem.kind_code[opts][None, None, :]).any(1)
    clash &= problem.one_of_a_kind[opts][None, :]
    room = acc.sum(1) < MAX_ACCESSORIES
    return ~worn & ~clash & room[:, None]


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


def _trees(problem: SearchProblem) -> list[list[_Step]]:
    """The beams to run: one from a top and a bottom, one from a one-piece (where the closet
    has them), each optionally adding a layer over it, then shoes, then accessories."""
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
        trees.append(steps + tail)
    return trees


def _unique(states: np.ndarray) -> np.ndarray:
    """Indices of the first state of each distinct set of rows."""
    _, first = np.unique(np.sort(states, axis=1), axis=0, return_index=True)
    return np.sort(first)


def _select(states: np.ndarray, logits: torch.Tensor, keep: int, diversity: float
            ) -> torch.Tensor:
    """The ``keep`` states to carry on: the best by logit, or with ``diversity`` > 0 a greedy
    maximal-marginal-relevance pick among the ``3 * keep`` best (logits standardised, minus
    ``diversity`` times the largest Jaccard overlap with the states already picked). A beam
    whose states all share one prefix could only offer near-copies of one outfit."""
    if len(logits) <= keep:
        return torch.argsort(logits, descending=True, stable=True)
    if diversity <= 0:
        return torch.topk(logits, keep).indices
    top = torch.topk(logits, min(len(logits), 3 * keep)).indices.numpy()
    z = logits[top].double().numpy()
    z = (z - z.mean()) / (z.std() + 1e-9)
    rows = states[top]
    n_items = (rows >= 0).sum(1)
    chosen: list[int] = []
    overlap = np.zeros(len(top))
    free = np.ones(len(top), dtype=bool)
    for _ in range(keep):
        gain = np.where(free, (1 - diversity) * z - diversity * overlap, -np.inf)
        j = int(np.argmax(gain))
        chosen.append(j)
        free[j] = False
        pick = rows[j][rows[j] >= 0]
        shared = np.isin(rows, pick).sum(1)
        overlap = np.maximum(overlap, shared / np.maximum(1, n_items + len(pick) - shared))
    return torch.from_numpy(top[chosen])


@register_strategy("beam")
def beam_search(problem: SearchProblem, scorer: ClosetScorer, *, beam: int = 16,
                shortlist: Shortlist | None = None, pool: int = 200, diversity: float = 0.0,
                refine: int = 4, **_: object) -> list[Candidate]:
    """Beam search, one part per step: keep the ``beam`` best partial outfits after each step,
    every expansion of every state graded in one batch by adding its new item to the state's
    running sums. Returns up to ``pool`` complete outfits, best first (the last step keeps
    all its expansions, so that diversity has room to choose). ``shortlist`` (large closets)
    narrows each state's options for a slot before grading; ``diversity`` spreads the beam
    over different partial outfits (see ``_select``); the ``refine`` best outfits found are
    then improved by hill climbing over one-item moves (``_refine``)."""
    if beam < 1:
        raise OutfitError(f"beam width must be at least 1, got {beam}")
    trees = _trees(problem)
    # The trees run in step, their expansions graded in one batch; the shorter ones start later
    # so that all end on the same step.
    depth = max((len(t) for t in trees), default=0)
    parts = [scorer.start(_start(problem)) for _ in trees]
    logits = [scorer.grade(p) for p in parts]  # everything pinned: the outfit is given
    for k in range(depth):
        grown: list[tuple[int, Partial, bool]] = []
        for t, steps in enumerate(trees):
            j = k - (depth - len(steps))
            if j < 0 or len(parts[t]) == 0:
                continue
            step = steps[j]
            states = parts[t].states()
            candidates = np.asarray(problem.candidates[step.slot], dtype=np.int64)
            options = (shortlist(problem, step.slot, states, candidates) if shortlist is not None
                       else [candidates] * len(states))  # the same list object: one grid
            parents, rows = _expand(problem, states, step, options)
            part = scorer.extend(parts[t], parents, rows)
            if step.slot == ACCESSORY:  # the same set of items reached in two orders
                part = part.take(_unique(part.states()))
            grown.append((t, part, j == len(steps) - 1))
        if not grown:
            break
        graded = scorer.grade(Partial.cat([p for _, p, _ in grown])).split(
            [len(p) for _, p, _ in grown])
        for (t, part, last), z in zip(grown, graded, strict=True):
            top = _select(part.states(), z, pool if last else beam, 0.0 if last else diversity)
            parts[t], logits[t] = part.take(top), z[top]
    found: list[Candidate] = []
    for part, z in zip(parts, logits, strict=True):
        found += _candidates(part.states(), z)
    found = sorted(_dedupe(found), key=lambda c: -c.logit)
    if refine:
        found = sorted(_dedupe(_refine(problem, scorer, found[:refine], shortlist) + found),
                       key=lambda c: -c.logit)
    return found[:pool]


def _moves(problem: SearchProblem, rows: np.ndarray, shortlist: Shortlist | None
           ) -> tuple[np.ndarray, np.ndarray]:
    """Every move from the complete outfit ``rows`` to another: ``(taken off, put on)`` row
    pairs (-1: nothing), i.e. one item swapped for another of its slot, or a layer or an
    accessory taken off or put on. Pinned items stay."""
    shapes = set(problem.shapes())
    main = {problem.slot[r] for r in rows if problem.slot[r] in (OUTER, UPPER, LOWER, FULL)}
    offs: list[np.ndarray] = []
    ons: list[np.ndarray] = []

    def options(slot: str, state: np.ndarray) -> np.ndarray:
        cands = np.asarray(problem.candidates[slot], dtype=np.int64)
        if shortlist is not None:
            padded = np.full((1, WIDTH), -1, dtype=np.int64)
            padded[0, :len(state)] = state
            cands = shortlist(problem, slot, padded, cands)[0]
        return cands

    def add(off: int, on: np.ndarray) -> None:
        offs.append(np.full(len(on), off, dtype=np.int64))
        ons.append(on.astype(np.int64))

    for p, r in enumerate(rows):
        if r in problem.pinned:
            continue
        slot = problem.slot[r]
        rest = np.delete(rows, p)
        cands = options(slot, rest)
        if slot == ACCESSORY:
            cands = _accessory_filter(problem, rest, cands)
        if slot == ACCESSORY or (slot == OUTER and frozenset(main - {OUTER}) in shapes):
            add(int(r), np.array([-1]))
        add(int(r), cands[cands != r])
    if len(rows) < WIDTH:
        if OUTER not in main and frozenset(main | {OUTER}) in shapes:
            add(-1, options(OUTER, rows))
        add(-1, _accessory_filter(problem, rows, options(ACCESSORY, rows)))
    if not offs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(offs), np.concatenate(ons)


def _refine(problem: SearchProblem, scorer: ClosetScorer, start: Sequence[Candidate],
            shortlist: Shortlist | None, passes: int = 8) -> list[Candidate]:
    """Hill climbing from each of ``start``: take the best move (:func:`_moves`) while it
    scores higher. Partial outfits guide the beam imperfectly (a bag can rescue or spoil what
    the shoes began); one-item repairs of its best outfits recover part of what it missed.
    Each move is graded by taking one item's terms off the outfit's sums and adding another's."""
    out = []
    for c in start:
        rows, logit = np.asarray(c.rows, dtype=np.int64), c.logit
        for _ in range(passes):
            off, on = _moves(problem, rows, shortlist)
            if not len(off):
                break
            padded = np.full((1, WIDTH), -1, dtype=np.int64)
            padded[0, :len(rows)] = rows
            part = scorer.start(padded)
            zeros = np.zeros(len(off), dtype=np.int64)
            moved = scorer.extend(scorer.remove(part, zeros, off), np.arange(len(off)), on)
            z = scorer.grade(moved)
            j = int(torch.argmax(z))
            if float(z[j]) <= logit + 1e-6:
                break
            state = moved.rows[j].cpu().numpy()
            rows, logit = state[state >= 0], float(z[j])
        out.append(Candidate(tuple(int(r) for r in rows), logit))
    return out


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
            kinds = [problem.kind[r] for r in (*held, *combo)]
            if all(kinds.count(k) == 1 for k in kinds if k in ONE_OF_A_KIND):
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
    # group the free accessories by kind: at most one of each one-of-a-kind kind
    counts: dict[str, int] = {}
    for r in problem.candidates[ACCESSORY]:
        counts[problem.kind[r]] = counts.get(problem.kind[r], 0) + 1
    taken = {problem.kind[r] for r in held}
    # polynomial in x: number of ways to pick j accessories
    poly = [1]
    for kind, n in counts.items():
        if kind in ONE_OF_A_KIND:
            factor = [1] if kind in taken else [1, n]
        else:
            factor = [math.comb(n, j) for j in range(n + 1)]
        new = [0] * (len(poly) + len(factor) - 1)
        for i, a in enumerate(poly):
            for j, b in enumerate(factor):
                new[i + j] += a * b
        poly = new
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
                      pool: int = 200, chunk: int = 65536, **_: object) -> list[Candidate]:
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
                   max_outfits: int = 2_000_000, pool: int = 200, chunk: int = 65536,
                   **_: object) -> list[Candidate]:
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
