"""Which pixels of each item photo move an outfit's score: signed heat maps, one per item.

    from explain.pixels import pixel_maps
    pm = pixel_maps(outfit.items, model)                   # Grad-CAM, signed
    pm.overlay(0).save("top.png")                          # red lowers the score, blue raises it
    pm = pixel_maps(outfit.items, model, method="ig", steps=32)

The outfit's logit depends on every item, so a map explains the logit with the other items held
at their features (computed once, from ``features`` or :meth:`GraderModel.item_table`) while
only this item's photo goes through the item-feature CNN with gradients. Every map is in the
photo's own pixels (the model's square input, ``model.prep.image_size`` a side, unless ``size``
says otherwise), and every item of the outfit shares one colour scale: a faint map is a photo
that matters little, not an artefact of normalising each map on its own.

Methods (all signed: a garment's part that pulls the score down is as much an answer as one
that lifts it):

- ``gradcam``: Grad-CAM (Selvaraju et al., arXiv 1610.02391) at the last convolution of the
  item-feature CNN's trunk: the channel weights are the spatially averaged gradients of the
  outfit's logit, the map is sum_k w_k A_k upsampled to the photo, *without* the paper's ReLU
  (``relu=True`` restores it: only what raises the score is kept).
- ``saliency``: the gradient of the logit with respect to the input pixels (Simonyan et al.,
  arXiv 1312.6034), summed over the colour channels with its sign.
- ``gradxinput``: the gradient times the photo's difference from a blank photo (Shrikumar et
  al., arXiv 1605.01713, measured from the same baseline as ``ig``): the first-order share of
  each pixel in logit(photo) - logit(blank).
- ``ig``: integrated gradients (Sundararajan et al., arXiv 1703.01365) from a blank photo (every
  pixel the preprocessing's pad colour, white: the empty product shot) along the straight path,
  a Gauss-Legendre quadrature of ``steps`` points (see :mod:`explain.methods.ig`). Each map sums
  to logit(photo) - logit(blank photo) up to the reported ``completeness_error``. It costs
  ``steps`` CNN passes per item, so the default is small.

The colour group. :func:`grader.color.color_features` is not differentiable: it runs under
``torch.no_grad``, reads each pixel's colour name from a lookup table over quantised sRGB
(piecewise constant: zero gradient almost everywhere) and weighs the pixels by a thresholded
foreground mask. With ``color="soft"`` (the default) the colour group is recomputed
differentiably by :func:`soft_color_features`: the same sampled pixels (every step-th, at most
``WORK_SIZE`` a side, so above 48 px only those pixels can carry colour; the model reads no
others), the photo's own foreground mask held fixed, and the exact soft assignment to the colour
names in place of the table. The maps then show colour as well as shape, pattern and style; the
logit they explain differs from the model's by the table's quantisation (about 1 Delta E per
pixel), reported as ``path_errors``. With ``color="fixed"`` an item's colour group is held at its
photo's value, so the gradient methods show only what the CNN groups (shape, pattern, style)
read from the pixels, and ``ig`` integrates from the blank photo with the colour kept. Grad-CAM
never shows colour, whichever the mode: the colour group does not pass through the CNN. Every
method reports the colour group's effect as one number per item, ``color_effect``: the logit
minus the logit with this item's colour group taken from a blank photo.
"""

from __future__ import annotations

import io
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

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
from outfit.domain import Item, Outfit
from outfit.errors import OutfitError

from .attribution import wearable_items
from .methods.ig import path_points

__all__ = ["PixelMaps", "pixel_maps", "pixel_features", "soft_color_features", "gradcam_layer",
           "PIXEL_METHODS", "COLOR_MODES", "LOWERS_RGB", "RAISES_RGB"]

PIXEL_METHODS: tuple[str, ...] = ("gradcam", "saliency", "gradxinput", "ig")
COLOR_MODES: tuple[str, ...] = ("soft", "fixed")

