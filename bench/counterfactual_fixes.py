"""How often the shopping hint makes a bad outfit good by a synthetic world's rules.

For the test split's bad outfits (those the rules blame an item of), the top hint of
:func:`explain.counterfactual.property_hints` is applied to its item and the world's rules
judge the result (:func:`explain.counterfactual_check.counterfactual_fixes`). Prints one JSON
object: ``fixable_rate`` over the outfits one colour or pattern change can fix (target of issue
18: >= 0.90), ``of_all`` over every bad outfit, the counts, and ``hint_ms`` (median, gxa given).
Run: .venv/bin/python bench/counterfactual_fixes.py --model DIR --world DIR [--outfits 400]
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from _common import model_world_parser  # (importing it puts the repository on sys.path)


def main(args: argparse.Namespace) -> dict:
    from data.loaders import load_dataset
    from explain.counterfactual_check import counterfactual_fixes
    from grader import load_model

    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    test = load_dataset(args.world, split="test")
    start = time.perf_counter()
    out = counterfactual_fixes(test, model, max_outfits=args.outfits)
    out["seconds"] = round(time.perf_counter() - start, 1)
    return out


if __name__ == "__main__":
    p = model_world_parser(__doc__, required=True)
    p.add_argument("--outfits", type=int, default=None, help="At most this many bad outfits.")
    print(json.dumps(main(p.parse_args())))
