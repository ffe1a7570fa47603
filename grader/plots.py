"""Plots of evaluation results: ROC curves, score histograms, reliability diagrams.

Made with matplotlib's object-oriented API (:class:`matplotlib.figure.Figure`, never pyplot),
so nothing needs a display and no global figure state is kept between calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .evaluate import EvalResult, file_safe
from .metrics import reliability, roc_curve

__all__ = ["roc_plot", "score_histograms", "reliability_plot", "save_plots"]

DPI = 120
_CHANCE = {"color": "0.55", "linestyle": "--", "linewidth": 1.0}


def _square_axes(fig: Figure, title: str, xlabel: str, ylabel: str):
    ax = fig.add_subplot()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    return ax


def _legend_below(fig: Figure, ax) -> None:
    """The legend under the axes, outside them, so that it never hides a curve."""
    n = len(ax.get_legend_handles_labels()[0])
    fig.legend(loc="outside lower center", ncols=2 if n > 3 else 1, fontsize="small",
               frameon=False)


def _split_of(results: Sequence[EvalResult]) -> str:
    splits = sorted({r.split for r in results})
    return ", ".join(splits)


def roc_plot(results: Sequence[EvalResult]) -> Figure:
    """Every model's ROC curve over the compatibility questions on one axes, AUC in the legend."""
    fig = Figure(figsize=(5.8, 6.6), layout="constrained")
    ax = _square_axes(fig, f"Compatibility ROC ({_split_of(results)} split)",
                      "False positive rate (bad outfits passed)",
                      "True positive rate (good outfits passed)")
    ax.plot([0, 1], [0, 1], label="chance (AUC 0.500)", **_CHANCE)
    for r in results:
        if len(r.labels) == 0:
            continue
        fpr, tpr = roc_curve(r.labels, r.logits)
        ax.plot(fpr, tpr, linewidth=1.6, label=f"{r.name} (AUC {r.auc:.3f})")
    _legend_below(fig, ax)
    return fig


def score_histograms(result: EvalResult, bins: int = 20) -> Figure:
    """Calibrated probabilities of the good and the bad outfits among the compatibility
    questions, as two overlaid histograms."""
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    edges = np.linspace(0.0, 1.0, bins + 1)
    good = result.labels > 0.5
    tallest = 1
    for sel, color, what in ((good, "tab:green", "good"), (~good, "tab:red", "bad")):
        counts, _, _ = ax.hist(result.probs[sel], bins=edges, histtype="stepfilled", alpha=0.3,
                               color=color)
        ax.hist(result.probs[sel], bins=edges, histtype="step", linewidth=1.8, color=color,
                label=f"{what} outfits ({int(sel.sum())})")
        tallest = max(tallest, int(counts.max()) if len(counts) else 0)
    ax.set_ylim(0, tallest * 1.35)  # headroom for the legend
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.axvline(0.5, **_CHANCE, label="threshold 0.5")
    ax.set_xlim(0, 1)
    ax.set_title(f"{result.name}: scores of the {result.split} questions "
                 f"(AUC {result.auc:.3f}, accuracy {result.accuracy:.3f})", fontsize="medium")
    ax.set_xlabel("Calibrated probability that the outfit is good")
    ax.set_ylabel("Questions")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize="small", framealpha=0.9)
    return fig


def reliability_plot(results: Sequence[EvalResult], bins: int = 10) -> Figure:
    """Observed share of good outfits against the mean predicted probability, per probability
    bin (empty bins left out); the diagonal is perfect calibration, ECE in the legend."""
    fig = Figure(figsize=(5.8, 6.6), layout="constrained")
    ax = _square_axes(fig, f"Reliability ({_split_of(results)} split)",
                      "Mean predicted probability (per bin)", "Observed share of good outfits")
    ax.plot([0, 1], [0, 1], label="perfectly calibrated", **_CHANCE)
    for r in results:
        if len(r.labels) == 0:
            continue
        mean_p, freq, count, ece = reliability(r.labels, r.probs, bins)
        used = count > 0
        ax.plot(mean_p[used], freq[used], marker="o", markersize=4, linewidth=1.4,
                label=f"{r.name} (ECE {ece:.3f})")
    _legend_below(fig, ax)
    return fig


def save_plots(results: Sequence[EvalResult], out_dir: Path | str) -> list[Path]:
    """Write ``roc.png``, ``reliability.png`` and ``scores_<model>.png`` per model into
    ``out_dir`` (created); returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures = [("roc.png", roc_plot(results)), ("reliability.png", reliability_plot(results))]
    figures += [(f"scores_{file_safe(r.name)}.png", score_histograms(r)) for r in results]
    paths = []
    for name, fig in figures:
        path = out / name
        fig.savefig(path, dpi=DPI)
        paths.append(path)
    return paths
