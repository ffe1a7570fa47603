"""Scoring a split's evaluation questions with any scorer of padded outfits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from data.dataset import Dataset

from .api import pad_outfits
from .metrics import auc, fitb_accuracy

__all__ = ["QuestionSet", "question_set", "answer_questions", "Scorer"]

# padded rows (B, S) -> logits (B,)
Scorer = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class QuestionSet:
    """A split's questions as rows of a feature table."""

    compat_rows: list[list[int]]
    compat_labels: np.ndarray
    fitb_rows: list[list[int]]  # Q * A candidate outfits, question by question
    fitb_answers: np.ndarray
    n_choices: int


def question_set(ds: Dataset, index: Mapping[str, int]) -> QuestionSet:
    """Rows of the compatibility outfits and of every fill-in-the-blank completion."""
    compat = [[index[i] for i in q.item_ids] for q in ds.compatibility]
    labels = np.array([q.label for q in ds.compatibility], dtype=np.float64)
    n_choices = max((len(q.answer_ids) for q in ds.fitb), default=0)
    fitb_rows, answers = [], []
    for q in ds.fitb:
        if len(q.answer_ids) != n_choices:
            continue  # a question with fewer choices would be easier; leave it out
        base = [index[i] for i in q.question_ids]
        fitb_rows += [base + [index[a]] for a in q.answer_ids]
        answers.append(q.answer_index)
    return QuestionSet(compat, labels, fitb_rows, np.array(answers, dtype=np.int64), n_choices)


@torch.no_grad()
def answer_questions(qs: QuestionSet, scorer: Scorer, batch_size: int = 8192) -> dict:
    """AUC and FITB accuracy of ``scorer``; also the raw compatibility logits and FITB scores."""

    def run(rows: list[list[int]]) -> np.ndarray:
        out = [scorer(pad_outfits(rows[s:s + batch_size])).float().cpu()
               for s in range(0, len(rows), batch_size)]
        return torch.cat(out).numpy() if out else np.zeros(0)

    compat_logits = run(qs.compat_rows)
    fitb_scores = run(qs.fitb_rows).reshape(-1, qs.n_choices) if qs.n_choices else np.zeros((0, 0))
    return {
        "auc": auc(qs.compat_labels, compat_logits) if len(compat_logits) else float("nan"),
        "fitb": fitb_accuracy(fitb_scores, qs.fitb_answers) if len(fitb_scores) else float("nan"),
        "compat_logits": compat_logits,
        "fitb_scores": fitb_scores,
    }