LOWERS_RGB = (202, 0, 32)
"""Overlay colour of pixels that lower the score (the red end of ColorBrewer's RdBu)."""
RAISES_RGB = (5, 113, 176)
"""Overlay colour of pixels that raise the score (the blue end of RdBu)."""

_POOLS = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.AvgPool2d, nn.MaxPool2d)
_LAYER_CACHE: weakref.WeakKeyDictionary[nn.Module, str] = weakref.WeakKeyDictionary()


# ---------------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class PixelMaps:
    """Signed pixel maps of one outfit, one per item, on one shared scale.

    ``maps (n, H, W)``: positive where the pixels raise the outfit's logit, negative where they
    lower it (Grad-CAM in arbitrary units, the gradient methods in logit points per pixel);
    ``scale``: the largest absolute value over *all* the maps, which :meth:`overlay` divides
    by; ``photos (n, H, W, 3)`` uint8: what the model saw; ``logit``: the outfit's;
    ``color_effect (n,)``: the logit minus the logit with the item's colour group taken from a
    blank photo (what Grad-CAM and ``color="fixed"`` maps leave out). For ``ig``:
    ``reference_logits (n,)`` the logit with the item's photo blank (its colour as ``color`` says) and
    ``completeness_error (n,)`` = map sum - (path logit - reference logit), the sum taken at
    the model's input size. ``path_errors (n,)``: the logit each map explains (the path's end)
    minus ``logit`` (from the cached features): the soft colour's quantisation, else zero
    unless a ``features`` table does not match the photos.
    """

    method: str
    item_ids: tuple[str, ...]
    maps: np.ndarray
    scale: float
    photos: np.ndarray
    logit: float
    color_effect: np.ndarray
    color: str = "soft"
    relu: bool = False
    reference_logits: np.ndarray | None = None
    completeness_error: np.ndarray | None = None
    path_errors: np.ndarray | None = None
    options: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.item_ids)

    def index(self, k: int | str) -> int:
        """An item's position, from its position or its id."""
        if isinstance(k, str):
            try:
                return self.item_ids.index(k)
            except ValueError:
                raise OutfitError(f"item {k!r} is not in this outfit",
                                  hint="one of: " + ", ".join(self.item_ids)) from None
        if not -len(self) <= k < len(self):
            raise OutfitError(f"no item {k} in an outfit of {len(self)}")
        return k % len(self)

    def normalised(self, k: int | str) -> np.ndarray:
        """Item ``k``'s map divided by the shared scale, in [-1, 1]."""
        m = self.maps[self.index(k)]
        return m / self.scale if self.scale > 0 else np.zeros_like(m)

    def overlay(self, k: int | str, *, alpha: float = 0.85, gamma: float | None = None,
                muted: bool = True) -> Image.Image:
        """Item ``k``'s photo under a diverging overlay: red where it lowers the score, blue where
        it raises it, with opacity ``alpha * |map / scale| ** gamma`` (the shared scale, so the
        items compare). ``gamma`` < 1 lifts faint values; by default 1 for Grad-CAM and 0.5 for
        the pixel-gradient methods, whose values peak on a few pixels. ``muted``: show the photo
        as a light grey silhouette, so that a red or blue tint reads on a dark or colourful
        garment too (False keeps its colours)."""
        v = self.normalised(k)
        g = float(gamma) if gamma is not None else (1.0 if self.method == "gradcam" else 0.5)
        a = (float(alpha) * np.abs(v) ** g)[..., None]
        tint = np.where(v[..., None] < 0, np.array(LOWERS_RGB, np.float32),
                        np.array(RAISES_RGB, np.float32))
        photo = self.photos[self.index(k)].astype(np.float32)
        if muted:  # luma (ITU-R BT.601), squeezed into the light half of the range
            grey = photo @ np.array([0.299, 0.587, 0.114], np.float32)
            photo = np.repeat((110.0 + grey * (145.0 / 255.0))[..., None], 3, axis=-1)
        out = photo * (1 - a) + tint * a
        return Image.fromarray(np.clip(out.round(), 0, 255).astype(np.uint8), "RGB")

    def to_png_bytes(self, k: int | str, **overlay_options) -> bytes:
        """:meth:`overlay` as PNG bytes (for a web page)."""
        buf = io.BytesIO()
        self.overlay(k, **overlay_options).save(buf, format="PNG")
        return buf.getvalue()

    def to_dict(self) -> dict:
        """Everything but the maps and photos, as plain JSON values."""
        def arr(a: np.ndarray | None) -> list[float] | None:
            return None if a is None else [round(float(v), 6) for v in a]

        return {"method": self.method, "items": list(self.item_ids), "scale": float(self.scale),
                "logit": float(self.logit), "color": self.color, "relu": self.relu,
                "color_effect": arr(self.color_effect),
                "reference_logits": arr(self.reference_logits),
                "completeness_error": arr(self.completeness_error),
                "path_errors": arr(self.path_errors), "map_size": list(self.maps.shape[1:]),
                "options": dict(self.options)}


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


