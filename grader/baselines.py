"""Baseline graders, so that every evaluation shows what the CNN adds.

- ``random``: a seeded pseudo-random score per outfit (a hash of its item ids, so the same
  outfit always gets the same score): AUC about 0.5, FITB about 1 / choices.
- ``color-category``: no CNN. Each item is its ``color`` group (computed from the photo, no
  training) and its semantic category; a tiny MLP over outfit-level features (mean colour, the
  colour of each slot, slot presence, category counts and the mean elementwise product of the
  colours of every pair of items, as in a factorisation machine) is trained on the train split:
  its outfits against same-category swaps, plus its labelled compatibility questions.

    scorer = create_baseline("color-category", train_ds, seed=0)
    evaluate(test_ds, scorer, name="color-category")
"""

from __future__ import annotations

import copy
import hashlib
import math
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from data.dataset import Dataset
from outfit.domain import Item
from outfit.errors import OutfitError
from outfit.registry import Registry
from outfit.vocab import SEMANTIC_CATEGORIES, SLOTS

from .api import pad_outfits
from .color import COLOR_DIM, COLOR_NAMES, color_features
from .metrics import auc, fit_temperature
from .preprocess import Preprocessing, load_image_tensor, to_float
from .scorer import OutfitScorer

__all__ = ["register_baseline", "create_baseline", "list_baselines", "RandomScorer",
           "ColorCategoryScorer"]

_REGISTRY: Registry[Callable[..., OutfitScorer]] = Registry("baseline")


def register_baseline(name: str) -> Callable[[Callable[..., OutfitScorer]], Callable[..., OutfitScorer]]:
    """Register ``factory(train_dataset, *, seed, **kwargs) -> scorer`` under ``name``."""
    return _REGISTRY.register(name)


def list_baselines() -> list[str]:
    return _REGISTRY.names()


def create_baseline(name: str, train_dataset: Dataset | None = None, seed: int = 0,
                    **kwargs) -> OutfitScorer:
    """A baseline scorer; those that learn fit ``train_dataset`` here (seconds)."""
    return _REGISTRY.get(name)(train_dataset, seed=seed, **kwargs)


# --------------------------------------------------------------------------- random
class RandomScorer:
    """Scores drawn uniformly in (0, 1) from a hash of ``seed`` and the outfit's sorted ids;
    the logit is that probability's log-odds."""

    temperature = 1.0

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def prepare(self, items: Sequence[Item]) -> None:
        pass

    def logits(self, outfits: Sequence[Sequence[str]]) -> np.ndarray:
        u = np.empty(len(outfits), dtype=np.float64)
        for k, outfit in enumerate(outfits):
            key = f"{self.seed}\x1e" + "\x1f".join(sorted(outfit))
            digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
            u[k] = (int.from_bytes(digest, "little") + 0.5) / 2.0**64
        return np.log(u) - np.log1p(-u)


@register_baseline("random")
def _random(train_dataset: Dataset | None = None, *, seed: int = 0, **_: object) -> RandomScorer:
    return RandomScorer(seed)


# --------------------------------------------------------------------------- colour + category
_N_SLOTS = len(SLOTS)
_N_CATS = len(SEMANTIC_CATEGORIES)
_N_NAMES = len(COLOR_NAMES)
_UPPER = torch.triu_indices(_N_NAMES, _N_NAMES)  # (2, names * (names + 1) / 2)
FEATURE_DIM = (2 * COLOR_DIM + _UPPER.shape[1] + _N_SLOTS * COLOR_DIM + _N_SLOTS + _N_CATS + 1)


