"""A trained model as the rest of the product uses it: features for items, scores for outfits.

    model = load_model("~/.outfit/models/demo")
    table = model.item_table(closet.items)          # features computed once per closet
    probs = model.score(table, [["a", "b", "c"]])   # calibrated probabilities

The recommender and the explainer build on :class:`FeatureTable` and :func:`pad_outfits`, which
turn lists of item ids into the padded tensors the grader reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from outfit.domain import Item
from outfit.errors import ItemNotFoundError, ModelError
from outfit.vocab import SLOTS

from .checkpoint import load_checkpoint, save_checkpoint
from .features import FeatureLayout, ItemFeatureNet
from .model import OutfitGrader, create_grader
from .named_groups import READS, NamedGroups
from .preprocess import Preprocessing, load_image_tensor, to_float

__all__ = ["GraderModel", "FeatureTable", "pad_outfits", "load_model", "slot_ids",
           "feature_statistics"]


def slot_ids(items: Iterable[Item]) -> torch.Tensor:
    """``(N,)`` long: each item's slot as an index into ``outfit.vocab.SLOTS``."""
    return torch.tensor([SLOTS.index(it.slot) for it in items], dtype=torch.long)


@dataclass(eq=False)
class FeatureTable:
    """Item features, one row per item id: ``feats (N, D)``, ``slots (N,)``. Compared and hashed
    by identity (search keeps what it derives from a table beside it; treat it as immutable)."""

    ids: tuple[str, ...]
    feats: torch.Tensor
    slots: torch.Tensor
    index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {i: k for k, i in enumerate(self.ids)}

    def rows(self, item_ids: Iterable[str]) -> list[int]:
        try:
            return [self.index[i] for i in item_ids]
        except KeyError as exc:
            raise ItemNotFoundError(f"item {exc.args[0]!r} has no features in this table",
                                    hint="compute the table over every item you score") from None

    def gather(self, padded: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Padded row indices ``(B, S)`` (-1 = none) -> ``feats (B, S, D)``, ``slots``, ``mask``."""
        mask = padded >= 0
        safe = padded.clamp(min=0)
        return self.feats[safe], self.slots[safe], mask


def feature_statistics(feats: torch.Tensor, categories: Sequence[str]) -> dict[str, Any]:
    """Mean features per semantic category, overall, and each dimension's standard deviation
    (what the explainer compares items with), as plain lists for a checkpoint."""
    feats = feats.float().cpu()
    by_cat: dict[str, list[int]] = {}
    for k, c in enumerate(categories):
        by_cat.setdefault(c, []).append(k)
    std = feats.std(0, unbiased=False) if len(feats) > 1 else torch.ones(feats.shape[1])
    return {"means": {c: feats[torch.tensor(r)].mean(0).tolist() for c, r in by_cat.items()},
            "std": std.tolist(), "overall": feats.mean(0).tolist(), "items": len(feats)}


def pad_outfits(rows: Sequence[Sequence[int]], width: int | None = None) -> torch.Tensor:
    """Lists of row indices -> ``(B, S)`` long, padded with -1."""
    width = width or max((len(r) for r in rows), default=1)
    out = torch.full((len(rows), max(width, 1)), -1, dtype=torch.long)
    for k, r in enumerate(rows):
        out[k, : len(r)] = torch.as_tensor(r, dtype=torch.long)
    return out


class GraderModel:
    """The item-feature net, the grader and what they were trained with."""

    def __init__(self, feature_net: ItemFeatureNet, grader: OutfitGrader, prep: Preprocessing,
                 meta: Mapping[str, Any] | None = None, device: str = "cpu") -> None:
        self.feature_net = feature_net
        self.grader = grader
        self.prep = prep
        self.meta: dict[str, Any] = dict(meta or {})
        groups = self.meta.get("named_groups")
        self.named_groups = NamedGroups.from_dict(groups) if groups else None
        self.device = torch.device(device)
        self.to(device)

    @property
    def layout(self) -> FeatureLayout:
        return self.feature_net.layout

    def to(self, device: str | torch.device) -> GraderModel:
        self.device = torch.device(device)
        self.feature_net.to(self.device)
        self.grader.to(self.device)
        return self

    def eval(self) -> GraderModel:
        self.feature_net.eval()
        self.grader.eval()
        return self

    # ------------------------------------------------------------------ features
    @torch.no_grad()
    def color_and_trunk(self, images: torch.Tensor, batch_size: int = 256
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 photos ``(N, 3, S, S)`` -> colour ``(N, 15)`` and trunk ``(N, C)`` features."""
        from .color import color_features

        self.feature_net.eval()
        colors, trunks = [], []
        for start in range(0, len(images), batch_size):
            x = to_float(images[start:start + batch_size]).to(self.device)
            colors.append(color_features(x).cpu())
            trunks.append(self.feature_net.trunk_features(x).cpu())
        if not colors:
            return torch.zeros(0, 15), torch.zeros(0, self.feature_net.trunk_dim)
        return torch.cat(colors), torch.cat(trunks)

    @property
    def closet_reads(self) -> str:
        """How this model reads a person's photos (one of :data:`~grader.named_groups.READS`):
        ``"tags"`` for a model trained on the synthetic world's drawings (it never saw a photo)
        that keeps its training items' typical named groups, else ``"pixels"``. See
        :mod:`grader.named_groups`."""
        reads = self.meta.get("closet_reads", "pixels")
        return "tags" if reads == "tags" and self.named_groups is not None else "pixels"

    def for_closet(self) -> GraderModel:
        """Ready to grade a person's closet: a model that reads a closet by its tags takes its
        closet calibration (:mod:`grader.closet_calibration`) as its temperature and bias, so
        every score shown (search, explanations, suggestions) is calibrated for real photos.
        The logits, and so the explainer's points, are unchanged. Returns ``self``."""
        cal = self.meta.get("closet_calibration")
        if self.closet_reads == "tags" and cal:
            self.grader.set_calibration(cal["temperature"], cal["bias"])
        return self

    @torch.no_grad()
    def item_table(self, items: Sequence[Item], *, images: torch.Tensor | None = None,
                   cache_dir: Path | str | None = None, reads: str = "pixels") -> FeatureTable:
        """Features of ``items`` (photos decoded unless ``images`` is given).

        ``reads="tags"`` builds the colour, shape, pattern and style groups from each item's
        category and its ``color`` and ``pattern`` attributes where the model knows the value
        (:meth:`NamedGroups.read`), the rest from the photo; datasets are evaluated on pixels
        (their attributes are the answers), a person's closet by :attr:`closet_reads`."""
        if reads not in READS:
            raise ModelError(f"unknown way to read photos {reads!r}", hint="use " + " or ".join(READS))
        if reads == "tags" and self.named_groups is None:
            raise ModelError("this model cannot read photos through their tags: it keeps no "
                             "typical named groups (it was trained on data without colour and "
                             "pattern attributes)", hint="read its photos as pixels")
        if images is None:
            images = load_image_tensor(items, self.prep, cache_dir=cache_dir)
        color, trunk = self.color_and_trunk(images)
        feats = self.feature_net.features_from(color.to(self.device), trunk.to(self.device)).cpu()
        if reads == "tags":
            feats = self.named_groups.read(list(items), feats, self.layout)
        return FeatureTable(tuple(it.id for it in items), feats, slot_ids(items))

    # ------------------------------------------------------------------ scores
    @torch.no_grad()
    def logits(self, table: FeatureTable, outfits: Sequence[Sequence[str]],
               batch_size: int = 8192) -> np.ndarray:
        """Raw logits of outfits given as lists of item ids, ``(B,)``."""
        self.grader.eval()
        out = []
        for start in range(0, len(outfits), batch_size):
            padded = pad_outfits([table.rows(o) for o in outfits[start:start + batch_size]])
            feats, slots, mask = (t.to(self.device) for t in table.gather(padded))
            out.append(self.grader(feats, slots, mask).float().cpu())
        return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.float32)

    def score(self, table: FeatureTable, outfits: Sequence[Sequence[str]]) -> np.ndarray:
        """Calibrated probabilities in [0, 1], ``(B,)``."""
        return self.grader.calibrated(self.logits(table, outfits))

    # ------------------------------------------------------------------ persistence
    def to_checkpoint(self) -> dict[str, Any]:
        fn = self.feature_net
        return {
            "arch": self.grader.arch,
            "grader_config": self.grader.config(),
            "backbone": fn.backbone_name,
            "style_dim": fn.style_head[0].out_features,
            "preprocessing": self.prep.to_dict(),
            "vocab": {"shape": list(fn.shape_names), "pattern": list(fn.pattern_names)},
            "layout": fn.layout.to_dict(),
            "feature_net": {k: v.cpu() for k, v in fn.state_dict().items()},
            "grader": {k: v.cpu() for k, v in self.grader.state_dict().items()},
            **self.meta,
        }

    def save(self, path: Path | str) -> Path:
        return save_checkpoint(path, self.to_checkpoint())

    @classmethod
    def from_checkpoint(cls, ckpt: Mapping[str, Any], device: str = "cpu") -> GraderModel:
        try:
            fn = ItemFeatureNet(ckpt["vocab"]["shape"], ckpt["vocab"]["pattern"],
                                backbone=ckpt["backbone"], style_dim=int(ckpt.get("style_dim", 16)))
            fn.load_state_dict(ckpt["feature_net"])
            grader = create_grader(ckpt["arch"], fn.layout.dim, **ckpt["grader_config"])
            grader.load_state_dict(ckpt["grader"])
        except (RuntimeError, KeyError, TypeError) as exc:
            raise ModelError(f"checkpoint does not fit its own architecture ({str(exc)[:200]})",
                             hint="the file may come from an incompatible version") from None
        if fn.layout.to_dict() != ckpt["layout"]:
            raise ModelError("checkpoint's feature layout differs from the one its net builds")
        meta = {k: v for k, v in ckpt.items() if k not in (
            "arch", "grader_config", "backbone", "style_dim", "preprocessing", "vocab", "layout",
            "feature_net", "grader", "format", "format_version", "torch_version")}
        return cls(fn, grader, Preprocessing.from_dict(ckpt["preprocessing"]), meta,
                   device=device).eval()


def load_model(path: Path | str, device: str = "cpu") -> GraderModel:
    """Load a model folder (or its ``model.pt``) for inference on ``device``."""
    return GraderModel.from_checkpoint(load_checkpoint(path), device=device)
