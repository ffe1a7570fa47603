"""The outfit grader: scores whole and partial outfits from item features.

Two architectures behind one interface, both taking a padded batch of outfits::

    feats (B, S, D)   item features, laid out by the feature net's FeatureLayout
    slots (B, S)      slot ids (index into outfit.vocab.SLOTS)
    mask  (B, S)      True where an item is present

and returning one logit per outfit ``(B,)``. :meth:`OutfitGrader.score` is the calibrated
probability ``sigmoid(logit / T + b)``, T and b fitted on the validation split (Platt scaling:
training sees more negatives than positives, so a temperature alone leaves the scores biased).

- ``slots``: Tangseng et al. (arXiv 1804.09979): one position per slot in a fixed order
  (outer, upper, lower, full, shoes, accessories); an empty slot is a learned vector, so a
  partial outfit is as easy to grade as a whole one; an MLP over the concatenation, helped by
  a pairwise (factorisation machine) term and a pooled sum over the items. Accessories
  (and, in imperfect datasets, a second item in a main slot) are summed into their position, so
  the score does not depend on the order items are listed in.
- ``set``: attention over the items with slot embeddings; any number of items.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from outfit.registry import Registry
from outfit.vocab import SLOTS

from .metrics import calibrated_probability

__all__ = ["OutfitGrader", "ItemTerms", "SlotsGrader", "SetGrader", "create_grader", "list_graders",
           "register_grader"]

N_SLOTS = len(SLOTS)


class OutfitGrader(nn.Module):
    """Common interface. Subclasses implement :meth:`forward` (logits)."""

    arch: str = ""

    def __init__(self, feature_dim: int) -> None:
        super().__init__()
        self.feature_dim = feature_dim
        self.register_buffer("log_temperature", torch.zeros(()))
        self.register_buffer("bias", torch.zeros(()))

    @property
    def temperature(self) -> float:
        return float(self.log_temperature.exp())

    @torch.no_grad()
    def set_calibration(self, temperature: float, bias: float) -> None:
        """Make ``sigmoid(logit / temperature + bias)`` the calibrated probability; the
        logits do not change."""
        self.log_temperature.fill_(math.log(temperature))
        self.bias.fill_(float(bias))

    def forward(self, feats: torch.Tensor, slots: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score(self, feats: torch.Tensor, slots: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Calibrated probability that the outfit is good, ``(B,)`` in [0, 1]."""
        return self.calibrated(self(feats, slots, mask))

    def calibrated(self, logits):
        """The calibrated probabilities of ``logits`` under this grader's temperature and bias
        (:func:`grader.metrics.calibrated_probability`): a tensor for a tensor, else float64."""
        if hasattr(logits, "sigmoid"):
            return calibrated_probability(logits, self.log_temperature.exp(), self.bias)
        return calibrated_probability(logits, self.temperature, float(self.bias))

    def config(self) -> dict:
        """The keyword arguments that rebuild this architecture (for checkpoints)."""
        raise NotImplementedError


_REGISTRY: Registry[type[OutfitGrader]] = Registry("grader architecture")


def register_grader(name: str) -> Callable[[type[OutfitGrader]], type[OutfitGrader]]:
    def deco(cls: type[OutfitGrader]) -> type[OutfitGrader]:
        cls.arch = name
        return _REGISTRY.register(name)(cls)

    return deco


def list_graders() -> list[str]:
    return _REGISTRY.names()


def create_grader(arch: str, feature_dim: int, **config) -> OutfitGrader:
    return _REGISTRY.get(arch)(feature_dim, **config)


@dataclass
class ItemTerms:
    """What each item adds to a :class:`SlotsGrader`'s first layer: ``first (N, H)``, its pair
    factors ``pair (N, R)``, its slot ``slots (N,)``; ``empty (N_SLOTS, H)`` is what each empty
    slot adds, ``bias (H,)`` the layer's bias, ``pair_weight (R,)`` the output layer's weights
    of the pairwise term."""

    first: torch.Tensor
    pair: torch.Tensor
    slots: torch.Tensor
    empty: torch.Tensor
    bias: torch.Tensor
    pair_weight: torch.Tensor


