"""The explainer under test: one attribution method, its reference and options, as every check
calls it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from grader.api import FeatureTable, GraderModel
from outfit.domain import Item
from outfit.errors import OutfitError

from ..attribution import Attribution, attribute
from ..reference import FeatureReference


class Explainer:
    """``attribute`` with one method, reference and options; counts the outfits it refused.
    :meth:`of_table` remembers its answers: the two readings of the ground truth explain many
    of the same bad outfits with the same model and table."""

    def __init__(self, method: str, reference: FeatureReference, options: Mapping[str, Any]):
        self.method, self.reference, self.options = method, reference, dict(options)
        self.skipped = 0
        self._memo: dict[tuple[str, ...], Attribution | None] = {}

    def of_table(self, items: Sequence[Item], model: GraderModel,
                 table: FeatureTable) -> Attribution | None:
        """``self(items, model, table)`` for the evaluated model and the split's feature table
        (only ever called with those two), computed once per outfit."""
        key = tuple(it.id for it in items)
        if key not in self._memo:
            self._memo[key] = self(items, model, table)
        elif self._memo[key] is None:
            self.skipped += 1  # refused again, counted as before
        return self._memo[key]

    def __call__(self, items: Sequence[Item], model: GraderModel,
                 features: FeatureTable) -> Attribution | None:
        try:
            return attribute(items, model, self.method, features=features,
                             reference=self.reference, **self.options)
        except OutfitError:  # e.g. exact Shapley values of an outfit of nine items
            self.skipped += 1
            return None


def by_group_of(atts: Sequence[Attribution | None]) -> bool:
    """Whether the method gives group values, as its last answer in ``atts`` says (True when it
    answered none)."""
    answered = [att for att in atts if att is not None]
    return answered[-1].by_group if answered else True
