"""What every search strategy shares: the outfits it returns (:class:`Candidate`), the
shortlist it may be handed, and the registry of strategies by name. A strategy declares its
options by its keyword-only parameters (:func:`strategy_options`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from outfit.errors import OutfitError
from outfit.registry import Registry

from ..problem import SearchProblem

__all__ = ["Candidate", "Shortlist", "register_strategy", "get_strategy", "list_strategies",
           "strategy_options", "check_strategy_options"]

# (problem, slot, states (B, WIDTH) rows, candidate rows) -> per state, the rows to try
Shortlist = Callable[[SearchProblem, str, np.ndarray, np.ndarray], list[np.ndarray]]


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