def outfit_features(color: torch.Tensor, slot: torch.Tensor, cat: torch.Tensor,
                    padded: torch.Tensor) -> torch.Tensor:
    """Item rows ``padded (B, S)`` (-1 = none) -> ``(B, FEATURE_DIM)`` outfit features.

    ``color (N, COLOR_DIM)``, ``slot (N,)`` and ``cat (N,)`` describe the items by row. The
    features do not depend on the order of the items.
    """
    mask = (padded >= 0).float()  # (B, S)
    safe = padded.clamp(min=0)
    c = color[safe] * mask[..., None]  # (B, S, C)
    n = mask.sum(1, keepdim=True).clamp(min=1)  # (B, 1)
    total = c.sum(1)  # (B, C)
    # sum over pairs i < j of c_i * c_j, per colour dimension, averaged over the pairs
    n_pairs = (n * (n - 1) / 2).clamp(min=1)
    pairs = (total**2 - (c**2).sum(1)) / 2 / n_pairs
    # which colour names meet which across pairs of items (a clash is a pair of hues)
    names = c[..., :_N_NAMES]
    sum_names = names.sum(1)  # (B, names)
    meet = (sum_names[:, :, None] * sum_names[:, None, :]
            - torch.einsum("bsi,bsj->bij", names, names))  # (B, names, names), symmetric
    meet = meet[:, _UPPER[0], _UPPER[1]] / 2 / n_pairs
    slot_1h = F.one_hot(slot[safe], _N_SLOTS).float() * mask[..., None]  # (B, S, slots)
    per_slot = torch.einsum("bsk,bsc->bkc", slot_1h, c)  # (B, slots, C)
    present = slot_1h.sum(1)  # (B, slots)
    per_slot = per_slot / present.clamp(min=1)[..., None]
    cats = (F.one_hot(cat[safe], _N_CATS).float() * mask[..., None]).sum(1)  # (B, cats)
    return torch.cat([total / n, pairs, meet, per_slot.flatten(1), present.clamp(max=1), cats,
                      n / 8.0], dim=1)


