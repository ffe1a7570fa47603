"""What a grader relies on overall, over many outfits rather than one.

    from explain.global_view import grader_view, plot_grader_view
    view = grader_view(model, outfits, max_outfits=1000, seed=0)   # plain data (a dict)
    plot_grader_view(view, "out/grader-view.png", title="model-2")

- **Per feature group** (colour, shape, pattern, style): the mean, over every item worn in the
  outfits, of the absolute gradient x activation (the default attribution method, ``gxa``) of
  that item's group, in logit points; ``share`` is each group's part of their sum. A grader
  whose colour share is 0.6 moves its scores mostly through the items' colours.
- **Per slot** (outer, upper, lower, full, shoes, accessory): the mean absolute gxa total of
  the items in that slot, and per group.
- **Per slot pair**: the mean absolute *interaction* of two worn items, one in each slot, in
  logit points: ``f(S) - f(S - i) - f(S - j) + f(S - i - j)``, where ``f`` is the grader's
  logit and ``S - i`` the outfit with item ``i`` taken out (masked, as a shorter outfit). It
  is zero for a grader that scores items one by one and adds the scores, and large where the
  grader judges the two together (a clash, a match). Gradient x activation has per-item values
  only, so the pair measure asks the grader itself; ``removal`` beside it is the whole drop
  ``f(S) - f(S - i - j)`` (individual and joint effects together). Outfits of two items give
  no pair (taking both out leaves nothing to score).

Everything is batched: one gradient per chunk of padded outfits, and the masked outfits of the
pair measure in chunks without gradients. The outfits are a seeded sample (``max_outfits``), so
the same data and seed give the same numbers. The model is left as it was found (modes,
parameters and their ``.grad``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from grader.api import FeatureTable, GraderModel, pad_outfits
from outfit.domain import Item, Outfit
from outfit.errors import OutfitError
from outfit.vocab import SLOTS

from .attribution import GROUP_WORDS
from .pixel_input import eval_mode

__all__ = ["grader_view", "plot_grader_view", "compare_views", "sample_outfits", "readable_view",
           "DEFAULT_OUTFITS", "PAIR_MEASURE"]

DEFAULT_OUTFITS = 1000
CHUNK = 256
PAIR_MEASURE = ("mean |f(S) - f(S-i) - f(S-j) + f(S-i-j)| over outfits with an item in each "
                "slot (the grader's logit with items taken out): how much it judges the two "
                "together rather than one by one")


def sample_outfits(outfits: Sequence[Any], max_outfits: int = DEFAULT_OUTFITS,
                   seed: int = 0) -> list[Any]:
    """At most ``max_outfits`` of ``outfits``, a seeded sample kept in their order."""
    outfits = list(outfits)
    if len(outfits) <= max_outfits:
        return outfits
    keep = sorted(random.Random(seed).sample(range(len(outfits)), int(max_outfits)))
    return [outfits[k] for k in keep]


def _items(outfit: Outfit | Sequence[Item]) -> tuple[Item, ...]:
    return tuple(outfit.items if isinstance(outfit, Outfit) else outfit)


def _batch(model: GraderModel, table: FeatureTable, outfits: Sequence[tuple[Item, ...]]
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded ``feats (B, S, D)``, ``slots (B, S)``, ``mask (B, S)`` on the model's device."""
    padded = pad_outfits([table.rows(it.id for it in items) for items in outfits])
    feats, slots, mask = table.gather(padded)
    dev = model.device
    return feats.float().to(dev), slots.to(dev), mask.to(dev)


def _gxa(model: GraderModel, feats: torch.Tensor, slots: torch.Tensor, mask: torch.Tensor,
         chunk: int = CHUNK) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits ``(B,)`` and gradient x activation ``(B, S, G)`` (zero on padding), batched."""
    logits, values = [], []
    for s in range(0, len(feats), chunk):
        x = feats[s:s + chunk].detach().clone().requires_grad_(True)
        with torch.enable_grad():
            z = model.grader(x, slots[s:s + chunk], mask[s:s + chunk])
            (g,) = torch.autograd.grad(z.sum(), x)  # never backward(): no .grad on the weights
        v = model.layout.group_sum(g * x.detach())
        values.append(v * mask[s:s + chunk, :, None].to(v.dtype))
        logits.append(z.detach())
    return torch.cat(logits), torch.cat(values)


def _masked_logits(model: GraderModel, feats: torch.Tensor, slots: torch.Tensor,
                   rows: torch.Tensor, masks: torch.Tensor, chunk: int = 4 * CHUNK) -> torch.Tensor:
    """Logits of outfits ``rows (P,)`` with items ``masks (P, S)`` worn, in chunks."""
    out = [model.grader(feats[rows[s:s + chunk]], slots[rows[s:s + chunk]], masks[s:s + chunk])
           for s in range(0, len(rows), chunk)]
    return torch.cat(out) if out else torch.zeros(0, device=feats.device)


def _pair_effects(model: GraderModel, feats: torch.Tensor, slots: torch.Tensor,
                  mask: torch.Tensor, full: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every pair of worn items ``(b, i, j)`` in outfits of three or more items, with their
    interaction and their joint removal effect (see the module's docstring)."""
    b_n, s_n = mask.shape
    ii, jj = torch.triu_indices(s_n, s_n, 1, device=mask.device)
    bb = torch.arange(b_n, device=mask.device).repeat_interleave(len(ii))
    ii, jj = ii.repeat(b_n), jj.repeat(b_n)
    keep = mask[bb, ii] & mask[bb, jj] & (mask.sum(1)[bb] >= 3)
    bb, ii, jj = bb[keep], ii[keep], jj[keep]
    eye = torch.eye(s_n, dtype=torch.bool, device=mask.device)
    without_one = (mask[:, None, :] & ~eye[None]).reshape(b_n * s_n, s_n)
    one_rows = torch.arange(b_n, device=mask.device).repeat_interleave(s_n)
    worn_one = mask.reshape(-1) & (mask.sum(1) >= 2).repeat_interleave(s_n)
    f1 = torch.full((b_n * s_n,), float("nan"), device=feats.device)
    f1[worn_one] = _masked_logits(model, feats, slots, one_rows[worn_one], without_one[worn_one])
    f1 = f1.reshape(b_n, s_n)
    two = mask[bb].clone()
    two[torch.arange(len(bb)), ii] = False
    two[torch.arange(len(bb)), jj] = False
    f2 = _masked_logits(model, feats, slots, bb, two)
    return {"b": bb, "i": ii, "j": jj, "interaction": full[bb] - f1[bb, ii] - f1[bb, jj] + f2,
            "removal": full[bb] - f2}


