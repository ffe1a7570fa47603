"""What a pixel method sees and returns, and the registry of pixel methods (the pixel side of
:mod:`explain.attribution`): a method is a function ``(PixelInput, **options) -> PixelResult``
registered by name with :func:`register_pixel_method`, one module each in
:mod:`explain.pixel_methods`; :func:`explain.pixels.pixel_maps` looks it up by name.

A :class:`PixelInput` is an outfit with every item's features cached: :meth:`PixelInput.logits`
grades copies of it with one item's row replaced, and :meth:`PixelInput.rows` computes an item's
features from photos, differentiably in the pixels (:func:`pixel_features`, the colour group by
:func:`soft_color_features` or held fixed; see :mod:`explain.pixels`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from grader.api import FeatureTable, GraderModel, slot_ids
from grader.color import (
    CHROMA_SCALE,
    WORK_SIZE,
    color_features,
    foreground_mask_lab,
    rgb_to_lab,
    soft_color_names,
)
from grader.preprocess import load_image_tensor, to_float
from outfit.domain import Item
from outfit.errors import OutfitError
from outfit.registry import Registry

from .attribution import wearable_items

__all__ = ["PixelInput", "PixelResult", "PixelMethod", "register_pixel_method",
           "list_pixel_methods", "get_pixel_method", "pixel_input", "photo_items",
           "pixel_features", "soft_color_features", "eval_mode", "COLOR_MODES"]

COLOR_MODES: tuple[str, ...] = ("soft", "fixed")


@dataclass
class PixelResult:
    """What a pixel method returns: ``maps (n, h, w)`` signed, positive where the pixels raise
    the logit; ``per_pixel``: values per pixel (rescaled by the area ratio when resized, and
    drawn with gamma 0.5) or a density over a coarse grid (Grad-CAM: upsampled as is, gamma 1);
    for a method that integrates from the blank photo, ``reference_logits (n,)`` (the logit with
    the item's photo blank) and ``end_logits (n,)`` (the path's end), which the completeness
    error compares the maps' sums with; ``options`` to report."""

    maps: torch.Tensor
    per_pixel: bool = True
    reference_logits: torch.Tensor | None = None
    end_logits: torch.Tensor | None = None
    options: dict = field(default_factory=dict)

    @staticmethod
    def mean(results: Sequence[PixelResult]) -> PixelResult:
        """The average of one method's results (on noisy copies of the photos)."""
        def avg(name: str) -> torch.Tensor | None:
            values = [getattr(r, name) for r in results]
            return None if values[0] is None else torch.stack(values).mean(0)

        first = results[0]
        return PixelResult(avg("maps"), first.per_pixel, avg("reference_logits"),
                           avg("end_logits"), dict(first.options))