class ColorCategoryScorer:
    """The colour-and-category baseline (see the module docstring). Fit with :meth:`fit`."""

    def __init__(self, *, image_size: int = 32, hidden: int = 32,
                 cache_dir: Path | str | None = None) -> None:
        self.prep = Preprocessing(image_size)
        self.cache_dir = cache_dir
        self.net = (nn.Sequential(nn.Linear(FEATURE_DIM, hidden), nn.ReLU(), nn.Linear(hidden, 1))
                    if hidden else nn.Sequential(nn.Linear(FEATURE_DIM, 1)))
        self.mean = torch.zeros(FEATURE_DIM)
        self.std = torch.ones(FEATURE_DIM)
        self.index: dict[str, int] = {}
        self.color = torch.zeros(0, COLOR_DIM)
        self.slot = torch.zeros(0, dtype=torch.long)
        self.cat = torch.zeros(0, dtype=torch.long)
        self.temperature = 1.0

    def prepare(self, items: Sequence[Item]) -> None:
        """Colour features of the items not seen yet (photos decoded at ``image_size``)."""
        new = [it for it in dict.fromkeys(items) if it.id not in self.index]
        if not new:
            return
        images = load_image_tensor(new, self.prep, cache_dir=self.cache_dir)
        colors = [color_features(to_float(images[s:s + 1024])) for s in range(0, len(new), 1024)]
        self.index.update({it.id: len(self.index) + k for k, it in enumerate(new)})
        self.color = torch.cat([self.color, *colors])
        self.slot = torch.cat([self.slot, torch.tensor([SLOTS.index(it.slot) for it in new])])
        self.cat = torch.cat([self.cat, torch.tensor(
            [SEMANTIC_CATEGORIES.index(it.semantic_category) for it in new])])

    def _features(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        x = outfit_features(self.color, self.slot, self.cat, pad_outfits(rows))
        return (x - self.mean) / self.std

    def _rows(self, outfits: Sequence[Sequence[str]]) -> list[list[int]]:
        try:
            return [[self.index[i] for i in o] for o in outfits]
        except KeyError as exc:
            raise OutfitError(f"item {exc.args[0]!r} was not prepared",
                              hint="call prepare(items) with every item you score") from None

    def logits(self, outfits: Sequence[Sequence[str]]) -> np.ndarray:
        return self.logits_of_rows(self._rows(outfits))

    @torch.no_grad()
    def logits_of_rows(self, rows: Sequence[Sequence[int]], batch_size: int = 8192) -> np.ndarray:
        self.net.eval()
        out = [self.net(self._features(rows[s:s + batch_size]))[:, 0]
               for s in range(0, len(rows), batch_size)]
        return torch.cat(out).double().numpy() if out else np.zeros(0)

    def fit(self, train: Dataset, valid: Dataset | None = None, *, seed: int = 0,
            negatives: int = 2, steps: int = 600, batch_size: int = 512, lr: float = 3e-3,
            weight_decay: float = 1e-2, eval_every: int = 50) -> ColorCategoryScorer:
        """Train on ``train``'s outfits (positives), ``negatives`` same-category swaps of each,
        and its labelled compatibility questions, positives and negatives weighing the same.

        With a ``valid`` split that has compatibility questions, keep the state with the best
        validation AUC (checked every ``eval_every`` steps) and fit the temperature there, as
        training the grader does; without one, train ``steps`` steps and keep temperature 1.
        """
        if not train.outfits:
            raise OutfitError(f"the color-category baseline needs training outfits; "
                              f"{train.name}/{train.split} has none",
                              hint="evaluate with the dataset's train split present")
        self.prepare(list(train.items.values()))
        rows, labels = self._examples(train, random.Random(seed), negatives)
        x = self._features_raw(rows)
        self.mean, self.std = x.mean(0), x.std(0).clamp(min=1e-4)
        x = (x - self.mean) / self.std
        y = torch.tensor(labels)
        pos_weight = (y == 0).sum() / (y == 1).sum().clamp(min=1)
        check = None
        if valid is not None and valid.compatibility:
            self.prepare(list(valid.items.values()))
            check = (self._rows([q.item_ids for q in valid.compatibility]),
                     np.array([q.label for q in valid.compatibility], dtype=np.float64))
        threads = torch.get_num_threads()
        try:
            torch.set_num_threads(1)  # a tiny net: one thread is several times faster
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self._train(x, y, pos_weight, torch.Generator().manual_seed(seed), check,
                            steps=steps, batch_size=batch_size, lr=lr,
                            weight_decay=weight_decay, eval_every=eval_every)
            if check is not None:
                self.temperature = fit_temperature(self.logits_of_rows(check[0]), check[1])
        finally:
            torch.set_num_threads(threads)
        return self

    def _train(self, x: torch.Tensor, y: torch.Tensor, pos_weight: torch.Tensor,
               gen: torch.Generator, check: tuple[list[list[int]], np.ndarray] | None, *,
               steps: int, batch_size: int, lr: float, weight_decay: float,
               eval_every: int) -> None:
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()
        opt = torch.optim.AdamW(self.net.parameters(), lr=lr, weight_decay=weight_decay)
        best, best_state = -math.inf, None
        for step in range(1, steps + 1):
            self.net.train()
            idx = torch.randint(0, len(x), (min(batch_size, len(x)),), generator=gen)
            loss = F.binary_cross_entropy_with_logits(self.net(x[idx])[:, 0], y[idx],
                                                      pos_weight=pos_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if check is not None and (step % eval_every == 0 or step == steps):
                score = auc(check[1], self.logits_of_rows(check[0]))
                if score > best:
                    best, best_state = score, copy.deepcopy(self.net.state_dict())
        if best_state is not None:
            self.net.load_state_dict(best_state)
        self.net.eval()

    def _features_raw(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        return torch.cat([outfit_features(self.color, self.slot, self.cat,
                                          pad_outfits(rows[s:s + 8192]))
                          for s in range(0, len(rows), 8192)])

    def _examples(self, train: Dataset, rng: random.Random, negatives: int
                  ) -> tuple[list[list[int]], list[float]]:
        by_cat: dict[int, list[int]] = defaultdict(list)
        for item_id in train.items:
            row = self.index[item_id]
            by_cat[int(self.cat[row])].append(row)
        rows: list[list[int]] = []
        labels: list[float] = []
        for outfit in train.outfits:
            pos = self._rows([outfit.item_ids])[0]
            rows.append(pos)
            labels.append(1.0)
            for _ in range(negatives):
                neg = list(pos)
                p = rng.randrange(len(neg))
                choices = by_cat[int(self.cat[neg[p]])]
                cand = rng.choice(choices)
                if cand in neg:
                    continue
                neg[p] = cand
                rows.append(neg)
                labels.append(0.0)
        for q in train.compatibility:
            rows.append(self._rows([q.item_ids])[0])
            labels.append(float(q.label))
        return rows, labels


@register_baseline("color-category")
def _color_category(train_dataset: Dataset | None = None, *, seed: int = 0,
                    valid: Dataset | None = None, cache_dir: Path | str | None = None,
                    **kwargs) -> ColorCategoryScorer:
    if train_dataset is None:
        raise OutfitError("the color-category baseline learns from a train split; none was given")
    return ColorCategoryScorer(cache_dir=cache_dir, **kwargs).fit(train_dataset, valid,
                                                                  seed=seed)
