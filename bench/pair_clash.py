"""Clashes named by the rule of thumb against clashes read off the pair terms, on a world's bad outfits.

For every bad outfit of ``--split`` in which the synthetic world's rules blame an item
(:func:`explain.evaluation.rules.rule_cases`): the clash :func:`explain.clash.find_clash` names
from each of ``--methods`` (the rule of thumb), and the one :func:`explain.clash.pair_clash`
reads off ``shapley-pairs``' pair terms at each of ``--thresholds`` (logit points), alone
and (``+top``) when it also holds the most harmful item. Needs a
trained model and its world (``--model``, ``--world``); without them it makes a 600-outfit
world and trains the default model on it first. Prints one JSON object: ``cases`` (outfits),
``tied`` (of them, outfits where the rules blame two items through one group: a clash), and
for each reading

  named     share of outfits where it names a clash
  true      of those, the share where the rules blame both its items
  found     share of the rules' clash outfits where it names a true clash
  agree     share of outfits where it and shapley-pairs at the default threshold name the same
            two items, or both name none
"""

from __future__ import annotations

import json
import tempfile

import torch
from _common import model_and_world, model_world_parser  # (importing it puts the repository on sys.path)


def get_args_parser():
    p = model_world_parser(__doc__)
    p.add_argument("--split", default="test")
    p.add_argument("--methods", nargs="+", default=["gxa", "shapley-items"])
    p.add_argument("--thresholds", nargs="+", type=float, default=[0.25, 0.5, 1.0, 2.0])
    p.add_argument("--max-outfits", type=int, default=400)
    return p


def _readings(rc, model, table, methods, thresholds) -> dict:
    """Each reading's clash on one outfit: a frozenset of two item indices, or None."""
    from explain import attribute
    from explain.attribution import outfit_input
    from explain.clash import pair_clash

    out = {}
    for m in methods:
        c = attribute(rc.items, model, m, features=table).clash
        out[m] = None if c is None else (frozenset(c.items), c.group)
    att = attribute(rc.items, model, "shapley-pairs", features=table)
    inp, _ = outfit_input(rc.items, model, features=table)
    top = int(att.item_totals.argmin())
    for t in thresholds:
        c = pair_clash(inp, att.pairs, att.item_totals, t)
        out[f"shapley-pairs@{t:g}"] = None if c is None else (frozenset(c.items), None)
        # the variant that also asks the clash to hold the most harmful item
        out[f"shapley-pairs@{t:g}+top"] = (None if c is None or top not in c.items
                                           else (frozenset(c.items), None))
    return out


def _true(reading, verdict, groups) -> bool:
    """Whether the rules blame both items of a clash (through its group, where it has one)."""
    pair, group = reading
    mine = [verdict.reasons.get(i, frozenset()) for i in pair]
    return all(mine) if group is None else all(groups[group] in g for g in mine)


def _summary(rows, cases, groups, reference) -> dict:
    from explain.evaluation.rules import tied

    def mean(xs):
        return None if not xs else round(sum(xs) / len(xs), 3)

    out = {}
    for name in rows[0]:
        named = [r[name] for r in rows]
        true = [_true(x, rc.verdict, groups) for x, rc in zip(named, cases, strict=True) if x is not None]
        found = [x is not None and _true(x, rc.verdict, groups)
                 for x, rc in zip(named, cases, strict=True) if tied(rc.verdict)]
        agree = [(x and x[0]) == (r[reference] and r[reference][0]) for x, r in zip(named, rows, strict=True)]
        out[name] = {"named": mean([x is not None for x in named]), "true": mean(true),
                     "found": mean(found), "agree": mean(agree)}
    return out


def main(args) -> dict:
    from data.loaders import load_dataset
    from explain.clash import PAIR_CLASH
    from explain.evaluation.rules import rule_cases, tied
    from grader import load_model

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, world = model_and_world(args, tmp)
        model = load_model(model_dir)
        dataset = load_dataset(world, split=args.split)
        table = model.item_table(list(dataset.items.values()))
        cases = rule_cases(dataset)[:args.max_outfits]
        thresholds = sorted({*args.thresholds, PAIR_CLASH})
        rows = [_readings(rc, model, table, args.methods, thresholds) for rc in cases]
        groups = model.layout.names
        return {"cases": len(cases), "tied": sum(tied(rc.verdict) for rc in cases),
                "readings": _summary(rows, cases, groups, f"shapley-pairs@{PAIR_CLASH:g}")}


if __name__ == "__main__":
    print(json.dumps(main(get_args_parser().parse_args())))
