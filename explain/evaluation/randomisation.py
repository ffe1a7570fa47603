"""The model-randomisation sanity check (Adebayo et al., "Sanity checks for saliency maps",
arXiv 1810.03292).

The grader's weights are drawn afresh (a deep copy; the caller's model is never touched),
:data:`RANDOM_DRAWS` times with different seeds, and every method explains the same good outfits
with the trained and each randomised grader. An explanation that barely changes when the model's
knowledge is destroyed explains the input, not the model. Reported: the mean Spearman rank
correlation between the two (flattened (item, group) values, or item totals) over outfits and
draws, and ``passed`` when it is below :data:`RANDOMISATION_THRESHOLD` (one draw alone can land
near the trained weights by chance: on a barely trained grader single draws gave correlations
from -0.46 to +0.27). Gradient x input is known to fail it on images, because the input term
survives randomisation.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch

from grader.api import FeatureTable, GraderModel

from ..attribution import Attribution, OutfitInput
from .scores import mean, spearman

#: Mean Spearman correlation (trained vs randomised grader) below which a method passes.
RANDOMISATION_THRESHOLD = 0.5
RANDOM_DRAWS = 3  # re-initialised graders per randomisation check


def reinitialise(module: torch.nn.Module, seed: int = 0) -> int:
    """Draw every parameter of ``module`` afresh, in place: layers with ``reset_parameters``
    as when built, any other parameter (the slots grader's empty vectors) from a normal
    distribution with its trained mean and spread. The global random state is left as it was.
    Returns how many parameter tensors were drawn (0: nothing to randomise)."""
    drawn: set[int] = set()
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(int(seed))
        for sub in module.modules():
            reset = getattr(sub, "reset_parameters", None)
            if callable(reset):
                reset()
                drawn |= {id(p) for p in sub.parameters(recurse=False)}
        for p in module.parameters():
            if id(p) in drawn:
                continue
            std = float(p.std()) if p.numel() > 1 else 0.0
            p.normal_(float(p.mean()), std if std > 0 else 0.02)
            drawn.add(id(p))
    return len(drawn)


def randomised_model(model: GraderModel, seed: int = 0) -> GraderModel:
    """A model sharing ``model``'s item-feature net whose grader is a deep copy with every
    weight drawn afresh (:func:`reinitialise`); ``model`` itself is not changed."""
    grader = copy.deepcopy(model.grader).cpu()
    reinitialise(grader, seed)
    out = GraderModel(model.feature_net, grader, model.prep, model.meta, device=str(model.device))
    out.grader.eval()
    return out


def randomisation_check(explain: Callable[[Sequence, GraderModel, FeatureTable],
                                          Attribution | None],
                        inputs: Sequence[OutfitInput], atts: Sequence[Attribution | None],
                        rand_models: Sequence[GraderModel], table: FeatureTable) -> dict:
    """Explain each good outfit of ``inputs`` whose trained attribution ``atts`` exists with every
    randomised grader (``explain(items, model, table)``) and compare the two rankings."""
    rhos = []
    for inp, att in zip(inputs, atts, strict=True):
        if att is None:
            continue
        flat = (lambda x: x.values) if att.by_group else (lambda x: x.item_totals)
        for rand_model in rand_models:
            r_att = explain(inp.items, rand_model, table)
            if r_att is not None:
                rhos.append(spearman(flat(att), flat(r_att)))
    rho = mean(rhos)
    return {"passed": None if rho is None else bool(rho < RANDOMISATION_THRESHOLD),
            "spearman": rho, "threshold": RANDOMISATION_THRESHOLD,
            "outfits": len(rhos) // RANDOM_DRAWS, "draws": RANDOM_DRAWS}
