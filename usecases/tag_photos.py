"""Automatic tags for a person's uploaded photos: what each garment is, its colour and pattern.

    tags = tag_files(["upload/1.jpg", "upload/2.png"], model)           # a model: GraderModel
    tags = tag_files(paths, model, tagger="models/tagger")              # categories from a tagger
    tags[0].category, tags[0].slot, tags[0].color, tags[0].top          # -> "t-shirt", "upper", ...

Every tag comes with the probability behind it and the category comes with its runners-up
(:attr:`Tags.top`), because tags are suggestions the web app shows for the person to confirm
or correct, not facts.

Where each tag comes from:

- ``category``: the grader's shape head (the fine categories it was trained on), or, when a
  tagger is given, the tagger (:mod:`grader.tagger`, trained on real photos: a grader trained on
  the synthetic world has never seen one). The tagger's probabilities are averaged over the
  photo and its mirror image, as :meth:`grader.tagger.Tagger.probabilities` does.
- ``semantic_category`` and ``slot``: looked up from the fine category, never predicted (see
  :func:`semantic_category_of`). A fine category with no known semantic category gets ``None``
  and ``semantic_confidence = 0``: putting an unknown garment into a slot would let the
  recommender build outfits with it in the wrong place.
- ``color``: the largest share of the ``color`` feature group (:mod:`grader.color`) over the
  13 basic colour names, lightness and saturation left out; computed from the same pixels the
  grader sees (the model's image size), so the tag names the colour an explanation will name.
- ``pattern``: the grader's pattern head. A model trained on data without pattern labels has
  an untrained pattern head; its pattern tags mean nothing (look at the model card).

Photos go through the one safe reader (:func:`data.images.load_image`: content-sniffed format,
pixel limit, forced decode) and the model's own preprocessing (:func:`grader.preprocess.
photo_to_array`), so an upload is tagged exactly as the same photo in a closet is featurised.
In :func:`tag_files` a bad file becomes a :class:`TagError` in its place; the other files are
still tagged. Results do not depend on which photos share a batch (every step is per photo; the
network runs in eval mode).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from data.folder import category_for
from data.images import DEFAULT_MAX_PIXELS, load_image, to_rgb
from data.synth.kinds import KINDS
from grader.api import GraderModel
from grader.color import COLOR_NAMES
from grader.preprocess import Preprocessing, photo_to_array
from grader.tagger import Tagger, load_tagger
from outfit.errors import ImageError, UnknownCategoryError
from outfit.vocab import CATEGORY_SLOT, normalize_category

__all__ = ["Tags", "TagError", "AutoTags", "tag_photos", "tag_files", "auto_tag_files",
           "semantic_category_of", "TOP_K"]

TOP_K = 3
"""How many categories :attr:`Tags.top` offers (the best first): enough for a correction menu."""

TaggerLike = Tagger | str | os.PathLike


@dataclass(frozen=True)
class Tags:
    """The suggested tags of one photo; every ``*_confidence`` is a probability in [0, 1].

    ``semantic_category`` and ``slot`` are ``None`` (and ``semantic_confidence`` is 0) where the
    fine category belongs to no known semantic category. ``semantic_confidence`` is the total
    probability of the fine categories of that semantic category: a photo split between "jeans"
    and "trousers" is surely a bottom. ``top`` holds the best categories with their
    probabilities, most likely first; ``top[0]`` is ``category``. ``source`` is the file a tag
    came from (:func:`tag_files`), else ``None``.
    """

    category: str
    category_confidence: float
    semantic_category: str | None
    semantic_confidence: float
    slot: str | None
    color: str
    color_confidence: float
    pattern: str
    pattern_confidence: float
    top: tuple[tuple[str, float], ...]
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (``top`` as a list of ``{"category", "confidence"}``)."""
        out = asdict(self)
        out["top"] = [{"category": c, "confidence": p} for c, p in self.top]
        return out


