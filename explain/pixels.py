"""Which pixels of each item photo move an outfit's score: signed heat maps, one per item.

    from explain.pixels import pixel_maps
    pm = pixel_maps(outfit.items, model)                   # Grad-CAM, signed
    pm.overlay(0).save("top.png")                          # red lowers the score, blue raises it
    pm = pixel_maps(outfit.items, model, method="ig", steps=32)
    pm = pixel_maps(outfit.items, model, noise_averaged(get_pixel_method("saliency")))

The outfit's logit depends on every item, so a map explains the logit with the other items held
at their features (computed once, from ``features`` or :meth:`GraderModel.item_table`) while
only this item's photo goes through the item-feature CNN with gradients. Every map is in the
photo's own pixels (the model's square input, ``model.prep.image_size`` a side, unless ``size``
says otherwise), and every item of the outfit shares one colour scale: a faint map is a photo
that matters little, not an artefact of normalising each map on its own.

Methods (all signed: a garment's part that pulls the score down is as much an answer as one
that lifts it) are registered by name like the item methods (:mod:`explain.pixel_input`), one
module each in :mod:`explain.pixel_methods`: ``gradcam`` (Grad-CAM at the trunk's last
convolution), ``saliency`` (the pixels' gradient), ``gradxinput`` (gradient times the photo's
difference from a blank photo) and ``ig`` (integrated gradients from the blank photo, each map
summing to logit(photo) - logit(blank photo) up to the reported ``completeness_error``). Any of
them composes with :func:`explain.noise.noise_averaged` (SmoothGrad's noise on the photos).

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

import inspect
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from grader.api import FeatureTable, GraderModel
from grader.color import color_features
from outfit import defaults
from outfit.domain import Item, Outfit
from outfit.errors import OutfitError

from .overlay import LOWERS_RGB, RAISES_RGB, heat_overlay
from .pixel_input import (
    COLOR_MODES,
    PixelInput,
    PixelMethod,
    PixelResult,
    eval_mode,
    get_pixel_method,
    list_pixel_methods,
    photo_items,
    pixel_features,
    pixel_input,
    register_pixel_method,
    soft_color_features,
)
from .pixel_methods.gradcam import gradcam_layer

__all__ = ["PixelMaps", "pixel_maps", "pixel_features", "soft_color_features", "gradcam_layer",
           "register_pixel_method", "list_pixel_methods", "get_pixel_method", "PIXEL_METHODS",
           "COLOR_MODES", "LOWERS_RGB", "RAISES_RGB"]

PIXEL_METHODS: tuple[str, ...] = tuple(list_pixel_methods())
"""The built-in pixel methods (:func:`list_pixel_methods` lists any registered later too)."""


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
    unless a ``features`` table does not match the photos. ``per_pixel``: whether the maps are
    per pixel (else a density over a coarse grid, Grad-CAM's), which sets :attr:`gamma`.
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
    per_pixel: bool = True

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

    @property
    def gamma(self) -> float:
        """The overlay's default gamma: 0.5 for per-pixel maps, whose values peak on a few
        pixels, 1 for a density over a coarse grid (Grad-CAM)."""
        return 0.5 if self.per_pixel else 1.0

    def overlay(self, k: int | str, *, alpha: float = 0.85, gamma: float | None = None,
                muted: bool = True, photo: np.ndarray | None = None) -> Image.Image:
        """Item ``k``'s photo under a diverging overlay (:func:`explain.overlay.heat_overlay`):
        red where it lowers the score, blue where it raises it, with opacity
        ``alpha * |map / scale| ** gamma`` (the shared scale, so the items compare). ``gamma``
        < 1 lifts faint values (default :attr:`gamma`). ``muted``: the photo as a light grey
        silhouette, so that a tint reads on a dark or colourful garment too. ``photo (H, W, 3)``:
        the item's own photo, any size (the map, of its padded square, is fitted to it), in
        place of the model's view of it."""
        picture = self.photos[self.index(k)] if photo is None else photo
        return heat_overlay(picture, self.normalised(k),
                            gamma=self.gamma if gamma is None else gamma, alpha=alpha, muted=muted)

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