# ---------------------------------------------------------------------------------- Grad-CAM layer
def _tensor_shape(out: object) -> torch.Size | None:
    return out.shape if isinstance(out, torch.Tensor) else None


def gradcam_layer(model: GraderModel) -> str:
    """The name (in ``model.feature_net.trunk.named_modules()``) of the module whose output
    Grad-CAM reads: the last one, in the order a forward pass runs them, whose output has the
    shape of the trunk's last convolution's output and that is not a pooling layer, i.e. the
    last convolution after its normalisation and activation (``small``: the last ReLU, before
    the final max-pool; ResNets: ``layer4``; MobileNet: ``features``). Found once per trunk by
    a forward pass with temporary hooks (all removed before it returns)."""
    trunk = model.feature_net.trunk
    if trunk in _LAYER_CACHE:
        return _LAYER_CACHE[trunk]
    fired: list[tuple[str, nn.Module, torch.Size | None]] = []
    handles = []
    size = model.prep.image_size
    try:
        for name, module in trunk.named_modules():
            if name:
                handles.append(module.register_forward_hook(
                    lambda m, _i, out, name=name: fired.append((name, m, _tensor_shape(out)))))
        with torch.no_grad(), _eval_mode(model):
            trunk(torch.zeros(1, 3, size, size, device=model.device))
    finally:
        for h in handles:
            h.remove()
    convs = [k for k, (_, m, _) in enumerate(fired) if isinstance(m, nn.Conv2d)]
    if not convs:
        raise OutfitError(f"the {model.feature_net.backbone_name!r} trunk has no convolution "
                          "for Grad-CAM", hint="use method='saliency' or 'ig'")
    shape = fired[convs[-1]][2]
    name = [n for n, m, s in fired[convs[-1]:] if s == shape and not isinstance(m, _POOLS)][-1]
    _LAYER_CACHE[trunk] = name
    return name


class _eval_mode:
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


