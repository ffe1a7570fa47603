"""``reasons``: an attribution told in a few sentences a person understands.

    The pattern of the white striped pencil skirt lowers the score most (-4.6 points).
    The style of the white polka-dot sweater also lowers it (-3.5 points).
    The shape of the brown loafers helps it most (+2.4 points).

When the most harmful item shares its blame with another in a clash (:mod:`explain.clash`),
the first sentence names both instead of guessing which one is the problem:

    The patterns of the white striped pencil skirt and the polka-dot sweater clash: together
    they lower the score most (-4.6 and -3.5 points); changing either should help.

A method with pair terms (``shapley-pairs``) names the clash it reads off them, with the
pair's own value: "The striped shirt and the skirt clash (-1.2 points as a pair): ...".

Points are logit points. Contributions smaller than ``min_points`` are not worth a sentence.
"""

from __future__ import annotations

from .attribution import GROUP_WORDS, Attribution

__all__ = ["reasons", "named_first", "what_helps"]

_PLURAL = {"colour": "colours", "shape": "shapes", "pattern": "patterns", "style": "styles"}


def _what(att: Attribution, item: int, group: int | None) -> tuple[str, bool]:
    """The subject of a sentence, and whether it is plural ("the loafers lower...")."""
    label = _name(att.items[item].label)
    if group is None:
        plural = label.endswith("s") and not label.endswith("ss")
        return label[0].upper() + label[1:], plural
    word = GROUP_WORDS.get(att.groups[group], att.groups[group])
    return f"The {word} of {label}", False


def _name(label: str) -> str:
    """``"White striped pencil skirt"`` -> ``"the white striped pencil skirt"``."""
    words = label.split()
    if words and words[0][:1].isupper() and words[0][1:].islower():
        words[0] = words[0].lower()  # a capitalised first word, not a name like "UGG"
    return "the " + " ".join(words)


def named_first(att: Attribution, *, min_points: float = 0.25) -> tuple[tuple[int, int | None], ...]:
    """The (item index, group index or None) pairs the first sentence of :func:`reasons` names
    as lowering the score: the clash's two, or the most harmful one; none when nothing lowers
    it by ``min_points``."""
    ranked = att.ranked()
    if not ranked or ranked[0][2] > -min_points:
        return ()
    c = att.clash
    if c is not None and c.values[1] <= -min_points:
        return ((c.first, c.group), (c.second, c.group))
    return (ranked[0][:2],)


def reasons(att: Attribution, *, max_sentences: int = 3, min_points: float = 0.25) -> list[str]:
    """Up to ``max_sentences`` sentences: what lowers the score most, what else lowers it,
    and what helps it most."""
    ranked = att.ranked()
    harmful = [r for r in ranked if r[2] <= -min_points]
    out: list[str] = []
    clash = att.clash
    if len(named_first(att, min_points=min_points)) == 2:
        out.append(_clash_sentence(att))
        both = {(clash.first, clash.group), (clash.second, clash.group)}
        for i, g, v in [r for r in harmful if (r[0], r[1]) not in both][:max(0, max_sentences - 2)]:
            who, many = _what(att, i, g)
            out.append(f"{who} also {'lower' if many else 'lowers'} it ({v:+.1f} points).")
    elif harmful:
        who, many = _what(att, *harmful[0][:2])
        out.append(f"{who} {'lower' if many else 'lowers'} the score most "
                   f"({harmful[0][2]:+.1f} points).")
        for i, g, v in harmful[1:max(1, max_sentences - 1)]:
            who, many = _what(att, i, g)
            out.append(f"{who} also {'lower' if many else 'lowers'} it ({v:+.1f} points).")
    else:
        out.append("Nothing in this outfit lowers its score noticeably.")
    helps = what_helps(att, min_points=min_points)
    if helps is not None and len(out) < max_sentences:
        out.append(helps)
    return out[:max_sentences]


def what_helps(att: Attribution, *, min_points: float = 0.25) -> str | None:
    """The sentence about what helps the outfit most ("The shape of the brown loafers helps it
    most (+2.4 points)."), or None when nothing helps it by ``min_points``."""
    ranked = att.ranked()
    if not ranked or ranked[-1][2] < min_points or ranked[-1][2] <= 0:
        return None
    i, g, v = ranked[-1]
    who, many = _what(att, i, g)
    return f"{who} {'help' if many else 'helps'} it most ({v:+.1f} points)."


def _clash_sentence(att: Attribution) -> str:
    c = att.clash
    a, b = _name(att.items[c.first].label), _name(att.items[c.second].label)
    if c.group is None:
        subject = a[0].upper() + a[1:] + " and " + b
    else:
        word = GROUP_WORDS.get(att.groups[c.group], att.groups[c.group])
        subject = f"The {_PLURAL.get(word, word + 's')} of {a} and {b}"
    pair = "" if c.pair is None else f" ({c.pair:+.1f} points as a pair)"
    return (f"{subject} clash{pair}: together they lower the score most ({c.values[0]:+.1f} "
            f"and {c.values[1]:+.1f} points); changing either should help.")