def grader_view(model: GraderModel, outfits: Sequence[Outfit | Sequence[Item]], *,
                table: FeatureTable | None = None, max_outfits: int = DEFAULT_OUTFITS,
                seed: int = 0, chunk: int = CHUNK) -> dict[str, Any]:
    """Which feature groups, slots and slot pairs ``model``'s grader relies on over
    ``outfits`` (a seeded sample of at most ``max_outfits``), as plain data: ``groups`` (group,
    word, mean_abs, share), ``slots`` (slot, items, mean_abs, groups), ``pairs`` (a, b,
    outfits, interaction, removal), counts and the settings. ``table``: the items' features
    (else computed from their photos). See the module's docstring for each measure."""
    chosen = [_items(o) for o in sample_outfits(outfits, max_outfits, seed)]
    chosen = [items for items in chosen if len(items) >= 1]
    if not chosen:
        raise OutfitError("no outfits to look at", hint="pass the test split's outfits")
    if table is None:
        every = {it.id: it for items in chosen for it in items}
        table = model.item_table(list(every.values()))
    feats, slots, mask = _batch(model, table, chosen)
    with eval_mode(model):
        full, values = _gxa(model, feats, slots, mask, chunk)
        with torch.no_grad():
            pairs = _pair_effects(model, feats, slots, mask, full)
    view = _summarise(model.layout.names, values.double().cpu().numpy(), mask.cpu().numpy(),
                      slots.cpu().numpy(), {k: v.double().cpu().numpy() for k, v in pairs.items()})
    view.update({"method": "gxa", "outfits": len(chosen), "items": int(mask.sum()),
                 "seed": int(seed), "max_outfits": int(max_outfits),
                 "mean_logit": _num(float(full.mean())), "pair_measure": PAIR_MEASURE})
    return view


def _num(v: float) -> float | None:
    return round(float(v), 6) if np.isfinite(v) else None


def _summarise(groups: Sequence[str], values: np.ndarray, mask: np.ndarray, slots: np.ndarray,
               pairs: dict[str, np.ndarray]) -> dict[str, Any]:
    """The dict :func:`grader_view` returns, from ``values (B, S, G)`` and the pair effects."""
    worn = values[mask]  # (items, G)
    per_group = np.abs(worn).mean(0)
    total = per_group.sum()
    group_rows = [{"group": g, "word": GROUP_WORDS.get(g, g), "mean_abs": _num(v),
                   "share": _num(v / total) if total > 0 else 0.0}
                  for g, v in zip(groups, per_group, strict=True)]
    worn_slots = slots[mask]
    slot_rows = []
    for k, name in enumerate(SLOTS):
        sel = worn[worn_slots == k]
        if len(sel):
            slot_rows.append({"slot": name, "items": len(sel),
                              "mean_abs": _num(np.abs(sel.sum(1)).mean()),
                              "groups": {g: _num(v) for g, v in
                                         zip(groups, np.abs(sel).mean(0), strict=True)}})
    b, i, j = (pairs[k].astype(int) for k in ("b", "i", "j"))
    first, second = slots[b, i], slots[b, j]
    lo, hi = np.minimum(first, second), np.maximum(first, second)
    pair_rows = []
    for s in range(len(SLOTS)):
        for t in range(s, len(SLOTS)):
            sel = (lo == s) & (hi == t) & np.isfinite(pairs["interaction"])
            if sel.any():
                pair_rows.append({"a": SLOTS[s], "b": SLOTS[t], "pairs": int(sel.sum()),
                                  "interaction": _num(np.abs(pairs["interaction"][sel]).mean()),
                                  "removal": _num(np.abs(pairs["removal"][sel]).mean())})
    return {"groups": group_rows, "slots": slot_rows, "pairs": pair_rows}