# ---------------------------------------------------------------------------------- entry point
def pixel_maps(items: Outfit | Sequence[Item], model: GraderModel,
               method: str | PixelMethod = defaults.PIXEL_METHOD, *, images: torch.Tensor | None = None,
               features: FeatureTable | None = None, steps: int = 16, size: int | None = None,
               relu: bool = False, color: str = "soft", layer: str | None = None,
               rule: str = "gausslegendre", chunk: int = 64, cache_dir=None) -> PixelMaps:
    """Signed pixel maps of how each item's photo moves the outfit's logit (see the module).

    ``method``: a registered name (:func:`list_pixel_methods`) or a pixel method function;
    ``images``: the items' photos ``(n, 3, S, S)`` (uint8 as :func:`load_image_tensor` gives,
    or float in [0, 1]), else decoded from ``Item.image``; ``features``: a table holding every
    item's features (the other items' stand-ins; else computed once from the photos);
    ``steps``/``rule``: the ``ig`` quadrature; ``size``: the maps' side in pixels (default the
    model's input size; pixel-gradient maps are rescaled so that their sums are kept);
    ``relu``: keep only the positive part (for Grad-CAM before upsampling, as the paper does);
    ``color``: ``"soft"`` or ``"fixed"`` (see the module); ``layer``: the trunk module Grad-CAM
    reads (default :func:`gradcam_layer`); ``chunk``: images per CNN pass for ``ig``. A method
    is given those of ``steps``, ``rule``, ``chunk`` and ``layer`` that it takes.

    Raises :class:`OutfitError` for an unknown method, an unwearable outfit, or an item without
    a photo (naming it). The model's parameters, their ``.grad`` and its train/eval modes are
    left as they were; no hook outlives the call.
    """
    fn = get_pixel_method(method) if isinstance(method, str) else method
    name = method if isinstance(method, str) else getattr(fn, "__name__", "custom")
    if color not in COLOR_MODES:
        raise OutfitError(f"unknown colour mode {color!r}", hint="one of: " + ", ".join(COLOR_MODES))
    items = photo_items(items.items if isinstance(items, Outfit) else items, images)
    s = model.prep.image_size
    size = int(size or s)
    with eval_mode(model):
        inp = pixel_input(items, model, images=images, features=features, color=color,
                          cache_dir=cache_dir)
        taken = inspect.signature(fn).parameters
        result = fn(inp, **{k: v for k, v in {"steps": steps, "rule": rule, "chunk": chunk,
                                               "layer": layer}.items() if k in taken})
        maps = result.maps.clamp(min=0) if relu else result.maps
        with torch.no_grad():
            checks = _checks(inp, maps, result)
        # a density over a grid (Grad-CAM) is upsampled as is; per-pixel maps are rescaled by
        # the area ratio so that a map's sum is (nearly) kept
        maps = _resize(maps, size) * ((s / size) ** 2 if result.per_pixel else 1.0)
    out = maps.detach().float().cpu().numpy()
    pics = (inp.photos * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    if size != s:
        pics = np.stack([np.asarray(Image.fromarray(p).resize((size, size),
                                                              Image.Resampling.BICUBIC))
                         for p in pics])
    return PixelMaps(method=name, item_ids=tuple(it.id for it in items), maps=out,
                     scale=float(np.abs(out).max()) if out.size else 0.0, photos=pics,
                     color=color, relu=bool(relu), options={"color": color, **result.options},
                     per_pixel=result.per_pixel, **checks)


def _checks(inp: PixelInput, maps: torch.Tensor, result: PixelResult) -> dict:
    """The outfit's logit, each item's colour effect and path error, and, for a method that
    integrates from the blank photo, its reference logits and completeness error."""
    which = inp.which
    logit = float(inp.logits(which[:1], inp.feats[:1])[0])
    own = inp.rows(which, inp.photos)
    path = inp.logits(which, own)
    recolored = own.clone()
    recolored[:, inp.model.layout.slice("color")] = color_features(inp.blank[None])[0]
    out = {"logit": logit, "color_effect": (path - inp.logits(which, recolored)).cpu().numpy(),
           "path_errors": (path - logit).cpu().numpy()}
    if result.reference_logits is not None:
        ref, end = result.reference_logits, result.end_logits
        out["reference_logits"] = ref.cpu().numpy()
        out["completeness_error"] = (maps.sum((1, 2)) - (end - ref)).cpu().numpy()
    return out


def _resize(maps: torch.Tensor, size: int) -> torch.Tensor:
    """``(n, h, w)`` -> ``(n, size, size)``, bilinear."""
    if tuple(maps.shape[1:]) == (size, size):
        return maps
    return F.interpolate(maps[:, None], size=(size, size), mode="bilinear",
                         align_corners=False)[:, 0]
