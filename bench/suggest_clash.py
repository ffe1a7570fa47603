"""Does trying both items of a clash make the suggested swap better? Measured on a synthetic
world, whose rules say whether the outfit after the swap is good.

For the bad outfits of a split (those the rules blame an item in), each with a closet of
``--closet-size`` items (its own and a random draw from the split), ``suggest`` is run twice on
the same attribution: as it is (a clash's two items both tried) and with the clash hidden (only
the most harmful item tried, as before clashes were named). Prints one JSON object:

  outfits                 bad outfits suggested for
  with_clash              share whose attribution names a clash
  other_item_chosen       share where the suggestion changes the clash's second item
  mean_score              mean calibrated score after the best swap, both ways
  fixed_by_rules          share of outfits the world's rules call good after the best swap,
                          both ways
Run: .venv/bin/python bench/suggest_clash.py --model M --world W [--method gxa] [--outfits N]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np
import torch
from _common import model_world_parser  # (importing it puts the repository on sys.path)


def get_args_parser() -> argparse.ArgumentParser:
    p = model_world_parser(__doc__, required=True, world_help="a synthetic world (outfit synth)")
    p.add_argument("--split", default="test")
    p.add_argument("--method", default="gxa")
    p.add_argument("--outfits", type=int, default=300)
    p.add_argument("--closet-size", type=int, default=30,
                   help="items in each outfit's closet: the outfit's own plus a random draw from "
                        "the split (a person's closet, not a shop); 0: the whole split")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> dict:
    args = get_args_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    from data.loaders import load_dataset
    from data.synth.rules import truth
    from explain import attribute, suggest
    from explain.evaluation import rule_cases
    from grader import load_model
    from outfit.domain import Closet

    model = load_model(args.model)
    ds = load_dataset(args.world, split=args.split)
    items = list(ds.items.values())
    table = model.item_table(items)
    cases = rule_cases(ds)[:args.outfits]
    rng = np.random.default_rng(args.seed)
    rows = []
    for case in cases:
        if args.closet_size:
            own = {it.id for it in case.items}
            others = [it for it in items if it.id not in own]
            pick = rng.choice(len(others), size=min(len(others), args.closet_size), replace=False)
            closet = Closet.of([*case.items, *(others[int(k)] for k in pick)], name="drawn")
        else:
            closet = Closet.of(items, name=args.split)
        att = attribute(case.items, model, args.method, features=table)
        both = suggest(case.items, closet, model, features=table, attribution=att, k=1)
        one = suggest(case.items, closet, model, features=table,
                      attribution=replace(att, clash=None), k=1)
        row = [att.clash is not None, both.item.id != one.item.id]
        for s in (both, one):
            best = s.best
            after = [it for it in case.items if it.id != s.item.id]
            if best is not None and best.item is not None:
                after.append(best.item)
            row += [best.score if best is not None else s.score, truth(after).ok]
        rows.append(row)
    r = np.array(rows, dtype=float)
    out = {"model": str(args.model), "world": str(args.world), "split": args.split,
           "method": args.method, "closet_size": args.closet_size, "outfits": len(r),
           "with_clash": round(float(r[:, 0].mean()), 4),
           "other_item_chosen": round(float(r[:, 1].mean()), 4),
           "mean_score": {"both_clash_items_tried": round(float(r[:, 2].mean()), 4),
                          "most_harmful_item_only": round(float(r[:, 4].mean()), 4)},
           "fixed_by_rules": {"both_clash_items_tried": round(float(r[:, 3].mean()), 4),
                              "most_harmful_item_only": round(float(r[:, 5].mean()), 4)}}
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
