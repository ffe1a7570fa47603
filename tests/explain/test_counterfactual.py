"""``property_hints``: the colour or pattern that would fix an outfit, graded for real."""

import numpy as np
import pytest
import torch
from explain_kit import Clash, Linear, _model, _net, _reference, _table

from explain import attribute
from explain.counterfactual import (
    MIN_SCORE_GAIN,
    Prototypes,
    hint_sentence,
    property_hints,
    prototypes,
)
from explain.counterfactual_check import counterfactual_fixes
from outfit.domain import Item
from outfit.errors import OutfitError

TAGGED = (Item("top", "shirt", "tops", name="red shirt", attributes={"color": "red",
                                                                        "pattern": "solid"}),
          Item("skirt", "skirt", "bottoms", attributes={"color": "navy", "pattern": "stripes"}),
          Item("shoe", "loafers", "shoes"))
COLORS = ("red", "navy", "black", "green")
PATTERNS = ("solid", "stripes", "checks")


def _protos(layout, seed=5) -> Prototypes:
    g = torch.Generator().manual_seed(seed)
    groups = {}
    for group, values in (("color", COLORS), ("pattern", PATTERNS)):
        size = layout.slice(group).stop - layout.slice(group).start
        groups[group] = {v: torch.rand(size, generator=g) for v in values}
    return Prototypes(groups, "test")


def _setup(grader_cls=Linear, seed=0):
    layout = _net().layout
    model = _model(grader_cls(layout.dim) if grader_cls is Linear else grader_cls(layout))
    feats = torch.rand(len(TAGGED), layout.dim, generator=torch.Generator().manual_seed(seed))
    table = _table(feats, TAGGED)
    att = attribute(TAGGED, model, "gxa", features=table, reference=_reference(layout.dim))
    return model, table, att, _protos(layout)


@pytest.mark.parametrize("seed", range(3))
def test_hints_are_the_graders_scores_of_the_changed_item_best_first(seed):
    model, table, att, protos = _setup(seed=seed)
    hints = property_hints(att, model, features=table, protos=protos, k=50)
    w, layout = model.grader.w.detach(), model.layout
    worst = att.most_harmful_item()
    row = table.feats[table.index[TAGGED[worst].id]]
    for h in hints.hints:
        assert h.index == worst and h.item == TAGGED[worst]
        span = layout.slice(h.group)
        # a linear grader: the logit moves by w . (prototype - the item's own group)
        delta = float(w[span] @ (protos.groups[h.group][h.new] - row[span]))
        assert h.logit - h.before_logit == pytest.approx(delta, abs=1e-4)
        assert h.score - h.before >= MIN_SCORE_GAIN
    assert [h.logit for h in hints.hints] == sorted((h.logit for h in hints.hints), reverse=True)
    assert hints.logit == pytest.approx(att.logit, abs=1e-4)


def test_candidates_exclude_the_items_own_value():
    model, table, att, protos = _setup()
    for index in (0, 1):  # tagged items: never their own colour or pattern
        item = TAGGED[index]
        worst = np.zeros(len(TAGGED))
        worst[index] = -1.0
        forced = type(att)(**{**att.__dict__, "values": np.tile(worst[:, None], (1, 4)),
                              "clash": None})
        hints = property_hints(forced, model, features=table, protos=protos, k=50)
        own = {("color", item.attributes["color"]), ("pattern", item.attributes["pattern"])}
        assert hints.tried == (item,)
        assert not {(h.group, h.new) for h in hints.hints} & own
        assert all(h.old == item.attributes[h.group] and h.old_tagged for h in hints.hints)
    # an untagged item: its own value is the one its features are nearest to
    worst = np.array([0.0, 0.0, -1.0])
    forced = type(att)(**{**att.__dict__, "values": np.tile(worst[:, None], (1, 4)),
                          "clash": None})
    hints = property_hints(forced, model, features=table, protos=protos, k=50)
    row = table.feats[table.index["shoe"]]
    for h in hints.hints:
        assert not h.old_tagged and h.new != h.old
        assert h.old == protos.nearest(h.group, row[model.layout.slice(h.group)])


