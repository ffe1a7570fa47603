"""Pictures of what a trained model has learned, as files for a models page.

    from explain.diagnostics import activation_maximisation, feature_projection
    feature_projection(model, closet.items, "out/features.png")     # + out/features.json
    activation_maximisation(model, "shape:sneakers", "out/sneakers.png")  # + .json

- :func:`feature_projection`: the items' feature vectors (what the grader reads) projected on
  their first two principal components (Pearson 1901; computed by an SVD of the centred
  features, no new dependency), one colour per semantic category. Items of one category that
  cluster apart from the others mean the features separate them; a category smeared over the
  plane means the grader cannot tell its items from the rest.
- :func:`activation_maximisation`: the input a unit of the item-feature net responds to most
  (Erhan et al. 2009; Simonyan, Vedaldi & Zisserman, arXiv 1312.6034), found by gradient ascent
  on the pixels with the regularisers that keep the image readable (Mahendran & Vedaldi, arXiv
  1412.0035: total variation and an L2 pull to mid grey; Mordvintsev et al. 2015, "Inceptionism":
  a random jitter of a few pixels every step, so that the image cannot exploit one exact pixel
  grid). The units are the heads' outputs: ``shape:<category>`` and ``pattern:<pattern>`` (the
  logits before the softmax, as Simonyan et al. maximise class scores: the softmax could rise by
  suppressing the other classes alone), ``style:<index>`` (before the tanh, which saturates).

Both leave the model as they found it: parameters, their ``.grad`` and train/eval modes.
Plots use matplotlib's object-oriented API (:class:`matplotlib.figure.Figure`, never pyplot),
which renders PNGs with the Agg backend without a display.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from data.fileio import atomic_write_text
from grader.api import FeatureTable, GraderModel
from outfit.domain import Item
from outfit.errors import OutfitError

from .pixel_input import eval_mode

__all__ = ["feature_projection", "activation_maximisation", "unit_names", "unit_value",
           "write_diagnostics", "PROJECTIONS", "DIAGNOSTICS_INDEX"]

PROJECTIONS: tuple[str, ...] = ("pca",)
DIAGNOSTICS_INDEX = "diagnostics.json"
DPI = 120


# ---------------------------------------------------------------------------------- projection
def _pca(x: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores ``(N, k)``, components ``(k, D)`` and explained variance ratios ``(k,)`` of ``x``.
    Each component's sign is fixed so that its largest loading is positive (an SVD's signs are
    arbitrary; this keeps the picture the same from run to run)."""
    centred = x - x.mean(0, keepdims=True)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    comps = np.zeros((k, x.shape[1]))
    comps[: min(k, len(vt))] = vt[:k]
    for c in comps:
        if c.any() and c[np.argmax(np.abs(c))] < 0:
            c *= -1
    var = s**2
    ratio = np.zeros(k)
    ratio[: min(k, len(var))] = (var / var.sum())[:k] if var.sum() > 0 else 0.0
    return centred @ comps.T, comps, ratio


def feature_projection(model: GraderModel, items: Sequence[Item], out_png: Path | str, *,
                       table: FeatureTable | None = None, method: str = "pca") -> Path:
    """Scatter plot of ``items``' features in 2-D, coloured by semantic category, written to
    ``out_png``; the coordinates go beside it as ``.json`` (``points``: id, label, category,
    x, y per item; ``axes``: each axis's share of the variance and its largest loadings, by
    feature name). ``table``: the items' features (else computed from their photos). Returns
    the PNG's path."""
    if method not in PROJECTIONS:
        raise OutfitError(f"unknown projection {method!r}", hint="one of: " + ", ".join(PROJECTIONS))
    items = list(items)
    if len(items) < 2:
        raise OutfitError(f"a projection needs at least 2 items, got {len(items)}",
                          hint="pass the closet's or the dataset's items")
    if table is None:
        table = model.item_table(items)
    feats = table.feats[torch.tensor(table.rows(it.id for it in items))].double().cpu().numpy()
    coords, comps, ratio = _pca(feats)
    names = model.layout.dim_names or tuple(f"dim{i}" for i in range(feats.shape[1]))
    groups = {d: g for g, start, stop in model.layout.groups for d in range(start, stop)}
    axes = [{"explained_variance_ratio": round(float(r), 6),
             "top_loadings": [{"feature": f"{groups.get(int(d), '?')}:{names[int(d)]}",
                               "loading": round(float(c[d]), 6)}
                              for d in np.argsort(-np.abs(c))[:5]]}
            for c, r in zip(comps, ratio, strict=True)]
    cats = [it.semantic_category for it in items]
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    _scatter(coords, cats, ratio, len(items)).savefig(out, dpi=DPI)
    doc = {"method": method, "items": len(items), "axes": axes,
           "points": [{"id": it.id, "label": it.label, "category": c,
                       "x": round(float(x), 6), "y": round(float(y), 6)}
                      for it, c, (x, y) in zip(items, cats, coords, strict=True)]}
    atomic_write_text(out.with_suffix(".json"), json.dumps(doc, indent=1) + "\n")
    return out