# ---------------------------------------------------------------------------------- the outfit
@dataclass
class _Context:
    """The outfit with every item's features cached: :meth:`logits` grades copies of it with one
    item's row replaced (``which (B,)`` the item, ``rows (B, D)`` its features)."""

    model: GraderModel
    feats: torch.Tensor  # (n, D)
    slots: torch.Tensor  # (n,)
    photos: torch.Tensor  # (n, 3, S, S) float in [0, 1]
    color: str
    blank: torch.Tensor  # (3, S, S) the baseline photo

    @property
    def n(self) -> int:
        return len(self.feats)

    def logits(self, which: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
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
        return pixel_features(self.model, images, color=self.colors(which, images))


def _check_items(items: Sequence[Item], images: torch.Tensor | None) -> tuple[Item, ...]:
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


def _resize(maps: torch.Tensor, size: int) -> torch.Tensor:
    """``(n, h, w)`` -> ``(n, size, size)``, bilinear."""
    if tuple(maps.shape[1:]) == (size, size):
        return maps
    return F.interpolate(maps[:, None], size=(size, size), mode="bilinear",
                         align_corners=False)[:, 0]


# ---------------------------------------------------------------------------------- methods
def _gradcam(ctx: _Context, layer: str, relu: bool) -> torch.Tensor:
    modules = dict(ctx.model.feature_net.trunk.named_modules())
    if not layer or layer not in modules:
        raise OutfitError(f"the trunk has no module {layer!r} for Grad-CAM",
                          hint=f"leave layer unset (default {gradcam_layer(ctx.model)!r}) or name "
                               "one of model.feature_net.trunk.named_modules()")
    module = modules[layer]
    captured: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out))
    try:
        which = torch.arange(ctx.n, device=ctx.feats.device)
        z = ctx.logits(which, ctx.rows(which, ctx.photos))
    finally:
        handle.remove()
    if not captured or not isinstance(captured[-1], torch.Tensor) or captured[-1].ndim != 4:
        raise OutfitError(f"trunk module {layer!r} gives no (B, C, H, W) activations to Grad-CAM",
                          hint="name a convolutional layer, or leave layer unset")
    acts = captured[-1]  # (n, C, h, w); a module run twice (ResNet's ReLU) keeps its last output
    (grads,) = torch.autograd.grad(z.sum(), acts)
    cam = (grads.mean((2, 3), keepdim=True) * acts).sum(1).detach()
    return cam.clamp(min=0) if relu else cam


