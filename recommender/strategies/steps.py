"""The partial outfits the strategies build and grade, and the steps that extend them: a state
is a row of ``WIDTH`` closet rows, padded with -1; one part is added per step (main pieces,
then shoes, then accessories, at most one accessory of each group)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from outfit.vocab import ACCESSORY, FULL, LOWER, MAX_ACCESSORIES, OUTER, SHOES, UPPER

from ..problem import SearchProblem
from ..scoring import ClosetScorer
from .registry import Candidate

WIDTH = 8  # most items in an outfit: three main pieces, shoes, three accessories, one spare

_MAIN_ORDER = {frozenset({UPPER, LOWER}): (UPPER, LOWER),
               frozenset({OUTER, UPPER, LOWER}): (UPPER, LOWER, OUTER),
               frozenset({FULL}): (FULL,),
               frozenset({OUTER, FULL}): (FULL, OUTER)}


@dataclass(frozen=True)
class _Step:
    slot: str
    optional: bool  # "none" is a choice


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