def _scatter(coords: np.ndarray, cats: Sequence[str], ratio: np.ndarray, n: int):
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.2, 5.4), layout="constrained")
    ax = fig.add_subplot()
    # tab20's dark shades first, then its light ones: the first ten categories get ten hues
    tab20 = colormaps["tab20"]
    palette = [tab20(i) for i in (*range(0, 20, 2), *range(1, 20, 2))]
    arr = np.asarray(cats)
    for k, cat in enumerate(sorted(set(cats))):
        sel = arr == cat
        ax.scatter(coords[sel, 0], coords[sel, 1], s=18, alpha=0.75, color=palette[k % 20],
                   edgecolors="none", label=f"{cat} ({int(sel.sum())})")
    ax.set_xlabel(f"first principal component ({100 * ratio[0]:.1f} % of the variance)")
    ax.set_ylabel(f"second principal component ({100 * ratio[1]:.1f} % of the variance)")
    ax.set_title(f"Item features of {n} items, projected on their two main axes",
                 fontsize="medium")
    ax.grid(True, alpha=0.3)
    fig.legend(loc="outside right upper", fontsize="small", frameon=False,
               title="semantic category", title_fontsize="small")
    return fig


# ---------------------------------------------------------------------------------- units
def unit_names(model: GraderModel) -> list[str]:
    """Every unit :func:`activation_maximisation` can show, as ``head:name``."""
    fn = model.feature_net
    return ([f"shape:{n}" for n in fn.shape_names] + [f"pattern:{n}" for n in fn.pattern_names]
            + [f"style:{i}" for i in range(fn.style_head[0].out_features)])


def _parse_unit(model: GraderModel, unit: str) -> tuple[str, int]:
    fn = model.feature_net
    head, _, name = str(unit).partition(":")
    vocab = {"shape": fn.shape_names, "pattern": fn.pattern_names,
             "style": tuple(str(i) for i in range(fn.style_head[0].out_features))}
    if head not in vocab or name not in vocab[head]:
        known = vocab.get(head)
        hint = (f"{head} units: " + ", ".join(f"{head}:{n}" for n in known) if known
                else "write shape:<category>, pattern:<pattern> or style:<index>")
        raise OutfitError(f"unknown unit {unit!r}", hint=hint)
    return head, vocab[head].index(name)


def unit_value(model: GraderModel, unit: str, images: torch.Tensor) -> torch.Tensor:
    """The value ``(B,)`` of ``unit`` (see :func:`unit_names`) for photos ``images (B, 3, S, S)``
    in [0, 1]: a head's logit (``shape``, ``pattern``) or pre-tanh output (``style``).
    Differentiable in the pixels."""
    head, index = _parse_unit(model, unit)
    fn = model.feature_net
    trunk = fn.trunk_features(images)
    layer = {"shape": fn.shape_head, "pattern": fn.pattern_head, "style": fn.style_head[0]}[head]
    return layer(trunk)[:, index]


def _total_variation(x: torch.Tensor) -> torch.Tensor:
    return ((x[..., 1:, :] - x[..., :-1, :]) ** 2).mean() + ((x[..., 1:] - x[..., :-1]) ** 2).mean()


def activation_maximisation(model: GraderModel, unit: str, out_png: Path | str, *,
                            steps: int = 200, size: int | None = None, seed: int = 0,
                            lr: float = 0.05, tv_weight: float = 20.0, l2_weight: float = 1.0,
                            jitter: int | None = None) -> Path:
    """The image that drives ``unit`` (``"shape:<category>"``, ``"pattern:<pattern>"`` or
    ``"style:<index>"``) highest, written as a PNG to ``out_png``, with ``.json`` beside it (the
    unit, its value on the starting image and on the image written, the settings).

    The pixels are ``sigmoid(p)`` (always a valid image), ``p`` starting at mid grey plus a
    little noise drawn from ``seed``; each of ``steps`` Adam steps (``lr``) ascends the unit's
    value on a copy shifted by up to ``jitter`` pixels (default 1/16 of the side) minus
    ``tv_weight`` times the total variation (mean squared neighbour difference) and ``l2_weight``
    times the mean squared distance from grey. ``size``: the side in pixels (default the
    model's input size). Deterministic for a seed on one machine; returns the PNG's path."""
    _parse_unit(model, unit)  # refuse a bad name before any work
    s = int(size or model.prep.image_size)
    shift = max(1, s // 16) if jitter is None else int(jitter)
    gen = torch.Generator().manual_seed(int(seed))
    p = (0.1 * torch.randn(1, 3, s, s, generator=gen)).to(model.device).requires_grad_(True)
    moves = torch.randint(-shift, shift + 1, (int(steps), 2), generator=gen).tolist()
    opt = torch.optim.Adam([p], lr=float(lr))
    with eval_mode(model):
        with torch.no_grad():
            start = float(unit_value(model, unit, torch.sigmoid(p))[0])
        for dy, dx in moves:
            x = torch.sigmoid(p)
            value = unit_value(model, unit, torch.roll(x, shifts=(dy, dx), dims=(2, 3)))[0]
            loss = (-value + float(tv_weight) * _total_variation(x)
                    + float(l2_weight) * ((x - 0.5) ** 2).mean())
            (p.grad,) = torch.autograd.grad(loss, p)  # never backward(): the weights get no .grad
            opt.step()
        pixels = (torch.sigmoid(p.detach()) * 255).round().to(torch.uint8)
        with torch.no_grad():
            final = float(unit_value(model, unit, pixels.float() / 255.0)[0])
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels[0].permute(1, 2, 0).cpu().numpy(), "RGB").save(out)
    doc = {"unit": unit, "start_value": round(start, 6), "value": round(final, 6),
           "steps": int(steps), "size": s, "seed": int(seed), "lr": float(lr),
           "tv_weight": float(tv_weight), "l2_weight": float(l2_weight), "jitter": shift}
    atomic_write_text(out.with_suffix(".json"), json.dumps(doc, indent=1) + "\n")
    return out