def _pixel_gradients(ctx: _Context, which: torch.Tensor, images: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits ``(B,)`` and their gradients ``(B, 3, S, S)`` w.r.t. ``images``."""
    x = images.detach().clone().requires_grad_(True)
    z = ctx.logits(which, ctx.rows(which, x))
    (g,) = torch.autograd.grad(z.sum(), x)
    return z.detach(), g


def _integrated(ctx: _Context, steps: int, rule: str, chunk: int) -> torch.Tensor:
    alphas, weights = path_points(int(steps), rule)
    a = torch.as_tensor(alphas, dtype=torch.float32, device=ctx.photos.device)
    w = torch.as_tensor(weights, dtype=torch.float32, device=ctx.photos.device)
    delta = ctx.photos - ctx.blank[None]  # (n, 3, S, S)
    pairs = torch.cartesian_prod(torch.arange(ctx.n), torch.arange(len(a))).to(a.device)
    avg = torch.zeros_like(ctx.photos)
    for s in range(0, len(pairs), max(1, int(chunk))):
        item, step = pairs[s:s + max(1, int(chunk))].unbind(1)
        points = ctx.blank[None] + a[step, None, None, None] * delta[item]
        _, g = _pixel_gradients(ctx, item, points)
        avg.index_add_(0, item, w[step, None, None, None] * g)
    return (avg * delta).sum(1)


# ---------------------------------------------------------------------------------- entry point
def pixel_maps(items: Outfit | Sequence[Item], model: GraderModel, method: str = "gradcam", *,
               images: torch.Tensor | None = None, features: FeatureTable | None = None,
               steps: int = 16, size: int | None = None, relu: bool = False,
               color: str = "soft", layer: str | None = None, rule: str = "gausslegendre",
               chunk: int = 64, cache_dir=None) -> PixelMaps:
    """Signed pixel maps of how each item's photo moves the outfit's logit (see the module).

    ``images``: the items' photos ``(n, 3, S, S)`` (uint8 as :func:`load_image_tensor` gives,
    or float in [0, 1]), else decoded from ``Item.image``; ``features``: a table holding every
    item's features (the other items' stand-ins; else computed once from the photos);
    ``steps``/``rule``: the ``ig`` quadrature; ``size``: the maps' side in pixels (default the
    model's input size; pixel-gradient maps are rescaled so that their sums are kept);
    ``relu``: keep only the positive part (for Grad-CAM before upsampling, as the paper does);
    ``color``: ``"soft"`` or ``"fixed"`` (see the module); ``layer``: the trunk module Grad-CAM
    reads (default :func:`gradcam_layer`); ``chunk``: images per CNN pass for ``ig``.

    Raises :class:`OutfitError` for an unknown method, an unwearable outfit, or an item without
    a photo (naming it). The model's parameters, their ``.grad`` and its train/eval modes are
    left as they were; no hook outlives the call.
    """
    if method not in PIXEL_METHODS:
        raise OutfitError(f"unknown pixel attribution method {method!r}",
                          hint="one of: " + ", ".join(PIXEL_METHODS))
    if color not in COLOR_MODES:
        raise OutfitError(f"unknown colour mode {color!r}", hint="one of: " + ", ".join(COLOR_MODES))
    items = _check_items(items.items if isinstance(items, Outfit) else items, images)
    s = model.prep.image_size
    size = int(size or s)
    with _eval_mode(model):
        if images is None:
            images = load_image_tensor(items, model.prep, cache_dir=cache_dir)
        photos = _photos(items, model, images)
        if features is None:  # the other items' stand-ins, computed once
            features = (model.item_table(list(items), images=images) if images.dtype == torch.uint8
                        else FeatureTable(tuple(it.id for it in items),
                                          pixel_features(model, photos).detach().cpu(),
                                          slot_ids(items)))
        feats = features.feats[torch.tensor(features.rows(it.id for it in items))]
        ctx = _Context(model, feats.float().to(model.device), slot_ids(items).to(model.device),
                       photos, color, (torch.tensor(model.prep.pad_color, dtype=torch.float32,
                                                    device=model.device) / 255.0)
                       [:, None, None].expand(3, s, s))
        which = torch.arange(len(items), device=model.device)
        options: dict = {"color": color}
        if method == "gradcam":
            layer = gradcam_layer(model) if layer is None else layer
            maps = _gradcam(ctx, layer, relu)
            options["layer"] = layer
        elif method == "ig":
            maps = _integrated(ctx, steps, rule, chunk)
            options.update(steps=int(steps), rule=rule)
        else:
            _, g = _pixel_gradients(ctx, which, photos)
            maps = g.sum(1) if method == "saliency" else (g * (photos - ctx.blank[None])).sum(1)
        if relu and method != "gradcam":
            maps = maps.clamp(min=0)
        with torch.no_grad():
            logit = float(ctx.logits(which[:1], ctx.feats[:1])[0])
            own = ctx.rows(which, photos)
            path = ctx.logits(which, own)
            recolored = own.clone()
            recolored[:, model.layout.slice("color")] = color_features(ctx.blank[None])[0]
            color_effect = (path - ctx.logits(which, recolored)).cpu().numpy()
            ref_logits = error = None
            if method == "ig":
                ref = ctx.logits(which, ctx.rows(which, ctx.blank.expand(len(items), -1, -1, -1)))
                ref_logits = ref.cpu().numpy()
                error = (maps.sum((1, 2)) - (path - ref)).cpu().numpy()
        # Grad-CAM's map is a density over its grid: upsampled as is; the gradient methods' maps
        # are per pixel: rescaled by the area ratio so that a map's sum is (nearly) kept.
        maps = _resize(maps, size) * (1.0 if method == "gradcam" else (s / size) ** 2)
    out = maps.detach().float().cpu().numpy()
    pics = (photos * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    if size != s:
        pics = np.stack([np.asarray(Image.fromarray(p).resize((size, size),
                                                              Image.Resampling.BICUBIC))
                         for p in pics])
    return PixelMaps(method=method, item_ids=tuple(it.id for it in items), maps=out,
                     scale=float(np.abs(out).max()) if out.size else 0.0, photos=pics,
                     logit=logit, color_effect=color_effect, color=color, relu=bool(relu),
                     reference_logits=ref_logits, completeness_error=error,
                     path_errors=(path - logit).cpu().numpy(), options=options)
