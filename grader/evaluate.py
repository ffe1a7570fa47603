"""Evaluation of graders on a split's questions: AUC, FITB, accuracy, calibration, per category.

    ds = load_dataset("~/data/polyvore", split="test")
    results = evaluate_many(ds, {"m3": ModelScorer(load_model("models/m3")),
                                 "random": create_baseline("random")})
    print(comparison_table(results))

Anything with ``prepare(items)``, ``logits(outfits)`` and a ``temperature`` is a scorer
(:class:`OutfitScorer`): a trained model through :class:`ModelScorer`, or a baseline from
:mod:`grader.baselines`. Every compatibility outfit and every FITB candidate is scored in one
call, so the scorer batches as it likes.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data.dataset import Dataset
from outfit.domain import Item
from outfit.errors import MissingFileError, ModelError, OutfitError
from outfit.vocab import SEMANTIC_CATEGORIES

from .metrics import accuracy_at, auc, calibrated_probability, fitb_accuracy, reliability
from .scorer import OutfitScorer

__all__ = ["OutfitScorer", "ModelScorer", "EvalResult", "evaluate", "evaluate_many",
           "comparison_table", "resolve_scorers", "file_safe"]

PER_CATEGORY_COLUMNS = ("n_compat", "auc", "n_fitb", "fitb")
COMPARISON_COLUMNS = ("auc", "fitb", "accuracy", "ece", "n_compat", "n_fitb")


class ModelScorer:
    """A trained :class:`~grader.api.GraderModel` as an :class:`OutfitScorer`."""

    def __init__(self, model, *, cache_dir: Path | str | None = None,
                 reads: str = "pixels") -> None:
        self.model = model.eval()
        self.cache_dir = cache_dir
        self.reads = reads  # "tags": read the items' category, colour and pattern (see item_table)
        self.table = None

    @property
    def temperature(self) -> float:
        return self.model.grader.temperature

    @property
    def bias(self) -> float:
        return float(self.model.grader.bias)

    def prepare(self, items: Sequence[Item]) -> None:
        self.table = self.model.item_table(items, cache_dir=self.cache_dir, reads=self.reads)

    def logits(self, outfits: Sequence[Sequence[str]]) -> np.ndarray:
        if self.table is None:
            raise OutfitError("ModelScorer.logits called before prepare(items)")
        return self.model.logits(self.table, outfits)


@dataclass
class EvalResult:
    """One scorer on one split. Fractions in [0, 1]; NaN where a metric is undefined (no
    negatives, no questions).

    ``labels``, ``logits``, ``probs`` are ``(n_compat,)`` over the compatibility questions;
    ``fitb_scores`` is ``(n_fitb, choices)`` logits, ``fitb_answers`` ``(n_fitb,)``.
    """

    name: str
    split: str
    auc: float
    fitb: float
    accuracy: float
    ece: float
    n_compat: int
    n_fitb: int
    per_category: pd.DataFrame
    labels: np.ndarray = field(repr=False)
    logits: np.ndarray = field(repr=False)
    probs: np.ndarray = field(repr=False)
    fitb_scores: np.ndarray = field(repr=False)
    fitb_answers: np.ndarray = field(repr=False)
    n_fitb_skipped: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """Plain JSON-ready numbers (NaN as None), with the per-category table."""
        table = self.per_category
        per_cat = {cat: {col: _plain(table.at[cat, col]) for col in table.columns}
                   for cat in table.index}
        return {"auc": _plain(self.auc), "fitb": _plain(self.fitb),
                "accuracy": _plain(self.accuracy), "ece": _plain(self.ece),
                "n_compat": self.n_compat, "n_fitb": self.n_fitb,
                "n_fitb_skipped": self.n_fitb_skipped, "seconds": round(self.seconds, 2),
                "per_category": per_cat}


def _plain(v: Any) -> Any:
    if isinstance(v, (np.integer, int)) and not isinstance(v, bool):
        return int(v)
    v = float(v)
    return None if math.isnan(v) else v


def evaluate(dataset: Dataset, scorer: OutfitScorer, *, name: str) -> EvalResult:
    """Score every compatibility question and FITB candidate of ``dataset`` with ``scorer``.

    AUC is over the compatibility logits; FITB is right when the true answer's outfit scores
    strictly highest; accuracy thresholds the calibrated probability at 0.5; ECE over 10 bins.
    FITB questions with fewer choices than the split's most (easier ones) are left out and
    counted in ``n_fitb_skipped``.
    """
    started = time.perf_counter()
    compat = dataset.compatibility
    n_choices = max((len(q.answer_ids) for q in dataset.fitb), default=0)
    fitb = [q for q in dataset.fitb if len(q.answer_ids) == n_choices]
    outfits: list[tuple[str, ...]] = [q.item_ids for q in compat]
    for q in fitb:
        outfits += [(*q.question_ids, a) for a in q.answer_ids]

    scorer.prepare(list(dataset.items.values()))
    scores = (np.asarray(scorer.logits(outfits), dtype=np.float64).reshape(-1) if outfits
              else np.zeros(0))
    if len(scores) != len(outfits):
        raise OutfitError(f"scorer {name!r} returned {len(scores)} scores for {len(outfits)} outfits")

    labels = np.array([q.label for q in compat], dtype=np.float64)
    logits = scores[: len(compat)]
    probs = calibrated_probability(logits, scorer.temperature, getattr(scorer, "bias", 0.0))
    fitb_scores = scores[len(compat):].reshape(len(fitb), n_choices)
    answers = np.array([q.answer_index for q in fitb], dtype=np.int64)

    table = _per_category(dataset, labels, logits, fitb, fitb_scores, answers)
    ece = reliability(labels, probs)[3] if len(labels) else float("nan")
    return EvalResult(
        name=name, split=dataset.split,
        auc=auc(labels, logits), fitb=fitb_accuracy(fitb_scores, answers),
        accuracy=accuracy_at(labels, probs), ece=ece,
        n_compat=len(compat), n_fitb=len(fitb), per_category=table,
        labels=labels, logits=logits, probs=probs, fitb_scores=fitb_scores, fitb_answers=answers,
        n_fitb_skipped=len(dataset.fitb) - len(fitb), seconds=time.perf_counter() - started,
    )


def _per_category(dataset: Dataset, labels: np.ndarray, logits: np.ndarray, fitb: Sequence,
                  fitb_scores: np.ndarray, answers: np.ndarray) -> pd.DataFrame:
    """Rows: semantic categories present in the questions. ``n_compat``/``auc``: compatibility
    questions holding an item of the category; ``n_fitb``/``fitb``: FITB questions whose right
    answer is of the category (so ``n_fitb`` sums to the number of FITB questions)."""

    def cat(item_id: str) -> str:
        return dataset.item(item_id).semantic_category

    compat_cats = [{cat(i) for i in q.item_ids} for q in dataset.compatibility]
    answer_cats = np.array([cat(q.answer_id) for q in fitb], dtype=object)
    if len(fitb_scores):
        right = np.take_along_axis(fitb_scores, answers[:, None], 1)[:, 0]
        others = fitb_scores.copy()
        np.put_along_axis(others, answers[:, None], -np.inf, 1)
        correct = right > others.max(axis=1)
    else:
        correct = np.zeros(0, dtype=bool)
    rows = {}
    for c in SEMANTIC_CATEGORIES:
        has = np.array([c in cs for cs in compat_cats], dtype=bool)
        is_answer = answer_cats == c
        if not has.any() and not is_answer.any():
            continue
        rows[c] = {
            "n_compat": int(has.sum()),
            "auc": auc(labels[has], logits[has]) if has.any() else float("nan"),
            "n_fitb": int(is_answer.sum()),
            "fitb": float(correct[is_answer].mean()) if is_answer.any() else float("nan"),
        }
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(PER_CATEGORY_COLUMNS))
    table.index.name = "category"
    return table.astype({"n_compat": int, "n_fitb": int})


def evaluate_many(dataset: Dataset, scorers: Mapping[str, OutfitScorer]) -> list[EvalResult]:
    """:func:`evaluate` for each ``name -> scorer``, in order."""
    return [evaluate(dataset, s, name=n) for n, s in scorers.items()]


def comparison_table(results: Sequence[EvalResult]) -> pd.DataFrame:
    """One row per model: auc, fitb, accuracy, ece, n_compat, n_fitb."""
    table = pd.DataFrame([{"model": r.name, **{c: getattr(r, c) for c in COMPARISON_COLUMNS}}
                          for r in results], columns=["model", *COMPARISON_COLUMNS])
    return table.set_index("model").astype({"n_compat": int, "n_fitb": int})


def file_safe(name: str) -> str:
    """A model name as a file-name part: letters, digits, ``.``, ``_`` and ``-`` only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "model"


