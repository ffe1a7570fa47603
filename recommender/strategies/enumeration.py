"""The enumerating strategies: ``exhaustive`` (every complete outfit graded) and ``partial``
(the paper's: every filling of the main slots and shoes, then accessories on the best), and
:func:`count_outfits`, how many outfits a closet can make."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import torch

from outfit.errors import OutfitError
from outfit.vocab import ACCESSORY, MAX_ACCESSORIES

from ..problem import SearchProblem
from ..scoring import ClosetScorer
from .registry import Candidate, register_strategy
from .steps import WIDTH, _candidates, _grade, _lengths, _start, _steps

__all__ = ["exhaustive_search", "partial_search", "count_outfits", "TooManyOutfitsError"]


class TooManyOutfitsError(OutfitError):
    """An enumerating strategy was asked to grade more outfits than its limit."""


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
