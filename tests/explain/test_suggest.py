"""``suggest``: the most harmful item and the closet's best replacements, graded for real."""

import numpy as np
import pytest
import torch
from explain_kit import ITEMS, Linear, _model, _net, _reference, _table

from explain import attribute, suggest
from outfit.domain import Closet, Item, Outfit
from outfit.errors import OutfitError

CLOSET_EXTRA = (Item("top-b", "blouse", "tops"), Item("top-c", "tee", "tops"),
                Item("skirt-b", "jeans", "bottoms"), Item("shoe-b", "boots", "shoes"),
                Item("bag-b", "clutch", "bags"), Item("hat-b", "beanie", "hats"))


def _world(seed=0):
    dim = _net().layout.dim
    model = _model(Linear(dim))
    items = (*ITEMS, *CLOSET_EXTRA)
    feats = torch.rand(len(items), dim, generator=torch.Generator().manual_seed(seed))
    return model, Closet.of(items, name="test"), _table(feats, items), _reference(dim)


@pytest.mark.parametrize("seed", range(4))
def test_the_harmful_item_is_replaced_by_the_best_of_its_slot(seed):
    model, closet, table, ref = _world(seed)
    att = attribute(ITEMS, model, "gxa", features=table, reference=ref)
    s = suggest(ITEMS, closet, model, features=table, attribution=att, k=10)
    worst = ITEMS[int(np.argmin(att.item_totals))]
    assert s.item == worst
    w = model.grader.w.detach()
    value = {it.id: float(table.feats[table.index[it.id]] @ w) for it in closet.items}
    rest = tuple(it for it in ITEMS if it != worst)
    same_slot = [c for c in CLOSET_EXTRA if c.slot == worst.slot and Outfit((*rest, c)).wearable]
    # a linear grader: swapping changes the logit by the difference of the two items' values
    expected = sorted([value[c.id] - value[worst.id] for c in same_slot], reverse=True)
    gains = [r.gain for r in s.replacements if r.item is not None]
    assert np.allclose(gains, expected, atol=1e-4)
    assert all(r.item is None or r.item.slot == worst.slot for r in s.replacements)
    assert [r.logit for r in s.replacements] == sorted((r.logit for r in s.replacements),
                                                       reverse=True)
    assert s.logit == pytest.approx(att.logit, abs=1e-4)
    if worst.slot == "accessory":  # taking an accessory off is a choice too
        off = [r for r in s.replacements if r.item is None]
        assert off and off[0].gain == pytest.approx(-value[worst.id], abs=1e-4)


def test_excluded_items_are_not_offered_and_bad_k_is_refused():
    model, closet, table, ref = _world(1)
    att = attribute(ITEMS, model, "gxa", features=table, reference=ref)
    worst = ITEMS[att.most_harmful_item()]
    same_slot = [c.id for c in CLOSET_EXTRA if c.slot == worst.slot]
    s = suggest(ITEMS, closet, model, features=table, attribution=att, excluded=same_slot)
    assert not {r.item.id for r in s.replacements if r.item is not None} & set(same_slot)
    with pytest.raises(OutfitError, match="k must be"):
        suggest(ITEMS, closet, model, features=table, attribution=att, k=0)
    other = attribute(ITEMS[:3], model, "gxa", features=table, reference=ref)
    with pytest.raises(OutfitError, match="another outfit"):
        suggest(ITEMS, closet, model, features=table, attribution=other)
    assert s.sentence().startswith(("Swap", "Take off", "Nothing"))
    assert s.to_dict()["item"] == worst.id


def test_scores_in_sentences_keep_a_decimal_near_certainty():
    from explain.suggest import percent

    assert percent(0.47) == "47 %"
    assert percent(0.9991) == "99.9 %" and percent(0.996) == "99.6 %"
    assert percent(0.004) == "0.4 %"
    assert percent(1.0) == "100 %" and percent(0.0) == "0 %"


def test_a_small_gain_is_shown_with_a_decimal_more():
    from explain.suggest import Replacement, Suggestion, percent
    from outfit.domain import Item

    assert percent(0.47, 1) == "47.0 %" and percent(0.9991, 1) == "99.91 %"
    worn = Item(id="a", category="t-shirt", semantic_category="tops", slot="upper")
    other = Item(id="b", category="shirt", semantic_category="tops", slot="upper")
    small = Suggestion(worn, 0.5912, 0.37, (Replacement(other, 0.5941, 0.38, 0.01),), "gxa")
    assert small.sentence().endswith("the score goes from 59.1 % to 59.4 %.")
    big = Suggestion(worn, 0.40, -0.4, (Replacement(other, 0.70, 0.85, 1.25),), "gxa")
    assert big.sentence().endswith("the score goes from 40 % to 70 %.")
