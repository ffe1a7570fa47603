"""The whole evaluation: every method through every check, and the report they make.

Item features are computed once per dataset (:meth:`~grader.api.GraderModel.item_table`); the
category means come from the model (stored by training) or, for an older model, from the train
split's items. One random generator, seeded by ``seed``, draws in a fixed order: the good
outfits' order, the corruptions, the random deletion orders, then the ground-truth cases.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from data.dataset import Dataset
from data.loaders import load_dataset
from grader.api import FeatureTable, GraderModel
from outfit.errors import OutfitError

from ..attribution import OutfitInput, list_methods, outfit_input
from ..reference import FeatureReference, feature_reference, reference_from_table
from .deletion import RandomDeletion, deletion_scores, random_deletion
from .explainer import Explainer, by_group_of
from .ground_truth import WorldTruth, random_truth, rules_summary, truth_scores, world_truth
from .pixel_deletion import pixel_deletion
from .plots import save_explainer_plots
from .randomisation import RANDOM_DRAWS, RANDOMISATION_THRESHOLD, randomisation_check, randomised_model
from .replace_detect import Corruption, corrupt_outfits, detection_scores
from .scores import random_baseline

NOTES = [
    "top1/mrr: ties broken at random in expectation; mrr ranks the (item, group) pair, "
    "or the item for methods without group values (random: mrr_item)",
    "deletion_auc: most positive pair deleted first (to its category mean), curve "
    "normalised from 1 (outfit) to 0 (all means); lower is better",
    "insertion_auc: from all means, most positive pair restored first, curve normalised from "
    "0 to 1; higher is better",
    "faithfulness.<deletion|insertion>.vs_<random|random_items>: margin over random pair "
    "orders / whole items at random (positive: better than the baseline), margin_std over the "
    "random orders, interval: 95% over outfits (bootstrap), beats: interval above 0",
    f"randomisation: passed when the mean Spearman correlation between the trained and "
    f"a re-initialised grader's attributions is below {RANDOMISATION_THRESHOLD}",
    "ground_truth: the swapped-in item (top1_item/top1_reason) and, under 'rules', any "
    "item/reason the world's rules blame; formality and season map to the shape group",
    "rules.*.tie_blind_top1_item: the most an explainer can score that ranks the "
    "rule-blamed items first but cannot tell two clashing items apart",
]


def evaluate_explainer(dataset_path: Path | str, model: GraderModel, *,
                       methods: Sequence[str] | None = None, split: str = "test",
                       max_outfits: int = 200, margin: float = 1.0, seed: int = 0,
                       plots_dir: Path | str | None = None,
                       options: Mapping[str, Mapping[str, Any]] | None = None,
                       cache_dir: Path | str | None = None, pixel_outfits: int = 0,
                       pixel_methods: Sequence[str] | None = None) -> dict:
    """Measure the attribution ``methods`` (default: all registered) on ``split`` of the dataset
    at ``dataset_path``: replace-and-detect, deletion, randomisation and, in a synthetic world,
    ground truth (see :mod:`explain.evaluation`). At most ``max_outfits`` corrupted outfits, good
    outfits (deletion, randomisation) and ground-truth outfits each; ``margin`` in logit points;
    ``options`` per method go to :func:`~explain.attribution.attribute` (``{"ig": {"steps":
    16}}``). With ``plots_dir``, PNG plots are written there. With ``pixel_outfits``, the pixel
    maps of ``pixel_methods`` (default: all) on the photos of that many good outfits are measured
    too (:mod:`.pixel_deletion`; ``report["pixels"]``, else None). ``model`` is not changed.

    Returns ``{"methods": {name: {"top1_item", "top1_item_group", "mrr", "deletion_auc",
    "randomisation": {"passed", "spearman", ...}, "ground_truth": {...} or None, ...}},
    "random": {...}, "outfits": N, ...}``, JSON-ready (None where a number is undefined)."""
    known = list_methods()
    methods = list(dict.fromkeys(methods)) if methods else known
    for m in methods:
        if m not in known:
            raise OutfitError(f"unknown attribution method {m!r}",
                              hint="known attribution methods: " + ", ".join(known))
    if max_outfits < 1:
        raise OutfitError(f"max_outfits must be at least 1, got {max_outfits}")
    options = {k: dict(v) for k, v in (options or {}).items()}
    was_training = model.grader.training
    try:
        setup = _prepare(dataset_path, model, split, int(max_outfits), float(margin), int(seed),
                         cache_dir)
        per_method = {name: _method_row(name, model, setup, options.get(name, {}))
                      for name in methods}
        report = _report(setup, per_method)
        report["pixels"] = None if pixel_outfits < 1 else pixel_deletion(
            [inp.items for inp in setup.inputs[:pixel_outfits]], model, setup.table,
            methods=pixel_methods, seed=setup.seed, cache_dir=cache_dir)
        report = _round(report)
    finally:
        model.grader.train(was_training)
    if plots_dir is not None:
        report["plots"] = [str(p) for p in save_explainer_plots(report, plots_dir)]
    return report


def reference_for(dataset_path: Path | str, dataset: Dataset, table: FeatureTable,
                  model: GraderModel, cache_dir: Path | str | None) -> FeatureReference:
    """The model's stored category means, else the train split's."""
    if model.meta.get("feature_reference"):
        return feature_reference(model)
    train = dataset if dataset.split == "train" else load_dataset(dataset_path, split="train")
    items = list(train.items.values())
    train_table = table if train is dataset else model.item_table(items, cache_dir=cache_dir)
    return reference_from_table(train_table, items, source="the train split's items")


@dataclass(frozen=True)
class _Setup:
    """What every method is measured on: the split's feature ``table`` and category means
    (``reference``), the corrupted outfits, the good outfits' inputs with their random deletion,
    the world's truth (None outside a synthetic world) and the randomised graders."""

    dataset_path: str
    split: str
    margin: float
    seed: int
    table: FeatureTable
    reference: FeatureReference
    groups: tuple[str, ...]
    corruptions: list[Corruption]
    tried: int
    inputs: list[OutfitInput]
    random_deletion: RandomDeletion
    world: WorldTruth | None
    rand_models: list[GraderModel]