@register_grader("slots")
class SlotsGrader(OutfitGrader):
    """Fixed slot order, learned empty vectors, MLP (the paper's grader)."""

    def __init__(self, feature_dim: int, hidden: int = 256, dropout: float = 0.1,
                 pair_rank: int = 64, pool_dim: int = 128) -> None:
        super().__init__(feature_dim)
        self.hidden, self.dropout, self.pair_rank, self.pool_dim = hidden, dropout, pair_rank, pool_dim
        self.empty = nn.Parameter(torch.zeros(N_SLOTS, feature_dim))
        self.first = nn.Linear(N_SLOTS * feature_dim, hidden)
        # Pairwise interactions (a factorisation machine, Rendle 2010): each item is projected to
        # ``pair_rank`` factors, and sum_{i<j} p_i * p_j feeds the head. Clashes are pairwise
        # (two bold patterns, a casual piece with a formal one), which an MLP over the
        # concatenation learns only slowly from a few thousand outfits.
        self.pair = nn.Linear(feature_dim, pair_rank) if pair_rank else None
        # A pooled summary of the items (Deep Sets, Zaheer et al. 2017): each item through a small
        # MLP, summed over the outfit. Rules that count ("at most two hues", "at most one bold
        # pattern") are sums over items; the concatenation would have to learn them once per
        # combination of slots. Valid AUC on a 4,000-outfit world: 0.968 without, 0.985 with.
        self.pool = (nn.Sequential(nn.Linear(feature_dim, pool_dim), nn.ReLU(),
                                   nn.Linear(pool_dim, pool_dim), nn.ReLU()) if pool_dim else None)
        self.first_pool = nn.Linear(pool_dim, hidden, bias=False) if pool_dim else None
        self.rest = nn.Sequential(nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, hidden // 2),
                                  nn.ReLU())
        self.out = nn.Linear(hidden // 2 + pair_rank, 1)

    def slot_inputs(self, feats: torch.Tensor, slots: torch.Tensor,
                    mask: torch.Tensor) -> torch.Tensor:
        """``(B, N_SLOTS, D)``: the items of each slot summed, or the empty vector."""
        b, s, d = feats.shape
        onehot = nn.functional.one_hot(slots.clamp(0, N_SLOTS - 1), N_SLOTS).to(feats.dtype)
        onehot = onehot * mask.unsqueeze(-1).to(feats.dtype)  # (B, S, N_SLOTS)
        summed = torch.einsum("bsk,bsd->bkd", onehot, feats)  # (B, N_SLOTS, D)
        present = onehot.sum(1).clamp(max=1).unsqueeze(-1)  # (B, N_SLOTS, 1)
        return summed + (1 - present) * self.empty

    def forward(self, feats: torch.Tensor, slots: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.slot_inputs(feats, slots, mask).flatten(1)  # (B, N_SLOTS * D)
        first = self.first(x)
        if self.pool is not None:
            pooled = (self.pool(feats) * mask.unsqueeze(-1).to(feats.dtype)).sum(1)
            first = first + self.first_pool(pooled)
        h = [self.rest(first)]  # (B, hidden // 2)
        if self.pair is not None:
            p = self.pair(feats) * mask.unsqueeze(-1).to(feats.dtype)  # (B, S, R)
            h.append(0.5 * (p.sum(1) ** 2 - (p**2).sum(1)))  # sum over pairs i<j of p_i * p_j
        return self.out(torch.cat(h, -1)).squeeze(-1)

    def config(self) -> dict:
        return {"hidden": self.hidden, "dropout": self.dropout, "pair_rank": self.pair_rank,
                "pool_dim": self.pool_dim}

    # ------------------------------------------------------------- per-item terms (search)
    # The first layer is linear in each item's features and every item enters it once (its
    # slot's block, and the pooled sum), so an outfit's hidden pre-activation is a sum of
    # per-item vectors plus one vector per empty slot. Search computes those once per closet
    # and grades thousands of candidate outfits with a few additions and the small head.

    @torch.no_grad()
    def item_terms(self, feats: torch.Tensor, slots: torch.Tensor) -> ItemTerms:
        """Per-item terms of items ``feats (N, D)`` in ``slots (N,)``; see :meth:`from_terms`."""
        d = self.feature_dim
        blocks = self.first.weight.view(self.first.out_features, N_SLOTS, d)  # (H, K, D)
        slots = slots.clamp(0, N_SLOTS - 1)
        first = feats.new_zeros(len(feats), self.first.out_features)
        for k in range(N_SLOTS):  # W_slot(i) f_i, one matrix product per slot
            rows = (slots == k).nonzero().squeeze(1)
            if len(rows):
                first[rows] = feats[rows] @ blocks[:, k].T
        if self.pool is not None:
            first = first + self.first_pool(self.pool(feats))
        empty = torch.einsum("hkd,kd->kh", blocks, self.empty)  # (K, H)
        pair = self.pair(feats) if self.pair is not None else feats.new_zeros(len(feats), 0)
        pair_weight = self.out.weight[0, self.hidden // 2:].detach().clone()
        return ItemTerms(first, pair, slots, empty, self.first.bias.detach().clone(), pair_weight)

    @torch.no_grad()
    def from_terms(self, terms: ItemTerms, rows: torch.Tensor) -> torch.Tensor:
        """Logits ``(B,)`` of outfits given as padded row indices ``rows (B, S)`` (-1 = none)
        into ``terms``: the same numbers as :meth:`forward` on those items, much cheaper."""
        mask = (rows >= 0).unsqueeze(-1).to(terms.first.dtype)
        safe = rows.clamp(min=0)
        filled = torch.zeros(len(rows), N_SLOTS, dtype=terms.first.dtype, device=rows.device)
        filled.scatter_add_(1, terms.slots[safe], mask[..., 0])
        h = terms.bias + (terms.first[safe] * mask).sum(1) + (filled == 0).to(mask.dtype) @ terms.empty
        p = terms.pair[safe] * mask
        pair_value = 0.5 * ((p.sum(1) ** 2 - (p**2).sum(1)) @ terms.pair_weight)
        return self.head(h, pair_value)

    @torch.no_grad()
    def head(self, h: torch.Tensor, pair_value: torch.Tensor) -> torch.Tensor:
        """Logits from the first layer's pre-activation ``h (B, H)`` (bias, items' and empty
        slots' terms summed) and the pairwise term's share of the logit ``pair_value (B,)``
        (``0.5 * ((sum p)^2 - sum p^2) . pair_weight``). Search keeps both per partial outfit
        and updates them one item at a time."""
        w = self.out.weight[0, :self.hidden // 2]
        return self.rest(h) @ w + pair_value + self.out.bias[0]


@register_grader("set")
class SetGrader(OutfitGrader):
    """Items as tokens (features + slot embedding), self-attention, masked mean, MLP."""

    def __init__(self, feature_dim: int, width: int = 64, layers: int = 2, heads: int = 4,
                 dropout: float = 0.1) -> None:
        super().__init__(feature_dim)
        self.width, self.layers, self.heads, self.dropout = width, layers, heads, dropout
        self.embed = nn.Linear(feature_dim, width)
        self.slot_embed = nn.Embedding(N_SLOTS, width)
        layer = nn.TransformerEncoderLayer(width, heads, dim_feedforward=2 * width,
                                           dropout=dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1))

    def forward(self, feats: torch.Tensor, slots: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.embed(feats) + self.slot_embed(slots.clamp(0, N_SLOTS - 1))  # (B, S, W)
        x = self.encoder(x, src_key_padding_mask=~mask)
        m = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1)  # (B, W)
        return self.head(pooled).squeeze(-1)

    def config(self) -> dict:
        return {"width": self.width, "layers": self.layers, "heads": self.heads,
                "dropout": self.dropout}
