"""``attribute``: an outfit's score split over (item, feature group) pairs.

    from explain import attribute, reasons
    att = attribute(outfit, model)                  # gradient x activation (the paper's)
    att = attribute(outfit, model, method="ig", steps=64)
    print(att.table_text()); print(reasons(att))

Every method answers in logit points: how much each item's colour, shape, pattern or style
moves the outfit's logit. Methods live in :mod:`explain.methods`, one module each, registered
by name; each gets an :class:`OutfitInput` (the outfit's features, the grader as a function of
them, each item's category-mean baseline) and returns a :class:`MethodResult`. Any method
composes with :func:`explain.noise.noise_averaged` (``smoothgrad`` is it around ``gxa``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from grader.api import FeatureTable, GraderModel
from grader.features import FeatureLayout
from grader.model import OutfitGrader
from outfit import defaults
from outfit.domain import Item, Outfit
from outfit.errors import OutfitError
from outfit.registry import Registry
from outfit.vocab import SLOTS

from .clash import Clash, find_clash, pair_clash
from .reference import FeatureReference, feature_reference

__all__ = ["Attribution", "MethodResult", "OutfitInput", "attribute", "register_method",
           "list_methods", "get_method", "GROUP_WORDS"]

GROUP_WORDS = {"color": "colour", "shape": "shape", "pattern": "pattern", "style": "style"}
NOISY_BATCH = 8192
"""At most this many noisy outfits per grader pass (:attr:`OutfitInput.noise`)."""


@dataclass
class OutfitInput:
    """One outfit as the methods see it: features ``feats (n, D)``, slots ``(n,)``, each item's
    category-mean ``baseline (n, D)``, the features' spread ``std (D,)``, and the grader as a
    function of the features: :meth:`logits`. ``noise (S, n, D)``, when set
    (:func:`explain.noise.noise_averaged`), makes that function the grader averaged over the
    ``S`` copies of its input shifted by the noise."""

    items: tuple[Item, ...]
    feats: torch.Tensor
    slots: torch.Tensor
    baseline: torch.Tensor
    std: torch.Tensor
    layout: FeatureLayout
    grader: OutfitGrader
    noise: torch.Tensor | None = None

    @property
    def n(self) -> int:
        return len(self.items)

    @property
    def noise_shape(self) -> tuple[int, ...]:
        return tuple(self.feats.shape)

    @property
    def noise_unit(self) -> torch.Tensor:
        """Noise is measured in each feature's spread."""
        return self.std

    @property
    def groups(self) -> tuple[str, ...]:
        return self.layout.names

    def logits(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(B,)`` of outfits whose items have features ``x (B, n, D)`` (``mask (B, n)``:
        which items are worn; all by default). Differentiable in ``x``."""
        b = x.shape[0]
        if mask is None:
            mask = torch.ones(b, self.n, dtype=torch.bool, device=x.device)
        if self.noise is None:
            return self.grader(x, self.slots.expand(b, -1), mask)
        step = max(1, NOISY_BATCH // max(1, b))
        parts = []
        for s in range(0, len(self.noise), step):
            shift = self.noise[s:s + step]  # (k, n, D)
            k = len(shift)
            noisy = (x[None] + shift[:, None]).reshape(k * b, self.n, -1)
            parts.append(self.grader(noisy, self.slots.expand(k * b, -1),
                                     mask[None].expand(k, -1, -1).reshape(k * b, -1))
                         .reshape(k, b))
        return torch.cat(parts).mean(0)

    def average_over(self, method: Method, shifts: torch.Tensor, **options) -> MethodResult:
        """``method`` on the grader averaged over the outfit shifted by each of ``shifts``."""
        return method(replace(self, noise=shifts), **options)

    def logits_chunked(self, x: torch.Tensor, chunk: int = 4096,
                       mask: torch.Tensor | None = None) -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([self.logits(x[s:s + chunk],
                                          None if mask is None else mask[s:s + chunk])
                              for s in range(0, len(x), chunk)]) if len(x) else torch.zeros(0)

    def gradient(self, x: torch.Tensor, chunk: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(B,)`` and their gradients ``(B, n, D)`` at ``x (B, n, D)``, in chunks."""
        logits, grads = [], []
        for s in range(0, len(x), chunk):
            part = x[s:s + chunk].detach().clone().requires_grad_(True)
            with torch.enable_grad():
                z = self.logits(part)
                (g,) = torch.autograd.grad(z.sum(), part)
            logits.append(z.detach())
            grads.append(g)
        return torch.cat(logits), torch.cat(grads)

    def group_sum(self, values: torch.Tensor) -> torch.Tensor:
        """``(..., D)`` -> ``(..., n_groups)``."""
        return self.layout.group_sum(values)

    def with_baseline(self, off: torch.Tensor) -> torch.Tensor:
        """Outfits ``(B, n, D)``: the outfit with each (item, group) pair where ``off (B, n, G)``
        is True set to the item's category mean for that group."""
        masks = self.group_masks().to(self.feats.dtype).to(self.feats.device)  # (G, D)
        dims = (off.to(self.feats.dtype).to(self.feats.device) @ masks).bool()  # (B, n, D)
        return torch.where(dims, self.baseline[None], self.feats[None])

    def group_masks(self) -> torch.Tensor:
        """``(n_groups, D)`` bool: the dimensions of each group."""
        m = torch.zeros(len(self.layout.groups), self.layout.dim, dtype=torch.bool)
        for g, (_, start, stop) in enumerate(self.layout.groups):
            m[g, start:stop] = True
        return m


@dataclass
class MethodResult:
    """What a method returns: ``values (n, G)`` (None when it attributes whole items only),
    ``items (n,)`` per-item totals, the baseline it compared with, the logit of that baseline
    and the completeness error (sum of the attributions minus the logit difference they
    explain), where the method defines them; ``pairs (n, n)``, a symmetric matrix of the items'
    pair interactions, for a method that has them (``shapley-pairs``)."""

    values: torch.Tensor | None
    items: torch.Tensor
    baseline: str
    reference_logit: float | None = None
    completeness_error: float | None = None
    options: dict = field(default_factory=dict)
    pairs: torch.Tensor | None = None


Method = Callable[..., MethodResult]


def _builtin_methods() -> None:
    from . import methods  # noqa: F401  (registers the built-in methods)


_REGISTRY: Registry[Method] = Registry("attribution method", load=_builtin_methods)
register_method = _REGISTRY.register
list_methods = _REGISTRY.names  # the methods' names
get_method = _REGISTRY.get  # the method registered under a name (an OutfitError listing them)


@dataclass(frozen=True)
class Attribution:
    """An outfit's logit split over its items and their feature groups.

    ``values (n_items, n_groups)``: signed contributions in logit points (NaN for a method that
    attributes whole items only); ``item_totals (n_items,)``; ``logit``/``score`` of the
    outfit; ``baseline`` what the method compared with; ``reference_logit`` the logit of that
    baseline and ``completeness_error`` = sum of item totals - (logit - reference_logit), where
    the method defines them; ``clash``: the two items that pull the score down together, when
    the most harmful one shares its blame (:mod:`explain.clash`); ``pairs (n_items, n_items)``:
    the items' pair interactions in logit points (symmetric, 0 on the diagonal; negative: the
    two clash) for a method that has them (``shapley-pairs``), else None."""

    method: str
    items: tuple[Item, ...]
    groups: tuple[str, ...]
    values: np.ndarray
    item_totals: np.ndarray
    logit: float
    score: float
    baseline: str
    reference_logit: float | None
    completeness_error: float | None
    reference_source: str
    options: dict
    clash: Clash | None = None
    pairs: np.ndarray | None = None

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(it.id for it in self.items)

    @property
    def by_group(self) -> bool:
        """Whether the method splits each item's share over its feature groups."""
        return not np.isnan(self.values).all()

    def ranked(self) -> list[tuple[int, int | None, float]]:
        """``(item index, group index or None, value)``, most harmful (most negative) first:
        (item, group) pairs where the method has them, else items."""
        if self.by_group:
            flat = [(i, g, float(self.values[i, g])) for i in range(len(self.items))
                    for g in range(len(self.groups))]
        else:
            flat = [(i, None, float(v)) for i, v in enumerate(self.item_totals)]
        return sorted(flat, key=lambda t: (t[2], t[0], -1 if t[1] is None else t[1]))

    @property
    def item_blame(self) -> np.ndarray:
        """``(n_items,)``: how much each item pulls the score down, as a person asks "which
        item is the problem": the value of its most harmful property where the method splits
        items by group (a clashing colour is the problem even if the shape is right), else its
        total."""
        if self.by_group:
            return np.nanmin(self.values, axis=1)
        return self.item_totals

    def most_harmful_item(self) -> int:
        """Index of the item with the most harmful property (:attr:`item_blame`)."""
        return int(np.argmin(self.item_blame))

    def to_dict(self) -> dict:
        def num(v: float | None) -> float | None:
            return None if v is None or not np.isfinite(v) else round(float(v), 6)

        return {"method": self.method, "items": list(self.item_ids),
                "labels": [it.label for it in self.items], "groups": list(self.groups),
                "values": [[num(v) for v in row] for row in self.values.tolist()],
                "item_totals": [num(v) for v in self.item_totals.tolist()],
                "logit": num(self.logit), "score": num(self.score), "baseline": self.baseline,
                "reference_logit": num(self.reference_logit),
                "completeness_error": num(self.completeness_error),
                "reference_source": self.reference_source, "options": dict(self.options),
                "clash": None if self.clash is None else self.clash.to_dict(),
                "pairs": None if self.pairs is None
                else [[num(v) for v in row] for row in self.pairs.tolist()]}

    def table_text(self) -> str:
        """The items x groups table as text (logit points; "-" where not split by group)."""
        width = max(12, *(len(it.label[:40]) for it in self.items))
        head = f"{'item':<{width}}" + "".join(f"{GROUP_WORDS.get(g, g):>9}" for g in self.groups)
        lines = [head + f"{'total':>9}"]
        for k, it in enumerate(self.items):
            cells = "".join(f"{v:>+9.2f}" if np.isfinite(v) else f"{'-':>9}"
                            for v in self.values[k])
            lines.append(f"{it.label[:40]:<{width}}{cells}{self.item_totals[k]:>+9.2f}")
        return "\n".join(lines)


def wearable_items(items: Sequence[Item]) -> tuple[Item, ...]:
    """``items`` as a tuple, refused (naming why) when empty or not wearable together."""
    items = tuple(items)
    if not items:
        raise OutfitError("cannot explain an empty outfit", hint="give at least one item")
    problems = Outfit(items).problems()
    if problems:
        raise OutfitError("these items cannot be worn together: " + "; ".join(problems),
                          hint="explain a wearable outfit (one item per main slot, shoes, "
                               "at most three accessories)")
    return items


def outfit_input(items: Sequence[Item], model: GraderModel, *, features: FeatureTable | None = None,
                 reference: FeatureReference | None = None, cache_dir=None
                 ) -> tuple[OutfitInput, FeatureReference]:
    """The :class:`OutfitInput` of ``items`` (features from ``features`` or the photos)."""
    items = wearable_items(items)
    if features is None:
        features = model.item_table(list(items), cache_dir=cache_dir)
    rows = features.rows(it.id for it in items)
    feats = features.feats[torch.tensor(rows)].float().to(model.device)
    if reference is None:
        reference = feature_reference(model, features, list(items))
    grader = model.grader.eval()
    inp = OutfitInput(items, feats, torch.tensor([SLOTS.index(it.slot) for it in items],
                                                 device=model.device),
                      reference.baseline(items).to(model.device),
                      reference.std.to(model.device).clamp(min=1e-6), model.layout, grader)
    return inp, reference


def attribute(outfit: Outfit | Sequence[Item], model: GraderModel,
              method: str | Method = defaults.ATTRIBUTION_METHOD, *,
              features: FeatureTable | None = None, reference: FeatureReference | None = None,
              cache_dir=None, **options) -> Attribution:
    """Attribute ``outfit``'s score to (item, feature group) pairs with ``method`` (a
    registered name, or a method function such as :func:`explain.noise.noise_averaged` gives).

    ``features``: a table holding the items' features (else computed from their photos);
    ``reference``: category means and spread (else the model's, or the outfit's own items');
    ``options`` go to the method (``steps``, ``chunk``, ``samples``, ``noise``, ``seed``...)."""
    fn = get_method(method) if isinstance(method, str) else method
    method = method if isinstance(method, str) else getattr(fn, "__name__", "custom")
    items = outfit.items if isinstance(outfit, Outfit) else tuple(outfit)
    inp, reference = outfit_input(items, model, features=features, reference=reference,
                                  cache_dir=cache_dir)
    with torch.no_grad():
        logit = float(inp.logits(inp.feats[None])[0])
    result = fn(inp, **options)
    n, g = inp.n, len(inp.groups)
    values = (np.full((n, g), np.nan) if result.values is None
              else result.values.detach().double().cpu().numpy())
    totals = result.items.detach().double().cpu().numpy()
    pairs = None if result.pairs is None else result.pairs.detach().double().cpu().numpy()
    with torch.no_grad():
        clash = (find_clash(inp, values, totals) if pairs is None
                 else pair_clash(inp, pairs, totals))
    return Attribution(method=method, items=items, groups=inp.groups, values=values,
                       item_totals=totals, logit=logit,
                       score=float(inp.grader.calibrated(logit)), baseline=result.baseline,
                       reference_logit=result.reference_logit,
                       completeness_error=result.completeness_error,
                       reference_source=reference.source, options=result.options, clash=clash,
                       pairs=pairs)
