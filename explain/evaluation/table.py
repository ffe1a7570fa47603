"""The report as text: one row per method and one for the random ranking, and in a synthetic
world the same read against the world's rules (:mod:`.rules`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def explainer_table(report: Mapping[str, Any]) -> str:
    """The report as a text table: one row per method and one for the random ranking."""
    has_truth = report.get("ground_truth_outfits") is not None
    head = (f"{'method':<16}{'top1 item':>10}{'top1 pair':>10}{'MRR':>10}{'deletion':>10}"
            f"  {'randomisation':<18}")
    if has_truth:
        head += f"{'truth item':>11}{'truth grp':>11}"
    lines = [f"{report['dataset']} ({report['split']} split): {report['outfits']} corrupted "
             f"outfits, {report['deletion_outfits']} for deletion, "
             f"{report['randomisation_outfits']} for randomisation"
             + (f", {report['ground_truth_outfits']} with a known culprit" if has_truth else ""),
             head]
    for name, m in report["methods"].items():
        rnd = m["randomisation"]
        check = ("-" if rnd["passed"] is None else
                 f"{'pass' if rnd['passed'] else 'FAIL'} (rho {rnd['spearman']:+.2f})")
        lines.append(_row(name, m, check, has_truth))
    r = report["random"]
    lines.append(_row("random", r, "-", has_truth))
    lines.append("(top1/MRR: higher is better; deletion AUC: lower is better; random MRR of a "
                 f"whole item: {r['mrr_item']:.3f})" if r.get("mrr_item") is not None else
                 "(top1/MRR: higher is better; deletion AUC: lower is better)")
    lines += ["", *faithfulness_lines(report), *pixel_lines(report.get("pixels"))]
    if report.get("rules"):
        lines += ["", *_rules_lines(report)]
    return "\n".join(lines)


def _versus(c: Mapping[str, Any] | None) -> str:
    """A margin over a baseline: mean, spread over random orders, interval over outfits."""
    if not c or c.get("margin") is None:
        return f"{'-':<30}"
    std = "-" if c["margin_std"] is None else f"{c['margin_std']:.3f}"
    lo, hi = c["interval"]
    return f"{c['margin']:+.3f}±{std} [{lo:+.2f},{hi:+.2f}]{'*' if c['beats'] else ' '}  "


def pixel_lines(pixels: Mapping[str, Any] | None) -> list[str]:
    """Pixel deletion of the pixel maps against random pixels (none when not measured)."""
    if not pixels:
        return []
    if pixels.get("error"):
        return ["", f"Pixel deletion: not measured ({pixels['error']})"]
    r = pixels["random"]
    out = ["", f"Pixel deletion on {pixels['photos']} photos of {pixels['outfits']} good outfits: "
           "area under the outfit's probability as the most relevant pixels are blanked first "
           f"(lower is better); random pixels {fixed(r['deletion_auc'])} ± "
           f"{fixed(r['deletion_auc_std'])} over {pixels['orders']} orders",
           f"{'pixel method':<16}{'deletion':>9}  {'vs random pixels':<30}"]
    for name, m in pixels["methods"].items():
        out.append(f"{name:<16}{_cell(m['deletion_auc'], 9)}  {_versus(m['vs_random'])}")
    return out


def faithfulness_lines(report: Mapping[str, Any]) -> list[str]:
    """Deletion and insertion areas of every method against random pairs and random items."""
    out = [f"Deletion and insertion over (item, group) pairs, {report['deletion_outfits']} good "
           "outfits: area under the normalised curve (deletion: lower is better; insertion: "
           "higher); vs random: how much better than random pair orders / whole items at "
           "random, ± std over random orders, [95% interval over outfits], * interval above 0",
           f"{'method':<16}{'deletion':>9}  {'vs random pairs':<30}{'vs random items':<30}"
           f"{'insertion':>9}  {'vs random pairs':<30}{'vs random items':<30}"]
    for name, m in report["methods"].items():
        f = m.get("faithfulness") or {}
        d, i = f.get("deletion") or {}, f.get("insertion") or {}
        out.append(f"{name:<16}{_cell(m.get('deletion_auc'), 9)}  "
                   f"{_versus(d.get('vs_random'))}{_versus(d.get('vs_random_items'))}"
                   f"{_cell(m.get('insertion_auc'), 9)}  "
                   f"{_versus(i.get('vs_random'))}{_versus(i.get('vs_random_items'))}")
    r = report["random"]
    for name, row in (("random pairs", r), ("random items", r.get("random_items") or {})):
        out.append(f"{name:<16}{_cell(row.get('deletion_auc'), 9)}  "
                   f"{'± ' + fixed(row.get('deletion_auc_std')):<60}"
                   f"{_cell(row.get('insertion_auc'), 9)}  ± {fixed(row.get('insertion_auc_std'))}")
    return out


def fixed(v: float | None, digits: int = 3) -> str:
    """``v`` with ``digits`` decimals, "-" where undefined."""
    return "-" if v is None else f"{v:.{digits}f}"


def _cell(v: float | None, width: int = 10) -> str:
    """A table cell: ``v`` with three decimals, "-" where undefined, right-aligned."""
    return f"{fixed(v):>{width}}"


def _rules_lines(report: Mapping[str, Any]) -> list[str]:
    """The report read against the world's rules (:mod:`.ground_truth`)."""
    rules = report["rules"]
    k, t = rules["corruptions"], rules["ground_truth"]
    out = ["Against the world's rules (they blame both items of a clash; the outfit does not say "
           "which came last):",
           f"  replace-and-detect: replaced item the only culprit {k['single_culprit']}, tied "
           f"with others {k['tied']}, only others blamed {k['others_blamed']}, no rule broken "
           f"{k['no_rule_broken']}; a tie-blind explainer's top-1 item at most "
           f"{fixed(k['tie_blind_top1_item'])}",
           f"  ground truth: {t['tied']} of {t['outfits']} swapped-in culprits tied with another "
           f"item; a tie-blind explainer's top-1 item at most {fixed(t['tie_blind_top1_item'])}",
           f"{'method':<16}{'single':>8}{'blamed':>8}{'1st item':>9}{'1st pair':>9}"
           f"{'truth 1st':>10}{'rules item':>11}{'rules why':>10}{'clashes':>9}{'true':>7}"
           f"{'found':>7}"]
    for name, m in report["methods"].items():
        gt = m["ground_truth"] or {}
        ru = gt.get("rules") or {}
        out.append(f"{name:<16}{_cell(m.get('top1_item_single'), 8)}"
                   f"{_cell(m.get('top1_item_blamed'), 8)}{_cell(m.get('first_sentence_item'), 9)}"
                   f"{_cell(m.get('first_sentence_pair'), 9)}{_cell(gt.get('first_sentence'), 10)}"
                   f"{_cell(ru.get('top1_item'), 11)}{_cell(ru.get('top1_reason'), 10)}"
                   f"{_cell(ru.get('clash_named'), 9)}{_cell(ru.get('clash_true'), 7)}"
                   f"{_cell(ru.get('clash_found'), 7)}")
    rr = (report["random"].get("ground_truth") or {}).get("rules") or {}
    out.append(f"{'random':<16}{'':>8}{'':>8}{'':>9}{'':>9}{'':>10}"
               f"{_cell(rr.get('top1_item'), 11)}{_cell(rr.get('top1_reason'), 10)}")
    out.append("(single: top-1 item where the rules blame the replaced item alone; blamed: the "
               "top item is one the rules blame; 1st item/pair: the replaced item (and group) "
               "named in the first sentence of the reasons; truth 1st: the swapped-in culprit "
               "and its property named there; rules item/why: the item/(item, group) ranked "
               "first is one the rules blame, over every bad outfit; clashes: share of bad "
               "outfits whose reasons name a clash, true: of those, both items blamed by the "
               "rules, found: share of the rules' two-item clashes named)")
    return out


def _row(name: str, m: dict, check: str, has_truth: bool) -> str:
    """One method's line of the table (or the random baseline's)."""
    row = (f"{name:<16}{_cell(m['top1_item'])}{_cell(m['top1_item_group'])}{_cell(m['mrr'])}"
           f"{_cell(m['deletion_auc'])}  {check:<18}")
    if has_truth:
        gt = m["ground_truth"] or {}
        row += _cell(gt.get("top1_item"), 11) + _cell(gt.get("top1_group"), 11)
    return row
