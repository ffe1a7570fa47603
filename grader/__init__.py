"""The item-feature CNN, the outfit grader, training and evaluation.

Public API: :func:`load_model` (a :class:`GraderModel` with ``item_table`` and ``score``),
:func:`train` with :class:`TrainConfig`, and the registries of backbones and architectures.
Importing this package loads torch, so the layers below it never import it.
"""

from .api import FeatureTable, GraderModel, load_model, pad_outfits
from .backbones import create_backbone, list_backbones
from .baselines import create_baseline, list_baselines
from .checkpoint import load_checkpoint, save_checkpoint
from .evaluate import EvalResult, ModelScorer, comparison_table, evaluate, evaluate_many
from .features import GROUPS, FeatureLayout, ItemFeatureNet
from .model import create_grader, list_graders
from .training import TrainConfig, train

__all__ = [
    "GraderModel",
    "FeatureTable",
    "load_model",
    "pad_outfits",
    "TrainConfig",
    "train",
    "GROUPS",
    "FeatureLayout",
    "ItemFeatureNet",
    "create_backbone",
    "list_backbones",
    "create_grader",
    "list_graders",
    "load_checkpoint",
    "save_checkpoint",
    "evaluate",
    "evaluate_many",
    "comparison_table",
    "EvalResult",
    "ModelScorer",
    "create_baseline",
    "list_baselines",
]