def test_nothing_to_change_when_no_property_helps():
    model, table, att, protos = _setup()
    with torch.no_grad():
        model.grader.w.zero_()  # every outfit scores the same: no change helps
    hints = property_hints(att, model, features=table, protos=protos)
    assert hints.best is None and hints.reason is None
    assert hints.sentence().startswith("Nothing to change")
    assert hints.to_dict()["hints"] == [] and hints.to_dict()["sentence"] == hints.sentence()


def test_without_prototypes_the_hint_says_why_and_closet_tags_give_them():
    model, table, att, _ = _setup()
    assert model.named_groups is None
    untagged = [Item(it.id, it.category, it.semantic_category) for it in TAGGED]
    bare = attribute(untagged, model, "gxa", features=table, reference=att and
                     _reference(model.layout.dim))
    hints = property_hints(bare, model, features=table)
    assert hints.best is None and "No shopping hint" in hints.sentence()
    protos = prototypes(model, table, TAGGED)  # the closet's tagged items
    assert protos.source == "the closet's tagged items"
    assert set(protos.values("color")) == {"red", "navy"}
    with pytest.raises(OutfitError, match="k must be"):
        property_hints(att, model, features=table, protos=protos, k=0)


def test_a_clash_tries_both_items():
    layout = _net().layout
    grader = Clash(layout)
    model = _model(grader)
    feats = 0.3 * torch.rand(len(TAGGED), layout.dim, generator=torch.Generator().manual_seed(0))
    feats[:, grader.p] = 0.0
    feats[0, grader.p], feats[1, grader.p] = 3.0, 2.5  # both garments "striped": a clash
    ref = _reference(layout.dim)
    for mean in ref.means.values():
        mean[grader.p] = 0.1
    table = _table(feats, TAGGED)
    att = attribute(TAGGED, model, "gxa", features=table, reference=ref)
    assert att.clash is not None and set(att.clash.items) == {0, 1}
    hints = property_hints(att, model, features=table, protos=_protos(layout), k=100)
    assert [it.id for it in hints.tried] == [TAGGED[att.clash.first].id,
                                             TAGGED[att.clash.second].id]
    assert {h.index for h in hints.hints} == {0, 1}  # changing either one helps
    assert hints.best.group == "pattern"


def test_sentences_read_naturally():
    shirt, chinos = TAGGED[0], Item("c", "chinos", "bottoms")
    assert hint_sentence(shirt, "color", "red", "navy", 0.31, 0.82) == (
        "A navy shirt instead of the red one: 31 % -> 82 %.")
    assert hint_sentence(shirt, "color", "red", "orange", 0.5, 0.6).startswith("An orange")
    assert hint_sentence(chinos, "pattern", "checks", "solid", 0.2, 0.9) == (
        "Plain chinos instead of the checked ones: 20 % -> 90 %.")
    top = Item("t", "tops", "tops")
    assert hint_sentence(top, "pattern", None, "stripes", 0.591, 0.594) == (
        "A striped top instead of this one: 59.1 % -> 59.4 %.")


def test_the_tiny_models_hint_raises_the_score_and_fixes_some_bad_outfits(tiny_world,
                                                                           tiny_model):
    from data.loaders import load_dataset
    from explain.evaluation.rules import rule_cases
    from grader import load_model

    model = load_model(tiny_model)
    test = load_dataset(tiny_world, split="test")
    table = model.item_table(list(test.items.values()))
    cases = rule_cases(test)[:12]
    hinted = 0
    for case in cases:
        hints = property_hints(case.items, model, features=table, k=5)
        assert hints.source == "training items"
        for h in hints.hints:
            assert h.score >= h.before + MIN_SCORE_GAIN and h.new != h.old and h.old_tagged
        hinted += hints.best is not None
    assert hinted >= 1
    report = counterfactual_fixes(test, model, max_outfits=12)
    assert report["outfits"] == len(cases) and report["hinted"] == hinted
    assert 0 <= report["fixed"] <= report["hinted"]
    assert report["fixable_rate"] is None or 0.0 <= report["fixable_rate"] <= 1.0