# ---------------------------------------------------------------------------------- a set
def write_diagnostics(model: GraderModel, items: Sequence[Item], out_dir: Path | str, *,
                      shapes: int = 6, steps: int = 200, seed: int = 0,
                      outfits: Sequence[Sequence[Item]] = (),
                      max_outfits: int = 1000) -> dict:
    """The pictures a models page shows, in ``out_dir``: the feature projection of ``items``
    (``features.png``), what the grader relies on over ``outfits`` (``grader-view.png``, a
    seeded sample of ``max_outfits``; left out when no outfits are given; see
    :mod:`explain.global_view`) and the image each pattern unit and the ``shapes`` shape units
    most common among ``items`` respond to most (``unit-<k>.png``). Writes and returns the
    index (:data:`DIAGNOSTICS_INDEX`): ``{"items", "images": [{"file", "title", "caption"}],
    "grader_view"}`` (``grader_view``: the numbers, or None)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    items = list(items)
    images = []
    proj = feature_projection(model, items, out / "features.png")
    axes = json.loads(proj.with_suffix(".json").read_text())["axes"]
    share = sum(a["explained_variance_ratio"] for a in axes)
    images.append({"file": "features.png", "title": "Item features, projected",
                   "caption": f"{len(items)} items on the first two principal components of "
                              f"their features ({share:.0%} of the variance); one colour per "
                              "category. Categories that form their own clusters are ones the "
                              "grader can tell apart."})
    view = _grader_view(model, outfits, out, max_outfits, seed) if outfits else None
    if view is not None:
        images.append(view.pop("image"))
    known = set(unit_names(model))
    counts: dict[str, int] = {}
    for it in items:
        unit = f"shape:{it.category}"
        if unit in known:
            counts[unit] = counts.get(unit, 0) + 1
    units = sorted(counts, key=lambda u: (-counts[u], u))[:max(0, int(shapes))]
    units += [u for u in sorted(known) if u.startswith("pattern:")]
    for k, unit in enumerate(units):
        png = activation_maximisation(model, unit, out / f"unit-{k}.png", steps=steps, seed=seed)
        doc = json.loads(png.with_suffix(".json").read_text())
        kind, name = unit.split(":", 1)
        images.append({"file": png.name, "title": f"What says \u201c{name}\u201d ({kind})",
                       "unit": unit,
                       "caption": f"The input that drives the {kind} unit \u201c{name}\u201d "
                                  f"highest (from {doc['start_value']:.2f} to "
                                  f"{doc['value']:.2f})."})
    index = {"items": len(items), "images": images, "grader_view": view}
    atomic_write_text(out / DIAGNOSTICS_INDEX, json.dumps(index, indent=1) + "\n")
    return index


def _grader_view(model: GraderModel, outfits: Sequence[Sequence[Item]], out: Path,
                 max_outfits: int, seed: int) -> dict:
    """:func:`explain.global_view.grader_view` drawn to ``grader-view.png``; its numbers,
    with ``image`` (the index entry of the PNG) added."""
    from .global_view import grader_view, plot_grader_view

    view = grader_view(model, outfits, max_outfits=max_outfits, seed=seed)
    plot_grader_view(view, out / "grader-view.png")
    top = max(view["groups"], key=lambda r: r["share"] or 0.0)
    view["image"] = {
        "file": "grader-view.png", "title": "What the grader relies on",
        "caption": f"Mean |gradient x activation| per feature group over {view['outfits']} "
                   f"outfits ({top['word']} carries most: {top['share']:.0%}), and how much the "
                   "grader judges two slots together (the slot pairs' mean |interaction|: the "
                   "logit's response to taking both items out, less each one's alone)."}
    return view