def resolve_scorers(specs: Sequence[str], dataset_root: Path | str, *, baselines: bool = True,
                    device: str = "cpu", seed: int = 0, version: str = "nondisjoint",
                    cache_dir: Path | str | None = None,
                    reads: str = "pixels") -> dict[str, OutfitScorer]:
    """``--model`` arguments -> named scorers. A spec that is an existing path is a model folder
    (or ``model.pt``), named after its folder, reading the items as ``reads`` says
    (:meth:`~grader.api.GraderModel.item_table`); otherwise it must name a registered baseline.
    With ``baselines``, every registered baseline not already asked for is appended. Baselines
    that learn read the train split of ``dataset_root`` (and its valid split, where present,
    for early stopping and calibration)."""
    from .api import load_model
    from .baselines import create_baseline, list_baselines

    splits: dict[str, Dataset | None] = {}

    def baseline(name: str) -> OutfitScorer:
        if not splits:
            from data.loaders import load_dataset

            splits["train"] = load_dataset(dataset_root, split="train", version=version)
            try:
                splits["valid"] = load_dataset(dataset_root, split="valid", version=version)
            except MissingFileError:
                splits["valid"] = None
        return create_baseline(name, splits["train"], seed=seed, valid=splits["valid"],
                               cache_dir=cache_dir)

    known = list_baselines()
    out: dict[str, OutfitScorer] = {}
    asked: set[str] = set()

    def add(name: str, scorer: OutfitScorer) -> None:
        unique, k = name, 2
        while unique in out:
            unique, k = f"{name}-{k}", k + 1
        out[unique] = scorer

    for spec in specs:
        path = Path(spec).expanduser()
        if path.exists():
            model_dir = path.parent if path.is_file() else path
            add(model_dir.resolve().name, ModelScorer(load_model(path, device=device),
                                                      cache_dir=cache_dir, reads=reads))
        elif spec in known:
            asked.add(spec)
            add(spec, baseline(spec))
        else:
            raise ModelError(f"no model at {spec} and no baseline of that name",
                             hint="give a model folder made by 'outfit train', or a baseline: "
                                  + ", ".join(known))
    if baselines:
        for name in known:
            if name not in asked:
                add(name, baseline(name))
    return out
