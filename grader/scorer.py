"""What evaluation needs from a grader (:class:`OutfitScorer`): a trained model
(:class:`grader.evaluate.ModelScorer`) and every baseline (:mod:`grader.baselines`) are one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from outfit.domain import Item

__all__ = ["OutfitScorer"]


@runtime_checkable
class OutfitScorer(Protocol):
    """What :func:`evaluate` needs from a grader.

    ``prepare`` is called once with every item of the split before any ``logits`` call;
    ``logits`` takes outfits as lists of item ids and returns ``(B,)`` floats, higher = better;
    ``calibrated_probability(logits, temperature, bias)`` (:mod:`grader.metrics`) is the
    calibrated probability that an outfit is good (a scorer without ``bias`` has none).
    """

    temperature: float

    def prepare(self, items: Sequence[Item]) -> None: ...

    def logits(self, outfits: Sequence[Sequence[str]]) -> np.ndarray: ...
