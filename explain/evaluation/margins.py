"""How much better than a random baseline a method's deletion or insertion area is, and how
sure that is.

A baseline's areas are ``(outfits, orders)``: every outfit deleted in several random orders.
The method's areas are ``(outfits,)`` on the same outfits. Reported (:func:`against`):

``baseline_auc``
    the baseline's mean area;
``margin``
    how much better the method is, in area: baseline minus method for deletion (lower is
    better), method minus baseline for insertion (higher is better); positive is better;
``margin_std``
    the margin's standard deviation over the random orders (seeds): each order's mean area over
    the outfits gives one margin (:func:`spread`);
``interval``
    a 95 % percentile interval of the margin over outfits (:data:`BOOTSTRAP` resamples of the
    outfits, each outfit's margin against the mean of its random orders): how much the margin
    depends on which outfits were drawn, usually the wider of the two;
``wins``
    the share of outfits on which the method beats the mean of its random orders;
``beats``
    whether the interval lies wholly above 0 (None without outfits).
"""

from __future__ import annotations

import numpy as np

BOOTSTRAP = 1000  # resamples of the outfits for the margin's interval


def spread(areas: np.ndarray) -> float | None:
    """The standard deviation over orders (columns) of each order's mean area over outfits
    (rows); None with fewer than two orders or no outfits."""
    a = np.asarray(areas, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] < 2:
        return None
    return float(a.mean(0).std(ddof=1))


def against(own: np.ndarray, base: np.ndarray, *, lower_is_better: bool, seed: int = 0) -> dict:
    """The method's areas ``own (outfits,)`` against a baseline's ``base (outfits, orders)``
    (see the module)."""
    own = np.asarray(own, dtype=np.float64).reshape(-1)
    if not len(own):
        return {"baseline_auc": None, "margin": None, "margin_std": None,
                "interval": [None, None], "wins": None, "beats": None}
    base = np.asarray(base, dtype=np.float64).reshape(len(own), -1)
    sign = 1.0 if lower_is_better else -1.0
    per_outfit = sign * (base.mean(1) - own)
    resampled = np.random.default_rng(seed).integers(0, len(own), (BOOTSTRAP, len(own)))
    means = per_outfit[resampled].mean(1)
    lo, hi = (float(v) for v in np.percentile(means, [2.5, 97.5]))
    return {"baseline_auc": float(base.mean()), "margin": float(per_outfit.mean()),
            "margin_std": spread(base), "interval": [lo, hi],
            "wins": float(np.mean(per_outfit > 0)), "beats": bool(lo > 0)}
