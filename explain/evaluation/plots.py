"""The report as PNG plots: top-1 accuracy per method beside the random ranking, the mean
deletion curves, and in a synthetic world the ground truth. Matplotlib's object-oriented API is
used (no display, no global state), and imported only when plots are drawn."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .deletion import CURVE_POINTS
from .table import fixed

#: One bar series: label, a value per method (None: undefined), the random ranking's value (a
#: dashed line; None: none) and colour.
Series = tuple[str, list, float | None, str]


def save_explainer_plots(report: Mapping[str, Any], out_dir: Path | str) -> list[Path]:
    """Write ``explainer_top1.png`` (top-1 accuracy per method beside the random ranking) and
    ``explainer_deletion.png`` (mean normalised deletion curves) into ``out_dir`` (created),
    plus ``explainer_ground_truth.png`` in a synthetic world; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [_top1_plot(report, out / "explainer_top1.png"),
             _deletion_plot(report, out / "explainer_deletion.png")]
    if report.get("ground_truth_outfits"):
        paths.append(_ground_truth_plot(report, out / "explainer_ground_truth.png"))
    return paths


def _bars(names: Sequence[str], title: str, series: Sequence[Series], path: Path) -> Path:
    """Grouped bars of top-1 accuracies, one group per method, written to ``path``."""
    from matplotlib.figure import Figure

    x = np.arange(len(names))
    fig = Figure(figsize=(max(6.4, 1.0 * len(names) + 2), 4.6), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / len(series)
    for k, (label, values, chance, color) in enumerate(series):
        pos = x - 0.4 + width * (k + 0.5)
        ax.bar(pos, [np.nan if v is None else v for v in values], width, color=color,
               label=label)
        for p, v in zip(pos, values, strict=True):  # the value, so that 0 is not "n/a"
            ax.text(p, 0.01 if v is None else v + 0.01, "n/a" if v is None else f"{v:.2f}",
                    ha="center", va="bottom", fontsize="x-small", color="0.3")
        if chance is not None:
            ax.axhline(chance, color=color, linestyle="--", linewidth=1.2,
                       label=f"random ({label}): {chance:.2f}")
    ax.set_xticks(x, names, rotation=20, ha="right")
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("Top-1 accuracy")
    ax.set_title(title, fontsize="medium")
    ax.grid(True, axis="y", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, fontsize="small", frameon=False)
    fig.savefig(path, dpi=120)
    return path


def _top1_plot(report: Mapping[str, Any], path: Path) -> Path:
    """Replace-and-detect: the replaced item and pair ranked first, per method."""
    methods, rnd = report["methods"], report["random"]
    names = list(methods)
    series = [("item", [methods[n]["top1_item"] for n in names], rnd["top1_item"], "tab:blue"),
              ("item + group", [methods[n]["top1_item_group"] for n in names],
               rnd["top1_item_group"], "tab:orange")]
    if any(methods[n].get("first_sentence_item") is not None for n in names):
        series.append(("item named in the reasons' first sentence (a clash names two)",
                       [methods[n].get("first_sentence_item") for n in names], None, "tab:cyan"))
    title = (f"Replace-and-detect: the replaced item/pair ranked first ({report['outfits']} "
             f"outfits, {report['split']} split)")
    if report.get("rules"):
        k = report["rules"]["corruptions"]
        title += (f";\n{k['tied']} replaced items tie with another in a clash, so a tie-blind "
                  f"explainer finds at most {fixed(k['tie_blind_top1_item'], 2)}")
    return _bars(names, title, series, path)


def _deletion_plot(report: Mapping[str, Any], path: Path) -> Path:
    """The mean normalised deletion curve of each method and of random orders."""
    from matplotlib.figure import Figure

    methods, rnd = report["methods"], report["random"]
    fig = Figure(figsize=(7.2, 6.0), layout="constrained")
    ax = fig.add_subplot()
    grid = np.linspace(0, 1, CURVE_POINTS)
    markers = "osD^vPX*"  # methods often agree: distinct markers keep overlapping curves visible
    for k, n in enumerate(methods):
        curve = methods[n]["deletion_curve"]
        if curve is not None:
            ax.plot(grid, curve, linewidth=1.4, marker=markers[k % len(markers)],
                    markersize=5, markevery=(k % 3, 3), fillstyle="none",
                    label=f"{n} (AUC {methods[n]['deletion_auc']:.3f})")
    if rnd["deletion_curve"] is not None:
        ax.plot(grid, rnd["deletion_curve"], color="0.3", linestyle="--", linewidth=1.6,
                label=f"random order (AUC {rnd['deletion_auc']:.3f})")
    ax.axhline(0, color="0.75", linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("Fraction of (item, group) pairs set to their category mean")
    ax.set_ylabel("Normalised logit (1: outfit, 0: all means)")
    ax.set_title(f"Deletion, most helpful pair first ({report['deletion_outfits']} good "
                 "outfits; lower AUC is better)", fontsize="medium")
    ax.grid(True, alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, fontsize="small", frameon=False)
    fig.savefig(path, dpi=120)
    return path


def _ground_truth_plot(report: Mapping[str, Any], path: Path) -> Path:
    """The swapped-in culprit, its group and a reason the rules give, ranked first."""
    methods, gt = report["methods"], report["random"]["ground_truth"]
    names = list(methods)
    truth = [methods[n]["ground_truth"] or {} for n in names]
    series = [("swapped-in item first", [t.get("top1_item") for t in truth],
               gt["top1_item"], "tab:green"),
              ("its group first within it", [t.get("top1_group") for t in truth],
               gt["top1_group"], "tab:purple")]
    title = (f"Ground truth: the culprit ranked first ({report['ground_truth_outfits']} bad "
             "outfits)")
    if gt.get("rules"):
        series.append(("a reason the rules give, first (any blamed item)",
                       [(t.get("rules") or {}).get("top1_reason") for t in truth],
                       gt["rules"]["top1_reason"], "tab:brown"))
        tied = report["rules"]["ground_truth"]
        title += (f";\n{tied['tied']} culprits tie with another item, so a tie-blind "
                  f"explainer finds at most {fixed(tied['tie_blind_top1_item'], 2)}")
    return _bars(names, title, series, path)
