"""Metrics of outfit grading: compatibility AUC, fill-in-the-blank accuracy, calibration."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["calibrated_probability", "auc", "roc_curve", "fitb_accuracy", "accuracy_at", "reliability",
           "fit_temperature", "fit_calibration"]


def _ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    ranks = np.empty(len(x), dtype=np.float64)
    # boundaries of runs of equal values
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_x)) + 1]
    ends = np.r_[starts[1:], len(x)]
    for s, e in zip(starts, ends, strict=True):
        ranks[order[s:e]] = (s + 1 + e) / 2.0
    return ranks


def auc(labels: Sequence[float], scores: Sequence[float]) -> float:
    """Area under the ROC curve: the chance a random positive outranks a random negative (ties
    count half). NaN when one class is absent."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = _ranks(s)
    return float((r[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(labels: Sequence[float], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates at every threshold, from (0, 0) to (1, 1)."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    cut = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(y)[cut]
    fp = np.cumsum(~y)[cut]
    tpr = np.r_[0.0, tp / max(int(y.sum()), 1)]
    fpr = np.r_[0.0, fp / max(int((~y).sum()), 1)]
    return fpr, tpr


def fitb_accuracy(scores: np.ndarray, answers: Sequence[int]) -> float:
    """``scores (Q, A)``: the score of each candidate completion; right when the true answer
    scores strictly highest (a tie is not a right answer)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return float("nan")
    answers = np.asarray(answers)
    right = scores[np.arange(len(scores)), answers]
    others = scores.copy()
    others[np.arange(len(scores)), answers] = -np.inf
    return float(np.mean(right > others.max(axis=1)))


def accuracy_at(labels: Sequence[float], probs: Sequence[float], threshold: float = 0.5) -> float:
    y = np.asarray(labels, dtype=bool)
    p = np.asarray(probs, dtype=np.float64)
    return float(np.mean((p >= threshold) == y)) if len(y) else float("nan")


def reliability(labels: Sequence[float], probs: Sequence[float], bins: int = 10
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Per probability bin: mean predicted, observed frequency, count; and the expected
    calibration error (count-weighted mean gap)."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    count = np.bincount(idx, minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.bincount(idx, weights=p, minlength=bins) / count
        freq = np.bincount(idx, weights=y, minlength=bins) / count
    gaps = np.nan_to_num(np.abs(mean_p - freq)) * count
    ece = float(gaps.sum() / max(count.sum(), 1))
    return mean_p, freq, count, ece


def calibrated_probability(logits, temperature: float, bias: float = 0.0):
    """``sigmoid(logit / temperature + bias)``: the calibrated probability that an outfit is good
    (Platt scaling, fitted by :func:`fit_calibration`). The one place this formula is written:
    a torch tensor in gives a tensor out (differentiable), a number or an array gives float64."""
    if hasattr(logits, "sigmoid"):  # a torch tensor: stay in torch
        return (logits / temperature + bias).sigmoid()
    z = np.asarray(logits, dtype=np.float64) / float(temperature) + float(bias)
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def fit_temperature(logits: Sequence[float], labels: Sequence[float]) -> float:
    """The temperature T > 0 minimising the log loss of ``sigmoid(logit / T)`` (Guo et al.
    2017, temperature scaling), by golden-section search over log T in [-3, 5]."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if len(z) == 0 or y.min() == y.max():
        return 1.0

    def nll(log_t: float) -> float:
        s = z / np.exp(log_t)
        return float(np.mean(np.logaddexp(0.0, s) - y * s))

    lo, hi = -3.0, 5.0
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(b)
    return float(np.exp((lo + hi) / 2))


def fit_calibration(logits: Sequence[float], labels: Sequence[float],
                    iterations: int = 100) -> tuple[float, float]:
    """Platt scaling: the temperature T > 0 and bias b minimising the log loss of
    ``sigmoid(logit / T + b)``, by Newton's method on (1/T, b) from (1, 0).

    Returns (1.0, 0.0) when one class is absent. A fit that would make T negative or infinite
    (scores unrelated to labels) falls back to the temperature alone with no bias.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if len(z) == 0 or y.min() == y.max():
        return 1.0, 0.0
    x = np.stack([z, np.ones_like(z)], axis=1)

    def nll(w: np.ndarray) -> float:
        s = x @ w
        return float(np.mean(np.logaddexp(0.0, s) - y * s))

    w = np.array([1.0, 0.0])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -500, 500)))
        grad = x.T @ (p - y) / len(z)
        hess = (x * (p * (1 - p))[:, None]).T @ x / len(z) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        t, before = 1.0, nll(w)
        while nll(w - t * step) > before and t > 1e-8:  # damped: never let the loss rise
            t /= 2
        w = w - t * step
        if np.abs(t * step).max() < 1e-10:
            break
    if not np.isfinite(w).all() or w[0] <= 1e-6:
        return fit_temperature(z, y), 0.0
    return float(1.0 / w[0]), float(w[1])
