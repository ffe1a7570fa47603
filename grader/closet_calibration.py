"""Scores a person can compare: the calibration a model uses on a person's closet.

A grader's probability is calibrated where it was trained: on the synthetic world's questions,
half good outfits and half outfits with one swapped item, read from drawings whose attributes
are never wrong. A closet is another place: outfits there are all the combinations a search
meets, and a photo's tags are sometimes wrong (the shipped tagger names the pattern right on
about four photos in five). Shown as they are, the drawings' probabilities say 99 % for outfits
that are good about three times in four on real photos.

So a model that reads a closet by its tags (:attr:`grader.api.GraderModel.closet_reads`) also
gets a *closet calibration*: Platt scaling (:func:`grader.metrics.fit_calibration`) fitted on
real photos with known answers, read as a closet reads them. The photos are the 80 shipped with
the demo (``data/demo_closet/photos``, CC0), whose colour and pattern were labelled by hand
(``data/labels/clothing_small_colors_patterns.csv``); the outfits are :data:`OUTFITS` random
complete outfits of them; an outfit's answer is whether it keeps the rules the labels decide
(:mod:`data.realworld`); the model reads each photo through the tags the shipped tagger gives
(not the labels). Everything needed ships with the project, so this runs offline at training.

The explainer's logit points are untouched: only ``sigmoid(logit / T + b)`` changes.
"""

from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .metrics import calibrated_probability, fit_calibration, reliability

if TYPE_CHECKING:
    from outfit.domain import Item

    from .api import GraderModel

__all__ = ["fit_closet_calibration", "closet_answers", "OUTFITS", "DEMO_PHOTOS", "LABELS"]

_ROOT = Path(__file__).resolve().parents[1]
DEMO_PHOTOS = _ROOT / "data" / "demo_closet" / "photos"
LABELS = _ROOT / "data" / "labels" / "clothing_small_colors_patterns.csv"
OUTFITS = 4000
"""Random complete outfits of the labelled demo photos that the calibration is fitted on."""


@lru_cache(maxsize=2)
def _tagged_demo(photos: Path, labels: Path) -> tuple[tuple[Item, ...], tuple[Item, ...]]:
    """(labelled items, the same items as the shipped tagger tags them); tagged once per
    process (the tagger is deterministic)."""
    from data.realworld import read_labelled_photos

    from .photo_tags import tagged_items

    labelled = [it for part in read_labelled_photos(photos, labels, flat=True).values()
                for it in part]
    return tuple(labelled), tuple(tagged_items(labelled))


def closet_answers(labelled: list[Item], tagged: list[Item], n: int, seed: int = 0
                   ) -> tuple[list[list[str]], np.ndarray]:
    """``n`` random complete outfits of ``labelled`` (as item ids) and whether each keeps the
    rules by its hand labels (1) or not (0). ``tagged`` holds the same ids; its categories are
    the tagger's, the outfits follow the labels' (a person sets the kind of each item)."""
    from data.realworld import random_outfits
    from data.synth.rules import truth

    outfits = random_outfits(labelled, n, random.Random(f"{seed}:closet-calibration"))
    answers = np.array([float(truth(o).ok) for o in outfits])
    return [[it.id for it in o] for o in outfits], answers


def fit_closet_calibration(model: GraderModel, *, photos: Path = DEMO_PHOTOS,
                           labels: Path = LABELS, outfits: int = OUTFITS,
                           seed: int = 0) -> dict[str, Any] | None:
    """The closet calibration of ``model`` (see the module): ``{"temperature", "bias",
    "outfits", "good_share", "ece_before", "ece_after", "photos"}``, the ECEs (10 bins) on the
    outfits it was fitted on, before (the model's own calibration) and after. None when the
    labelled photos are missing."""
    if not photos.is_dir() or not labels.is_file():
        return None
    labelled, tagged = _tagged_demo(photos, labels)
    ids, answers = closet_answers(list(labelled), list(tagged), outfits, seed)
    if not ids or answers.min() == answers.max():
        return None
    table = model.item_table(list(tagged), reads="tags")
    logits = model.logits(table, ids).astype(np.float64)
    before = model.grader.calibrated(logits)
    temperature, bias = fit_calibration(logits, answers)
    after = calibrated_probability(logits, temperature, bias)
    return {"temperature": float(temperature), "bias": float(bias), "outfits": len(ids),
            "good_share": round(float(answers.mean()), 4),
            "ece_before": round(reliability(answers, before)[3], 4),
            "ece_after": round(reliability(answers, after)[3], 4),
            "photos": len(labelled)}
