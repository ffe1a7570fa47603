"""What an item's features are compared with: the mean features of its semantic category.

Centered gradient x activation, integrated gradients, occlusion and sampled Shapley values all
need a "typical item of this kind" to stand in for an item or one of its feature groups; smooth
gradients need the features' spread. Training stores both in the model (``feature_reference``
in its metadata, over the training items); for a model trained before that, they are computed
from the items at hand, and the attribution says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from grader.api import FeatureTable, GraderModel, feature_statistics
from outfit.domain import Item
from outfit.errors import OutfitError

__all__ = ["FeatureReference", "feature_reference", "reference_from_table"]


@dataclass(frozen=True)
class FeatureReference:
    """Mean feature vector per semantic category, each dimension's standard deviation, and
    where they come from (``"training items"`` or ``"the closet's items"``)."""

    means: Mapping[str, torch.Tensor]
    std: torch.Tensor
    source: str
    overall: torch.Tensor

    def baseline(self, items: Sequence[Item]) -> torch.Tensor:
        """``(n, D)``: each item's category mean (the overall mean for an unseen category)."""
        return torch.stack([self.means.get(it.semantic_category, self.overall) for it in items])

    def to_dict(self) -> dict:
        return {"means": {k: v.tolist() for k, v in self.means.items()}, "std": self.std.tolist(),
                "overall": self.overall.tolist()}

    @classmethod
    def from_dict(cls, d: Mapping, source: str) -> FeatureReference:
        try:
            means = {str(k): torch.tensor(v, dtype=torch.float32) for k, v in d["means"].items()}
            return cls(means, torch.tensor(d["std"], dtype=torch.float32), source,
                       torch.tensor(d["overall"], dtype=torch.float32))
        except (KeyError, TypeError, ValueError) as exc:
            raise OutfitError(f"the model's feature reference is malformed ({exc})",
                              hint="retrain the model, or pass reference= explicitly") from None


def reference_from_table(table: FeatureTable, items: Sequence[Item],
                         source: str = "the closet's items") -> FeatureReference:
    """Category means and spread of ``items`` (rows of ``table`` by id)."""
    if not items:
        raise OutfitError("no items to compute a feature reference from",
                          hint="pass the closet's items or a model trained by this version")
    feats = table.feats[torch.tensor(table.rows(it.id for it in items))]
    stats = feature_statistics(feats, [it.semantic_category for it in items])
    return FeatureReference.from_dict(stats, source)


def feature_reference(model: GraderModel, table: FeatureTable | None = None,
                      items: Sequence[Item] = ()) -> FeatureReference:
    """The model's stored reference, else one computed from ``items`` in ``table``."""
    stored = model.meta.get("feature_reference")
    if stored:
        return FeatureReference.from_dict(stored, "training items")
    if table is None:
        raise OutfitError("this model stores no feature reference and no items were given",
                          hint="retrain it with this version, or pass the closet's items")
    return reference_from_table(table, items)