def _prepare(dataset_path: Path | str, model: GraderModel, split: str, max_outfits: int,
             margin: float, seed: int, cache_dir: Path | str | None) -> _Setup:
    ds = load_dataset(dataset_path, split=split)
    items = list(ds.items.values())
    table = model.item_table(items, cache_dir=cache_dir)
    ref = reference_for(dataset_path, ds, table, model, cache_dir)
    groups = tuple(model.layout.names)
    rng = np.random.default_rng(seed)
    good = [o for o in ds.outfits if not o.problems()]
    good = [good[k] for k in rng.permutation(len(good))]
    corruptions, tried = corrupt_outfits(good, items, table, model, rng, max_outfits, margin)
    # good outfits for deletion and randomisation (deletion keeps those whose logit stands at
    # least `margin` above their all-means version: the others have nothing to delete)
    inputs = [outfit_input(o.items, model, features=table, reference=ref)[0]
              for o in good[:max_outfits]]
    # whole items at random draw from their own generator: `rng` draws what it drew before
    item_rng = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
    deletion = random_deletion(inputs, len(groups), rng, margin, item_rng)
    world = world_truth(dataset_path, ds, corruptions, groups, rng, max_outfits)
    rand_models = [randomised_model(model, seed + k) for k in range(RANDOM_DRAWS)]
    return _Setup(str(dataset_path), split, margin, seed, table, ref, groups, corruptions, tried,
                  inputs, deletion, world, rand_models)


def _method_row(name: str, model: GraderModel, setup: _Setup, options: Mapping[str, Any]) -> dict:
    """One method through every check: its row of the report."""
    explain = Explainer(name, setup.reference, options)
    corrupted = [explain(c.items, model, c.features) for c in setup.corruptions]
    good = [explain(inp.items, model, setup.table) for inp in setup.inputs]
    by_group = by_group_of([*corrupted, *good])
    verdicts = None if setup.world is None else setup.world.verdicts
    row = detection_scores(setup.corruptions, corrupted, verdicts, len(setup.groups), by_group)
    row.update(deletion_scores(setup.inputs, good, setup.random_deletion, setup.seed))
    row["randomisation"] = randomisation_check(explain, setup.inputs, good, setup.rand_models,
                                               setup.table)
    row["ground_truth"] = (None if setup.world is None else
                           truth_scores(explain, model, setup.table, setup.world, setup.groups,
                                        by_group))
    row["by_group"] = by_group
    row["outfits"] = sum(att is not None for att in corrupted)
    row["skipped"] = explain.skipped
    return row


def _report(setup: _Setup, per_method: dict[str, dict]) -> dict:
    """The report around the methods' rows: the random ranking's row and the run's numbers."""
    n_groups, world = len(setup.groups), setup.world
    sizes = [len(c.items) for c in setup.corruptions]
    random = {**random_baseline(sizes, n_groups), **setup.random_deletion.summary(),
              "ground_truth": random_truth(world, n_groups)}
    return {
        "dataset": setup.dataset_path, "split": setup.split, "methods": per_method,
        "random": random, "rules": rules_summary(setup.corruptions, world),
        "outfits": len(setup.corruptions), "tried": setup.tried,
        "outfit_sizes": {str(n): sizes.count(n) for n in sorted(set(sizes))},
        "margin": setup.margin, "seed": setup.seed,
        "groups": list(setup.groups), "reference": setup.reference.source,
        "deletion_outfits": len(setup.random_deletion.usable),
        "randomisation_outfits": len(setup.inputs),
        "ground_truth_outfits": None if world is None else len(world.cases),
        "corrupted_groups": {g: sum(c.group == k for c in setup.corruptions)
                             for k, g in enumerate(setup.groups)},
        "notes": list(NOTES),
    }


def _round(v: Any) -> Any:
    """``v`` JSON-ready: floats to six decimals, None where not finite."""
    if isinstance(v, float):
        return None if not math.isfinite(v) else round(v, 6)
    if isinstance(v, dict):
        return {k: _round(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_round(x) for x in v]
    return v