@dataclass(frozen=True)
class TagError:
    """A file that could not be tagged: which one, what is wrong with it and what to do."""

    file: str
    problem: str
    hint: str = ""

    @property
    def message(self) -> str:
        return f"{self.file}: {self.problem}" + (f" ({self.hint})" if self.hint else "")

    def to_dict(self) -> dict[str, str]:
        return {"file": self.file, "problem": self.problem, "hint": self.hint}


# ------------------------------------------------------------------------ semantic categories


@lru_cache(maxsize=1)
def _synthetic_categories() -> dict[str, str]:
    """Fine category -> semantic category of the synthetic world: every style (its items'
    fine category, ``"chelsea boots"``) and every kind (``"boots"``)."""
    out: dict[str, str] = {}
    for kind in KINDS:
        out[kind.name] = kind.semantic_category
        for style in kind.styles:
            out[style.name] = kind.semantic_category
    return out


def semantic_category_of(fine: str, categories: Mapping[str, str] | None = None) -> str | None:
    """The Polyvore semantic category of fine category ``fine``, or ``None`` where unknown.

    Looked up, in order, in ``categories`` (the caller's own table, e.g. a Polyvore
    ``categories.csv`` read with :func:`data.polyvore.read_categories`), the synthetic world's
    kinds and styles (:data:`data.synth.kinds.KINDS`), and the garment words of closet folders
    (:func:`data.folder.category_for`: clothing-small's folder names, which a tagger's classes
    are, ``"long-sleeve top"``, common synonyms, the semantic categories themselves). The
    sources agree wherever they overlap. Nothing is guessed from similar spellings: Polyvore's
    ``"ankle boots"`` is unknown unless ``categories`` names it.
    """
    if categories is not None and fine in categories:
        return normalize_category(categories[fine])
    synthetic = _synthetic_categories()
    if fine in synthetic:
        return synthetic[fine]
    try:
        return category_for(fine)[1]
    except UnknownCategoryError:
        return None


# ------------------------------------------------------------------------ preprocessing

Photos = torch.Tensor | Sequence[Image.Image]