def compare_views(a: dict[str, Any] | None, b: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Rows for a table of two views' groups: group, word, each one's mean |gxa| and share,
    and ``delta`` = b - a of the shares (None where a side is missing)."""
    def by_group(v: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
        return {r["group"]: r for r in (v or {}).get("groups", []) if isinstance(r, dict)}

    ga, gb = by_group(a), by_group(b)
    rows = []
    for g in list(ga) + [g for g in gb if g not in ga]:
        ra, rb = ga.get(g, {}), gb.get(g, {})
        sa, sb = ra.get("share"), rb.get("share")
        rows.append({"group": g, "word": GROUP_WORDS.get(g, g),
                     "a": ra.get("mean_abs"), "b": rb.get("mean_abs"),
                     "share_a": sa, "share_b": sb,
                     "delta": None if sa is None or sb is None else round(sb - sa, 6)})
    return rows


def plot_grader_view(view: dict[str, Any], out_png: Path | str, *, title: str = "",
                     dpi: int = 120) -> Path:
    """A PNG of ``view``: a bar per feature group (mean |gxa|, its share written beside it)
    and a heat-map of the slot pairs' mean |interaction| (numbers in the cells; each slot's
    mean |gxa| under its name). Returns the path."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.5, 4.8), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.25])
    _group_bars(left, view)
    _pair_map(fig, right, view)
    fig.suptitle((title + ": " if title else "") + f"what the grader relies on, over "
                 f"{view['outfits']} outfits ({view['items']} items, gradient x activation)",
                 fontsize="medium")
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    return out


def _group_bars(ax, view: dict[str, Any]) -> None:
    rows = view["groups"]
    values = [r["mean_abs"] or 0.0 for r in rows]
    colours = {"color": "#d95f02", "shape": "#1b9e77", "pattern": "#7570b3", "style": "#e7298a"}
    ypos = np.arange(len(rows))[::-1]
    ax.barh(ypos, values, color=[colours.get(r["group"], "#666666") for r in rows])
    ax.set_yticks(ypos, [r["word"] for r in rows])
    top = max(values, default=0.0) or 1.0
    for y, v, r in zip(ypos, values, rows, strict=True):
        ax.text(v + 0.02 * top, y, f"{v:.3f}  ({100 * (r['share'] or 0):.0f} %)",
                va="center", fontsize="small")
    ax.set_xlim(0, top * 1.45)
    ax.set_xlabel("mean |attribution| per item (logit points)")
    ax.set_title("Feature groups", fontsize="medium")
    ax.grid(True, axis="x", alpha=0.3)


def _pair_map(fig, ax, view: dict[str, Any]) -> None:
    names = [r["slot"] for r in view["slots"]]
    grid = np.full((len(names), len(names)), np.nan)
    for p in view["pairs"]:
        if p["a"] in names and p["b"] in names and p["interaction"] is not None:
            s, t = names.index(p["a"]), names.index(p["b"])
            grid[s, t] = grid[t, s] = p["interaction"]
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="Blues", vmin=0,
                      vmax=max(np.nanmax(grid) if np.isfinite(grid).any() else 0.0, 1e-6))
    labels = [f"{r['slot']}\n|gxa| {r['mean_abs']:.3f}" for r in view["slots"]]
    ax.set_xticks(range(len(names)), names, fontsize="small")  # each slot's |gxa|: on the left
    ax.set_yticks(range(len(names)), labels, fontsize="small")
    ax.set_ylabel("slot, with its items' mean |gxa| total", fontsize="small")
    high = np.nanmax(grid) if np.isfinite(grid).any() else 0.0
    digits = 2 if high >= 0.5 else 3
    for s in range(len(names)):
        for t in range(len(names)):
            v = grid[s, t]
            ax.text(t, s, "–" if not np.isfinite(v) else f"{v:.{digits}f}", ha="center", va="center",
                    fontsize="small", color="white" if np.isfinite(v) and v > 0.6 * high else "black")
    ax.set_facecolor("#e8e8e8")  # no such pair in these outfits
    ax.set_title("Slot pairs: mean |interaction| (logit points; grey: no such pair)",
                 fontsize="medium")
    fig.colorbar(image, ax=ax, shrink=0.8)


def readable_view(doc: Any) -> dict[str, Any] | None:
    """``doc`` (a view read back from a file) when its groups are there with numbers, else
    None: a page shows a damaged file as missing rather than failing on it."""
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list) or not doc["groups"]:
        return None
    for r in doc["groups"]:
        if not isinstance(r, dict) or not isinstance(r.get("group"), str) or not all(
                isinstance(r.get(k), int | float) and not isinstance(r.get(k), bool)
                for k in ("mean_abs", "share")):
            return None
    for key in ("slots", "pairs"):
        if not isinstance(doc.get(key), list) or not all(isinstance(r, dict) for r in doc[key]):
            doc[key] = []
    return doc
