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
    if report.get("rules"):
        lines += ["", *_rules_lines(report)]
    return "\n".join(lines)


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