def _check_tensor(images: torch.Tensor) -> torch.Tensor:
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[2] != images.shape[3]:
        raise ValueError(f"expected square photos of shape (N, 3, S, S), got {tuple(images.shape)}")
    if images.dtype != torch.uint8:
        raise ValueError(f"expected uint8 photos (as grader.preprocess makes them), got "
                         f"{images.dtype}")
    return images


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 ``(N, 3, S, S)`` -> ``(N, 3, size, size)``; antialiased bilinear, each photo on
    its own (so a photo's pixels never depend on its batch)."""
    if images.shape[-1] == size or len(images) == 0:
        return images
    x = F.interpolate(images.float(), size=(size, size), mode="bilinear", align_corners=False,
                      antialias=True)
    return x.round_().clamp_(0, 255).to(torch.uint8)


def _safe_square(image: Image.Image, max_pixels: int) -> Image.Image:
    """Shrink a very long, thin photo before :func:`photo_to_array` pads it to a square, so that
    the square stays within ``max_pixels`` (a 1 x 30,000 strip passes the pixel limit, but its
    padded square would be 900 million pixels). Ordinary photos are left as they are."""
    side = max(image.size)
    if side * side <= max_pixels:
        return image
    scale = math.sqrt(max_pixels) / side
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def _arrays(image: Image.Image, preps: Sequence[Preprocessing],
            max_pixels: int = DEFAULT_MAX_PIXELS) -> list[np.ndarray]:
    """One RGB photo -> its ``(3, S, S)`` uint8 array under each preprocessing."""
    image = _safe_square(to_rgb(image), max_pixels)
    return [photo_to_array(image, prep) for prep in preps]


def _stack(arrays: Sequence[np.ndarray], size: int) -> torch.Tensor:
    if not arrays:
        return torch.zeros(0, 3, size, size, dtype=torch.uint8)
    return torch.from_numpy(np.stack(arrays))


def _resolve_tagger(tagger: TaggerLike | None, device: torch.device) -> Tagger | None:
    if tagger is None or isinstance(tagger, Tagger):
        return tagger
    return load_tagger(tagger, device=str(device))


def _preps(model: GraderModel, tagger: Tagger | None) -> list[Preprocessing]:
    return [model.prep] if tagger is None else [model.prep, tagger.prep]


# ------------------------------------------------------------------------ tagging


@torch.no_grad()
def _tag(model_images: torch.Tensor, tagger_images: torch.Tensor | None, model: GraderModel,
         tagger: Tagger | None, categories: Mapping[str, str] | None) -> list[Tags]:
    """The tags of photos already preprocessed for the model (and the tagger)."""
    if len(model_images) == 0:
        return []
    fn = model.feature_net
    color, trunk = model.color_and_trunk(model_images)
    shape_logits, pattern_logits = (t.float().cpu() for t in fn.heads(trunk.to(model.device)))
    if tagger is not None:
        assert tagger_images is not None
        cat_probs = tagger.probabilities(tagger_images).float()
        names: Sequence[str] = tagger.classes
    else:
        cat_probs = F.softmax(shape_logits, -1)
        names = fn.shape_names
    pattern_probs = F.softmax(pattern_logits, -1)
    color_dist = color[:, : len(COLOR_NAMES)].float()
    color_dist = color_dist / color_dist.sum(1, keepdim=True).clamp_min(1e-12)

    semantics = [semantic_category_of(n, categories) for n in names]
    # (C, G) one-hot: which semantic category each fine category belongs to, for the sums.
    groups = sorted({s for s in semantics if s is not None})
    member = torch.zeros(len(names), max(len(groups), 1))
    for k, s in enumerate(semantics):
        if s is not None:
            member[k, groups.index(s)] = 1.0
    group_probs = cat_probs @ member

    k_top = min(TOP_K, len(names))
    top_p, top_i = cat_probs.topk(k_top, dim=-1)  # sorted, most likely first
    color_p, color_i = color_dist.max(-1)
    pattern_p, pattern_i = pattern_probs.max(-1)
    out = []
    for n in range(len(model_images)):
        best = int(top_i[n, 0])
        semantic = semantics[best]
        out.append(Tags(
            category=names[best],
            category_confidence=_prob(top_p[n, 0]),
            semantic_category=semantic,
            semantic_confidence=(_prob(group_probs[n, groups.index(semantic)])
                                 if semantic is not None else 0.0),
            slot=CATEGORY_SLOT[semantic] if semantic is not None else None,
            color=COLOR_NAMES[int(color_i[n])],
            color_confidence=_prob(color_p[n]),
            pattern=fn.pattern_names[int(pattern_i[n])],
            pattern_confidence=_prob(pattern_p[n]),
            top=tuple((names[int(i)], _prob(p)) for p, i in zip(top_p[n], top_i[n], strict=True)),
        ))
    return out


def _prob(value: torch.Tensor) -> float:
    """A probability as a plain float, clipped into [0, 1] (float sums can overshoot by 1e-7)."""
    return min(1.0, max(0.0, float(value)))


def tag_photos(images: Photos, model: GraderModel, *, tagger: TaggerLike | None = None,
               categories: Mapping[str, str] | None = None) -> list[Tags]:
    """Tags for each photo, in order.

    ``images``: uint8 ``(N, 3, S, S)`` square photos (as :func:`grader.preprocess.
    load_image_tensor` makes them; resized to the model's and the tagger's image size where
    ``S`` differs), or PIL images (any size and mode; padded to a square on white as in
    training). ``tagger``: a :class:`grader.tagger.Tagger` or the folder/file to load one from;
    when given, it decides the category. ``categories``: fine category -> semantic category,
    consulted first (see :func:`semantic_category_of`).
    """
    resolved = _resolve_tagger(tagger, model.device)
    preps = _preps(model, resolved)
    if isinstance(images, torch.Tensor):
        images = _check_tensor(images)
        batches = [_resize(images, p.image_size) for p in preps]
    else:
        per_photo = [_arrays(im, preps) for im in images]
        batches = [_stack([a[k] for a in per_photo], p.image_size) for k, p in enumerate(preps)]
    return _tag(batches[0], batches[1] if resolved is not None else None, model, resolved,
                categories)


def tag_files(paths: Sequence[str | os.PathLike], model: GraderModel, *,
              tagger: TaggerLike | None = None, categories: Mapping[str, str] | None = None,
              max_pixels: int = DEFAULT_MAX_PIXELS) -> list[Tags | TagError]:
    """Tags for each photo file, in order; a file that cannot be read becomes a
    :class:`TagError` in its place (missing, empty, truncated, not an image, too many pixels)
    and the other files are tagged all the same. Each :class:`Tags` has ``source`` = the path.

    Files are decoded one at a time and kept only at model size, so memory does not grow with
    the photos' resolution.
    """
    resolved = _resolve_tagger(tagger, model.device)
    preps = _preps(model, resolved)
    results: list[Tags | TagError | None] = []
    good: list[tuple[int, list[np.ndarray]]] = []
    for path in paths:
        label = os.fspath(path)
        try:
            image = load_image(Path(label), max_pixels=max_pixels)
            arrays = _arrays(image, preps, max_pixels)
        except ImageError as exc:
            results.append(TagError(label, exc.problem, exc.hint))
            continue
        good.append((len(results), arrays))
        results.append(None)
    batches = [_stack([a[k] for _, a in good], p.image_size) for k, p in enumerate(preps)]
    tags = _tag(batches[0], batches[1] if resolved is not None else None, model, resolved,
                categories)
    for (k, _), t in zip(good, tags, strict=True):
        results[k] = replace(t, source=os.fspath(paths[k]))
    return [r for r in results if r is not None]


# ------------------------------------------------------------------- real photos (uploads)


@dataclass(frozen=True)
class AutoTags:
    """What an upload is tagged with by default: ``tags`` as the store's
    :meth:`~closet.store.Store.set_auto_tags` takes them (``{tag: (value, confidence)}``), the
    garment mask as a PNG for :meth:`~closet.store.Store.set_mask`, and the second colour
    (``None`` where the garment has one colour) for the status line."""

    tags: dict[str, tuple[str | None, float]]
    mask_png: bytes
    secondary_color: str | None = None


def auto_tag_files(paths: Sequence[str | os.PathLike], *, tagger: TaggerLike | None = None,
                   max_pixels: int = DEFAULT_MAX_PIXELS) -> list[AutoTags | TagError]:
    """Tag stored photos with the shipped real-photo tagger (:mod:`grader.photo_tags`), whatever
    grader is active: category (and its semantic category, looked up), pattern, main colour
    and the garment mask. A file that cannot be read becomes a :class:`TagError` in its place."""
    from grader.mask import mask_to_png
    from grader.photo_tags import describe_images
    from grader.pretrained import shipped_tagger

    resolved = (shipped_tagger() if tagger is None
                else _resolve_tagger(tagger, torch.device("cpu")))
    out: list[AutoTags | TagError | None] = []
    images: list[tuple[int, Image.Image]] = []
    for path in paths:
        label = os.fspath(path)
        try:
            images.append((len(out), load_image(Path(label), max_pixels=max_pixels)))
            out.append(None)
        except ImageError as exc:
            out.append(TagError(label, exc.problem, exc.hint))
    described = describe_images([im for _, im in images], resolved)
    for (k, _), d in zip(images, described, strict=True):
        tags: dict[str, tuple[str | None, float]] = {
            "category": (d.category, d.category_confidence),
            "color": (d.color, d.color_confidence)}
        if d.pattern is not None:
            tags["pattern"] = (d.pattern, d.pattern_confidence)
        semantic = semantic_category_of(d.category)
        if semantic is not None:  # an unknown garment is left for the person to place
            member = [p for c, p in d.top if semantic_category_of(c) == semantic]
            tags["semantic_category"] = (semantic, min(1.0, sum(member)))
        out[k] = AutoTags(tags, mask_to_png(d.mask), d.secondary_color)
    return [r for r in out if r is not None]
