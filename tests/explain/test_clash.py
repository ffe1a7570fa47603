"""Clashes: two items that pull the score down together are named together, and only then."""

import re

import numpy as np
import pytest
import torch
from explain_kit import ITEMS, Clash, Linear, _model, _net, _reference, _table

from explain import attribute, list_methods, reasons, suggest
from explain.clash import SHARED_BLAME, find_clash
from explain.text import named_first
from outfit.domain import Closet, Item

GROUP_METHODS = ("gxa", "gxa-centered", "ig", "occlusion", "smoothgrad")


def _clash_setup(top=3.0, skirt=2.5, seed=0):
    """The clash grader; the top's and the skirt's "striped" values high, nobody else's."""
    layout = _net().layout
    grader = Clash(layout)
    model = _model(grader)
    g = torch.Generator().manual_seed(seed)
    feats = 0.3 * torch.rand(len(ITEMS), layout.dim, generator=g)
    feats[:, grader.p] = 0.0
    feats[0, grader.p], feats[1, grader.p] = top, skirt
    ref = _reference(layout.dim)
    for mean in ref.means.values():
        mean[grader.p] = 0.1  # a typical item is barely striped
    return model, feats, ref, layout.names.index("pattern")


@pytest.mark.parametrize("method", [*GROUP_METHODS, "shapley-items"])
def test_a_planted_clash_is_named_with_both_items_and_its_group(method):
    model, feats, ref, pattern = _clash_setup()
    att = attribute(ITEMS, model, method, features=_table(feats), reference=ref)
    assert att.clash is not None, method
    assert set(att.clash.items) == {0, 1}
    assert att.clash.first == att.most_harmful_item()
    assert att.clash.group == (None if method == "shapley-items" else pattern)
    g1, g2, g12 = att.clash.gains
    assert g1 > 0 and g2 > 0 and g1 + g2 > g12  # fixing either helps; together less than the sum
    assert att.clash.values[1] <= SHARED_BLAME * att.clash.values[0] < 0
    first = reasons(att)[0]
    assert "striped shirt" in first and "skirt" in first and "clash" in first, first
    if method != "shapley-items":
        assert first.startswith("The patterns of"), first
    assert re.search(r"\(-\d+\.\d and -\d+\.\d points\)", first), first
    assert set(named_first(att)) == {(0, att.clash.group), (1, att.clash.group)}
    assert att.to_dict()["clash"]["items"] == list(att.clash.items)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("method", list_methods())
def test_independent_items_never_make_a_clash(method, seed):
    """A linear grader has no interactions: two bad items add up, so nothing is a clash, and
    the reasons name one item first, as before."""
    dim = _net().layout.dim
    model = _model(Linear(dim))
    feats = torch.rand(len(ITEMS), dim, generator=torch.Generator().manual_seed(seed))
    att = attribute(ITEMS, model, method, features=_table(feats), reference=_reference(dim))
    assert att.clash is None
    assert len(named_first(att)) <= 1
    assert "clash" not in " ".join(reasons(att))


def test_one_striped_item_alone_is_no_clash():
    model, feats, ref, _ = _clash_setup(top=3.0, skirt=0.0)
    att = attribute(ITEMS, model, "gxa", features=_table(feats), reference=ref)
    assert att.clash is None


def test_find_clash_needs_shared_blame():
    model, feats, ref, pattern = _clash_setup()
    att = attribute(ITEMS, model, "gxa", features=_table(feats), reference=ref)
    from explain.attribution import outfit_input

    inp, _ = outfit_input(ITEMS, model, features=_table(feats), reference=ref)
    values = att.values.copy()
    values[att.clash.second, pattern] = 0.4 * values[att.clash.first, pattern]  # little shared
    values[att.clash.second, np.arange(values.shape[1]) != pattern] = 0.0
    assert find_clash(inp, values, values.sum(1)) is None
    assert find_clash(inp, att.values, att.item_totals) is not None


def test_the_suggestion_changes_whichever_clashing_item_gives_the_better_outfit():
    """The skirt has a plain replacement in the closet and the top only a striped one: the
    skirt is the one to change, whichever of the two the attribution ranked first."""
    model, feats, ref, _ = _clash_setup()
    extra = (Item("top-b", "blouse", "tops"), Item("skirt-b", "jeans", "bottoms"))
    items = (*ITEMS, *extra)
    more = 0.3 * torch.rand(2, feats.shape[1], generator=torch.Generator().manual_seed(5))
    p = model.grader.p
    more[0, p], more[1, p] = 2.8, 0.0
    table = _table(torch.cat([feats, more]), items)
    att = attribute(ITEMS, model, "gxa", features=table, reference=ref)
    assert att.clash is not None
    s = suggest(ITEMS, Closet.of(items, name="t"), model, features=table, attribution=att)
    assert s.item.id == "skirt" and s.clash is not None and s.clash.id == "top"
    assert s.best.item.id == "skirt-b" and s.best.gain > 0
    logit = model.logits(table, [["top", "skirt-b", "shoe", "bag", "hat"]])[0]
    assert s.best.logit == pytest.approx(float(logit), abs=1e-4)
    assert all(r.item is None or r.item.slot == "lower" for r in s.replacements)
    assert "clash" in s.sentence() and s.to_dict()["clash"] == "top"


def test_what_helps_is_never_the_clash_sentence():
    """The recommend page's one-line reason is what helps most; the clash sentence ends with
    "should help" and must not be taken for it."""
    from explain.text import what_helps

    model, feats, ref, _ = _clash_setup()
    att = attribute(ITEMS, model, "gxa", features=_table(feats), reference=ref)
    helps = what_helps(att, min_points=0.0)
    best = max(att.ranked(), key=lambda r: r[2])
    assert helps is not None and "clash" not in helps and f"({best[2]:+.1f} points)" in helps
    assert helps in reasons(att, min_points=0.0) or len(reasons(att, min_points=0.0)) == 3
    assert what_helps(att, min_points=best[2] + 0.01) is None


@pytest.mark.parametrize("method", ["gxa", "occlusion", "shapley-items"])
def test_the_clash_does_not_depend_on_the_order_of_the_items(method):
    model, feats, ref, _ = _clash_setup()
    table = _table(feats)
    att = attribute(ITEMS, model, method, features=table, reference=ref)
    order = [3, 1, 4, 0, 2]
    shuffled = attribute([ITEMS[k] for k in order], model, method, features=table, reference=ref)
    ids = lambda a: {a.items[i].id for i in a.clash.items}  # noqa: E731
    assert ids(att) == ids(shuffled) == {"top", "skirt"}
    assert np.allclose(sorted(att.clash.values), sorted(shuffled.clash.values), atol=1e-5)