@dataclass
class PixelInput:
    """The outfit with every item's features cached. ``shift (n, 3, S, S)``, when set
    (:func:`explain.noise.noise_averaged`), is added to any photo before the model reads it."""

    model: GraderModel
    items: tuple[Item, ...]
    feats: torch.Tensor  # (n, D)
    slots: torch.Tensor  # (n,)
    photos: torch.Tensor  # (n, 3, S, S) float in [0, 1]
    color: str
    blank: torch.Tensor  # (3, S, S) the baseline photo
    shift: torch.Tensor | None = None

    @property
    def n(self) -> int:
        return len(self.feats)

    @property
    def which(self) -> torch.Tensor:
        """Every item's position ``(n,)``."""
        return torch.arange(self.n, device=self.feats.device)

    @property
    def noise_shape(self) -> tuple[int, ...]:
        return tuple(self.photos.shape)

    @property
    def noise_unit(self) -> float:
        """Noise is measured in the range of a pixel value."""
        return 1.0

    def logits(self, which: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Logits ``(B,)`` of the outfit with item ``which (B,)``'s features ``rows (B, D)``."""
        b = len(which)
        onehot = F.one_hot(which, self.n).bool()[..., None]  # (B, n, 1)
        x = torch.where(onehot, rows[:, None, :].to(self.feats.dtype), self.feats[None])
        mask = torch.ones(b, self.n, dtype=torch.bool, device=x.device)
        return self.model.grader(x, self.slots.expand(b, -1), mask)

    def colors(self, which: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """The colour group of ``images`` standing in for the photos of items ``which``: soft
        (differentiable, the photos' foreground masks) or fixed at the photos' own."""
        if self.color == "soft":
            return soft_color_features(images, self.photos[which])
        return color_features(self.photos[which])

    def rows(self, which: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """Features ``(B, D)`` of ``images (B, 3, S, S)`` standing in for items ``which``."""
        if self.shift is not None:
            images = images + self.shift[which]
        return pixel_features(self.model, images, color=self.colors(which, images))

    def gradients(self, which: torch.Tensor, images: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(B,)`` and their gradients ``(B, 3, S, S)`` w.r.t. ``images``."""
        x = images.detach().clone().requires_grad_(True)
        z = self.logits(which, self.rows(which, x))
        (g,) = torch.autograd.grad(z.sum(), x)
        return z.detach(), g

    def average_over(self, method: PixelMethod, shifts: torch.Tensor, **options) -> PixelResult:
        """The mean of ``method``'s results on the photos shifted by each of ``shifts``."""
        return PixelResult.mean([method(replace(self, shift=s), **options) for s in shifts])


PixelMethod = Callable[..., PixelResult]


def _builtin_pixel_methods() -> None:
    from . import pixel_methods  # noqa: F401  (registers the built-in methods)


_REGISTRY: Registry[PixelMethod] = Registry("pixel attribution method", ordered=True,
                                            load=_builtin_pixel_methods)
register_pixel_method = _REGISTRY.register
list_pixel_methods = _REGISTRY.names  # in the order they are offered (Grad-CAM first)
get_pixel_method = _REGISTRY.get  # the method registered under a name (an OutfitError if none)


# ---------------------------------------------------------------------------------- features
def pixel_features(model: GraderModel, images: torch.Tensor, *, color: torch.Tensor | None = None
                   ) -> torch.Tensor:
    """Item features ``(B, D)`` of photos ``images (B, 3, S, S)`` in [0, 1], differentiable in
    the pixels through the CNN groups: what :meth:`GraderModel.item_table` computes, with the
    colour group ``color (B, 15)`` given or taken from :func:`color_features` (no gradient)."""
    fn = model.feature_net
    if color is None:
        color = color_features(images.detach())
    return fn.features_from(color, fn.trunk_features(images))


def soft_color_features(images: torch.Tensor, reference: torch.Tensor | None = None
                        ) -> torch.Tensor:
    """A differentiable :func:`color_features`: the same pixels (every step-th, at most
    ``WORK_SIZE`` a side) weighed by the foreground mask of ``reference`` (the item's photo,
    default ``images``; held fixed: a mask has no gradient), each pixel's colour names from the
    exact soft assignment instead of the lookup table (which is piecewise constant), lightness
    and saturation as in :func:`color_features`. Equal to it up to the table's quantisation.
    It calls :mod:`grader.color`'s own mask and soft-name helpers, so that it cannot drift from
    the table it stands in for (a test compares the two)."""
    images = images.float()
    reference = images.detach() if reference is None else reference.float()
    _, _, h, w = images.shape
    step = -(-max(h, w) // WORK_SIZE)

    def sample(x: torch.Tensor) -> torch.Tensor:
        return x[:, :, step // 2 :: step, step // 2 :: step].permute(0, 2, 3, 1)

    with torch.no_grad():
        weights = foreground_mask_lab(rgb_to_lab(sample(reference))).flatten(1).float()
        weights = weights / weights.sum(1, keepdim=True)
    lab = rgb_to_lab(sample(images))
    pixels = lab.flatten(1, 2)  # (B, N, 3)
    names = soft_color_names(pixels.reshape(-1, 3)).reshape(*pixels.shape[:2], -1)
    dist = torch.bmm(weights[:, None, :].expand(len(pixels), -1, -1), names)[:, 0]
    dist = dist / dist.sum(1, keepdim=True)
    lightness = (pixels[..., 0] / 100.0).clamp(0.0, 1.0)
    chroma = (pixels[..., 1:].norm(dim=-1) / CHROMA_SCALE).clamp(0.0, 1.0)
    extra = torch.stack([(weights * lightness).sum(1), (weights * chroma).sum(1)], dim=1)
    return torch.cat([dist, extra], dim=1)


class eval_mode:  # noqa: N801  (used as a context manager, like torch.no_grad)
    """Puts the feature net and the grader in eval mode and restores their modes on exit."""

    def __init__(self, model: GraderModel) -> None:
        self.modules = [m for net in (model.feature_net, model.grader) for m in net.modules()]

    def __enter__(self) -> None:
        self.modes = [m.training for m in self.modules]
        for m in self.modules:
            m.training = False

    def __exit__(self, *exc: object) -> None:
        for m, mode in zip(self.modules, self.modes, strict=True):
            m.training = mode


# ---------------------------------------------------------------------------------- the input
def photo_items(items: Sequence[Item], images: torch.Tensor | None) -> tuple[Item, ...]:
    """``items`` checked: wearable together, and each with a photo unless ``images`` are given."""
    items = wearable_items(items)
    if images is None:
        for it in items:
            if it.image is None:
                raise OutfitError(f"item {it.id} ({it.label}) has no photo, so its pixels cannot "
                                  "be explained", hint="add a photo of it, pass images=, or "
                                  "explain the outfit by feature group with explain.attribute")
    return items


def _photos(items: tuple[Item, ...], model: GraderModel, images: torch.Tensor) -> torch.Tensor:
    """``images`` checked and as float in [0, 1] on the model's device."""
    s = model.prep.image_size
    if tuple(images.shape) != (len(items), 3, s, s):
        raise OutfitError(f"images has shape {tuple(images.shape)}, expected "
                          f"{(len(items), 3, s, s)}", hint="one photo per item, in the items' "
                          "order, preprocessed as load_image_tensor(items, model.prep) does")
    x = to_float(images) if images.dtype == torch.uint8 else images.detach().float()
    return x.to(model.device)


def pixel_input(items: tuple[Item, ...], model: GraderModel, *, images: torch.Tensor | None = None,
                features: FeatureTable | None = None, color: str = "soft", cache_dir=None
                ) -> PixelInput:
    """The :class:`PixelInput` of ``items`` (checked by :func:`photo_items`): their photos from
    ``images`` or decoded, the other items' stand-ins from ``features`` or computed once from
    the photos. Call it with the model in :class:`eval_mode`."""
    s = model.prep.image_size
    if images is None:
        images = load_image_tensor(items, model.prep, cache_dir=cache_dir)
    photos = _photos(items, model, images)
    if features is None:  # the other items' stand-ins, computed once
        features = (model.item_table(list(items), images=images) if images.dtype == torch.uint8
                    else FeatureTable(tuple(it.id for it in items),
                                      pixel_features(model, photos).detach().cpu(),
                                      slot_ids(items)))
    feats = features.feats[torch.tensor(features.rows(it.id for it in items))]
    blank = (torch.tensor(model.prep.pad_color, dtype=torch.float32, device=model.device) / 255.0)
    return PixelInput(model, items, feats.float().to(model.device),
                      slot_ids(items).to(model.device), photos, color,
                      blank[:, None, None].expand(3, s, s))
