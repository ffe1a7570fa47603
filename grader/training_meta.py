"""What a trained model carries besides its weights, written into its checkpoint's ``meta``.

The metrics, data and configuration of its card; the feature statistics of the training items
(what the explainer compares items with); the named groups of its features (so that it can
read a person's photos through their tags); how it reads a closet; and, for a model that
learnt from drawings, a calibration of its scores on real photos with known answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .api import GraderModel, feature_statistics
from .named_groups import named_groups_from
from .training_progress import ProgressFile

if TYPE_CHECKING:
    from .training import TrainConfig, TrainingData
    from .training_grader import CachedFeatures

__all__ = ["describe_model"]


def describe_model(cfg: TrainConfig, model: GraderModel, card: dict, feats: CachedFeatures,
                   data: TrainingData, report: ProgressFile) -> None:
    """Fill ``model.meta`` (and the card's closet calibration, where there is one)."""
    fn, n_train = model.feature_net, data.n_train
    with torch.no_grad():  # what the explainer compares items with: the training items
        train_feats = torch.cat([fn.features_from(feats.color[s:s + 4096],
                                                  feats.trunk[s:s + 4096]).cpu()
                                 for s in range(0, n_train, 4096)])
    model.meta = {"metrics": card["metrics"], "data": card["data"], "created": card["created"],
                  "train_config": card["config"],
                  "feature_reference": feature_statistics(train_feats,
                                                          feats.categories[:n_train])}
    groups = named_groups_from(data.items[:n_train], train_feats, fn.layout)
    if groups is not None:  # the model can read a person's photos through their tags
        model.meta["named_groups"] = groups.to_dict()
        model.named_groups = groups
    # A model that learnt from drawings reads a person's photos by their tags, and its scores
    # there are calibrated on real photos with known answers.
    model.meta["closet_reads"] = "tags" if groups is not None and _drawn(cfg.dataset) else "pixels"
    if model.closet_reads == "tags":
        from .closet_calibration import fit_closet_calibration

        report("finishing", message="calibrating on real photos", force=True)
        calibration = fit_closet_calibration(model)
        if calibration is not None:
            model.meta["closet_calibration"] = calibration
            card["closet_calibration"] = calibration


def _drawn(dataset: str) -> bool:
    """Whether ``dataset`` is a synthetic world (its photos are drawings)."""
    from data.synth.writer import GENERATOR

    try:
        summary = json.loads((Path(dataset) / "world.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and summary.get("generator") == GENERATOR
