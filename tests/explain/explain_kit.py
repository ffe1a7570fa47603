"""Small graders with known answers, shared by the explainer's tests."""

import torch

from explain.reference import FeatureReference
from grader.api import FeatureTable, GraderModel, slot_ids
from grader.features import ItemFeatureNet
from grader.model import OutfitGrader
from grader.preprocess import Preprocessing
from outfit.domain import Item

ITEMS = (Item("top", "shirt", "tops", name="striped shirt"), Item("skirt", "skirt", "bottoms"),
         Item("shoe", "loafers", "shoes"), Item("bag", "tote", "bags"),
         Item("hat", "fedora", "hats"))


def _net() -> ItemFeatureNet:
    return ItemFeatureNet(["a", "b", "c"], ["solid", "striped"], backbone="small", style_dim=4)


class Linear(OutfitGrader):
    """logit = sum over worn items of w . x (slots ignored): every method's answer is known."""

    arch = "linear-test"

    def __init__(self, dim: int) -> None:
        super().__init__(dim)
        self.w = torch.nn.Parameter(torch.linspace(-1, 1, dim))

    def forward(self, feats, slots, mask):
        return ((feats @ self.w) * mask.to(feats.dtype)).sum(1)


class Clash(OutfitGrader):
    """Punishes one clash: the pattern groups of two items both "striped" (their product),
    plus small item-wise terms everywhere else."""

    arch = "clash-test"

    def __init__(self, layout) -> None:
        super().__init__(layout.dim)
        self.p = layout.slice("pattern").start + 1  # the "striped" dimension
        self.w = torch.nn.Parameter(0.05 * torch.randn(layout.dim, generator=torch.Generator()
                                                       .manual_seed(3)))

    def forward(self, feats, slots, mask):
        m = mask.to(feats.dtype)
        s = feats[..., self.p] * m
        clash = 0.5 * (s.sum(1) ** 2 - (s**2).sum(1))
        return ((feats @ self.w) * m).sum(1) - 4.0 * clash


def _model(grader: OutfitGrader) -> GraderModel:
    return GraderModel(_net(), grader, Preprocessing(32)).eval()


def _table(feats: torch.Tensor, items=ITEMS) -> FeatureTable:
    return FeatureTable(tuple(it.id for it in items), feats, slot_ids(items))


def _reference(dim: int, seed: int = 1) -> FeatureReference:
    g = torch.Generator().manual_seed(seed)
    means = {c: torch.rand(dim, generator=g) for c in ("tops", "bottoms", "shoes", "bags", "hats")}
    return FeatureReference(means, torch.rand(dim, generator=g) + 0.5, "test", torch.zeros(dim))


def _setup(grader_cls=Linear, seed=0):
    dim = _net().layout.dim
    model = _model(grader_cls(dim))
    feats = torch.rand(len(ITEMS), dim, generator=torch.Generator().manual_seed(seed))
    return model, _table(feats), _reference(dim)


