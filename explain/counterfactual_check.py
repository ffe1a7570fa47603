"""Does the shopping hint fix bad outfits? Checked against a synthetic world's rules.

For each bad outfit of a split (:func:`explain.evaluation.rules.rule_cases`), the top hint of
:func:`explain.counterfactual.property_hints` is applied to the item it names (its ``color`` or
``pattern`` attribute set to the new value) and the world's rules
(:func:`data.synth.rules.truth`) judge the changed outfit. Many bad outfits cannot be fixed by
any one colour or pattern (a formal shoe with a casual tee, two clashes at once), so the rate is
reported over the outfits that some single change of one item's colour or pattern to a value of
the vocabulary makes good (``fixable``), and over all of them (``of_all``).

    counterfactual_fixes(dataset, model)  # {"fixable_rate": 0.97, ...}
"""

from __future__ import annotations

from collections.abc import Sequence

from data.dataset import Dataset
from grader.api import GraderModel
from outfit import defaults
from outfit.domain import Item

from .attribution import attribute
from .counterfactual import EDITABLE, PropertyHint, Prototypes, changed_item, property_hints
from .evaluation.rules import rule_cases

__all__ = ["counterfactual_fixes", "applied", "good_by_rules", "fixable"]


def applied(items: Sequence[Item], index: int, group: str, value: str) -> tuple[Item, ...]:
    """``items`` with item ``index``'s ``group`` attribute set to ``value``."""
    out = list(items)
    out[index] = changed_item(out[index], group, value)
    return tuple(out)


def good_by_rules(items: Sequence[Item]) -> bool:
    from data.synth.rules import truth  # the world's rules: only synthetic worlds get here

    return truth(items).ok


def fixable(items: Sequence[Item], protos: Prototypes) -> bool:
    """Whether one change of one item's colour or pattern to a value of ``protos`` makes
    ``items`` good by the rules."""
    return any(good_by_rules(applied(items, i, g, v)) for i in range(len(items))
               for g in EDITABLE for v in protos.values(g))


def _hint_fixes(items: Sequence[Item], hint: PropertyHint | None) -> bool:
    return hint is not None and good_by_rules(applied(items, hint.index, hint.group, hint.new))


def counterfactual_fixes(dataset: Dataset, model: GraderModel, *,
                         method: str = defaults.ATTRIBUTION_METHOD,
                         max_outfits: int | None = None) -> dict:
    """How often the top hint makes a bad outfit of ``dataset`` good by the world's rules."""
    from .counterfactual import prototypes

    cases = rule_cases(dataset)[:max_outfits]
    table = model.item_table(list({it.id: it for c in cases for it in c.items}.values()))
    protos = prototypes(model, table, [it for c in cases for it in c.items])
    n_fixable = fixed_fixable = fixed = hinted = 0
    for case in cases:
        att = attribute(case.items, model, method, features=table)
        hint = property_hints(att, model, features=table, protos=protos, k=1).best
        ok = _hint_fixes(case.items, hint)
        hinted += hint is not None
        fixed += ok
        if fixable(case.items, protos):
            n_fixable += 1
            fixed_fixable += ok
    return {"outfits": len(cases), "fixable": n_fixable, "hinted": hinted, "fixed": fixed,
            "fixable_rate": fixed_fixable / n_fixable if n_fixable else None,
            "of_all": fixed / len(cases) if cases else None, "source": protos.source,
            "method": method}
