"""``shapley-pairs``: items and pairs of items, on graders whose pair interactions are known.

The graders here are set functions: the logit of a (partial) outfit is a table over which
items are worn, each item known by a one-hot identity in its features (so the answer follows
the item whatever its position). A table of item terms plus planted pair terms has exactly
those pair terms as its pairwise Shapley interaction indices, and the item terms as its 2-SII
main effects."""

import itertools

import numpy as np
import pytest
import torch
from explain_kit import ITEMS, _model, _net, _reference, _table

from explain import attribute, get_method, reasons
from explain.attribution import OutfitInput
from explain.clash import PAIR_CLASH, pair_clash
from explain.methods.pairs import main_effects, pair_weights
from grader.model import OutfitGrader
from outfit.domain import Item
from outfit.errors import OutfitError

LAYOUT = _net().layout


class TableGrader(OutfitGrader):
    """logit = ``table[code]``, ``code`` the bits of the worn items' identities (feature ``k``
    is 1 for the item of identity ``k``); records the batch sizes it was called with."""

    arch = "table-test"

    def __init__(self, table) -> None:
        super().__init__(LAYOUT.dim)
        self.register_buffer("table", torch.as_tensor(np.asarray(table, dtype=np.float64)))
        self.k = int(np.log2(len(table)))
        self.calls: list[int] = []

    def forward(self, feats, slots, mask):
        self.calls.append(len(feats))
        worn = (feats[..., :self.k] * mask[..., None].to(feats.dtype)).amax(1) > 0.5
        return self.table[(worn.long() << torch.arange(self.k)).sum(1)]


def additive_table(k, items=(), pairs=None, triples=None):
    """The set function over ``k`` identities: ``items[i]`` for each worn item, ``pairs[(i, j)]``
    when both are worn, ``triples[(i, j, l)]`` when all three are."""
    table = np.zeros(2**k)
    for code in range(2**k):
        worn = {i for i in range(k) if code >> i & 1}
        table[code] = sum(items[i] for i in worn if i < len(items))
        for group, value in {**(pairs or {}), **(triples or {})}.items():
            table[code] += value if set(group) <= worn else 0.0
    return table


def identity_feats(k, order=None):
    """Features ``(k, D)``: item ``i`` has identity ``order[i]`` (a one-hot), the rest noise."""
    order = list(range(k)) if order is None else list(order)
    x = 0.1 * torch.rand(k, LAYOUT.dim, generator=torch.Generator().manual_seed(7))
    x[:, :8] = 0.0
    x[torch.arange(k), torch.tensor(order)] = 1.0
    return x


def direct_input(table, order=None):
    """An :class:`OutfitInput` of ``log2(len(table))`` items over ``TableGrader(table)``."""
    k = int(np.log2(len(table)))
    order = list(range(k)) if order is None else list(order)
    items = tuple(Item(f"i{j}", "thing", "tops") for j in order)
    return OutfitInput(items, identity_feats(k, order), torch.zeros(k, dtype=torch.long),
                       torch.zeros(k, LAYOUT.dim), torch.ones(LAYOUT.dim), LAYOUT,
                       TableGrader(table).eval())


def via_attribute(table, order=None, **options):
    """``attribute`` of the kit's five items (shirt, skirt, loafers, tote, fedora) on the
    table grader; ``order`` lists them (item ``k`` of ITEMS has identity ``k``)."""
    order = list(range(5)) if order is None else list(order)
    model = _model(TableGrader(table))
    table_ = _table(identity_feats(5))
    return attribute([ITEMS[k] for k in order], model, "shapley-pairs", features=table_,
                     reference=_reference(LAYOUT.dim), **options)


def test_a_planted_clash_is_recovered_exactly_and_nothing_else():
    terms = [0.3, -0.2, 0.5, 0.1, -0.4]
    att = via_attribute(additive_table(5, terms, {(0, 1): -1.2}))
    expected = np.zeros((5, 5))
    expected[0, 1] = expected[1, 0] = -1.2
    assert np.abs(att.pairs - expected).max() < 1e-9
    assert np.abs(main_effects(att.item_totals, att.pairs) - terms).max() < 1e-9
    # each of the two carries half the clash in its Shapley value
    assert np.abs(att.item_totals - (np.array(terms) + [-0.6, -0.6, 0, 0, 0])).max() < 1e-9
    assert att.clash is not None and set(att.clash.items) == {0, 1} and att.clash.group is None
    assert att.clash.pair == pytest.approx(-1.2, abs=1e-9)
    assert att.clash.first == 1  # the more harmful of the two: -0.8 against -0.3
    doc = att.to_dict()
    assert doc["pairs"][0][1] == doc["pairs"][1][0] == pytest.approx(-1.2)
    assert doc["clash"]["pair"] == pytest.approx(-1.2)


def test_one_harmful_item_alone_has_no_pair_and_keeps_its_term():
    att = via_attribute(additive_table(5, [0.3, 0.2, -2.0, 0.1, 0.4]))
    assert np.abs(att.pairs).max() < 1e-9
    assert att.item_totals[2] == pytest.approx(-2.0, abs=1e-9)
    assert att.clash is None


@pytest.mark.parametrize("seed", range(3))
def test_no_interaction_gives_zero_pairs_and_exact_efficiency(seed):
    terms = np.random.default_rng(seed).normal(size=5)
    att = via_attribute(additive_table(5, terms))
    assert np.abs(att.pairs).max() < 1e-9
    assert np.abs(att.item_totals - terms).max() < 1e-9
    assert abs(att.completeness_error) < 1e-12
    assert att.clash is None


def test_a_three_item_term_is_shared_as_the_index_says():
    """A term for three items together (a unanimity game) gives each of its pairs half of it
    and each main effect -1/6 of it (SII of u_T: 1 / (|T| - |S| + 1)); the Shapley-Taylor
    index would give the pairs a third each, so this pins the index down."""
    att = via_attribute(additive_table(5, triples={(0, 2, 3): 1.8}))
    for i, j in itertools.combinations(range(5), 2):
        expected = 0.9 if {i, j} <= {0, 2, 3} else 0.0
        assert att.pairs[i, j] == pytest.approx(expected, abs=1e-9), (i, j)
    main = main_effects(att.item_totals, att.pairs)
    assert np.abs(main - [-0.3, 0, -0.3, -0.3, 0]).max() < 1e-9
    assert np.abs(att.item_totals - [0.6, 0, 0.6, 0.6, 0]).max() < 1e-9


@pytest.mark.parametrize("n", range(1, 9))
def test_efficiency_is_exact_for_items_and_for_main_effects_plus_pairs(n):
    table = np.random.default_rng(n).normal(size=2**n)
    inp = direct_input(table)
    res = get_method("shapley-pairs")(inp)
    phi, pairs = res.items.numpy(), res.pairs.numpy()
    explained = table[-1] - table[0]
    assert abs(phi.sum() - explained) < 1e-12
    assert abs(main_effects(phi, pairs).sum() + np.triu(pairs, 1).sum() - explained) < 1e-12
    assert abs(res.completeness_error) < 1e-12 and res.reference_logit == table[0]
    assert np.array_equal(pairs, pairs.T) and not np.diag(pairs).any()
    assert inp.grader.calls == [2**n]  # every sub-outfit in one batch


def test_item_order_and_chunk_size_change_nothing():
    table = np.random.default_rng(11).normal(size=2**5)
    a = via_attribute(table)
    order = [3, 1, 4, 0, 2]
    b = via_attribute(table, order)
    assert np.abs(a.pairs[np.ix_(order, order)] - b.pairs).max() < 1e-12
    assert np.abs(a.item_totals[order] - b.item_totals).max() < 1e-12
    for chunk in (1, 7):
        c = via_attribute(table, chunk=chunk)
        assert np.abs(a.pairs - c.pairs).max() < 1e-12
        assert np.abs(a.item_totals - c.item_totals).max() < 1e-12


def test_more_than_eight_items_are_refused():
    with pytest.raises(OutfitError, match="at most 8"):
        get_method("shapley-pairs")(direct_input(np.zeros(2**9)))


def test_methods_without_pairs_say_so():
    att = attribute(ITEMS, _model(TableGrader(np.zeros(2**5))), "occlusion",
                    features=_table(identity_feats(5)), reference=_reference(LAYOUT.dim))
    assert att.pairs is None and att.to_dict()["pairs"] is None


def test_pair_clash_needs_a_pair_below_the_threshold_and_both_items_harmful():
    inp = direct_input(np.zeros(2**3))
    pairs = np.zeros((3, 3))
    pairs[0, 2] = pairs[2, 0] = -2 * PAIR_CLASH
    assert pair_clash(inp, pairs, np.array([-1.0, 0.5, -0.5])).items == (0, 2)
    assert pair_clash(inp, pairs, np.array([-1.0, 0.5, 0.5])) is None  # one helps
    assert pair_clash(inp, pairs / 4, np.array([-1.0, 0.5, -0.5])) is None  # too weak
    assert pair_clash(inp, -pairs, np.array([-1.0, 0.5, -0.5])) is None  # they go together


@pytest.mark.parametrize("n", range(3, 7))
def test_shapiq_agrees_on_random_set_functions(n):
    shapiq = pytest.importorskip("shapiq", reason="shapiq (the test extras) is the oracle for "
                                                  "exact SV, SII and k-SII")
    table = np.random.default_rng(100 + n).normal(size=2**n)
    order = np.random.default_rng(n).permutation(n)  # item i has identity order[i]
    res = get_method("shapley-pairs")(direct_input(table, order))
    phi, pairs = res.items.numpy(), res.pairs.numpy()
    main = main_effects(phi, pairs)

    def game(coalitions):  # player p: the item of identity p
        return table[(np.asarray(coalitions, dtype=np.int64) << np.arange(n)).sum(1)]

    exact = shapiq.ExactComputer(game, n_players=n)
    sv, sii, ksii = exact("SV", order=1), exact("SII", order=2), exact("k-SII", order=2)
    for i in range(n):
        assert phi[i] == pytest.approx(sv[(order[i],)], abs=1e-9)
        assert main[i] == pytest.approx(ksii[(order[i],)], abs=1e-9)
    for i, j in itertools.combinations(range(n), 2):
        key = tuple(sorted((order[i], order[j])))
        assert pairs[i, j] == pytest.approx(sii[key], abs=1e-9)
        assert pairs[i, j] == pytest.approx(ksii[key], abs=1e-9)


def test_weight_arrays_are_cached_and_read_only():
    item, pair = pair_weights(4)
    assert pair_weights(4)[0] is item and item.shape == (4, 16) and pair.shape == (4, 4, 16)
    with pytest.raises(ValueError):
        item[0, 0] = 1.0


def test_the_pair_reading_and_the_rule_of_thumb_name_the_kits_planted_clash():
    """The kit's clash grader (two striped items punished together): shapley-pairs names the
    same two items as the rule of thumb does on shapley-items, through a negative pair, and
    the reasons name both; the other pairs hardly interact."""
    from explain_kit import Clash

    grader = Clash(LAYOUT)
    g = torch.Generator().manual_seed(0)
    feats = 0.3 * torch.rand(len(ITEMS), LAYOUT.dim, generator=g)
    feats[:, grader.p] = 0.0
    feats[0, grader.p], feats[1, grader.p] = 3.0, 2.5
    model, table, ref = _model(grader), _table(feats), _reference(LAYOUT.dim)
    pairs = attribute(ITEMS, model, "shapley-pairs", features=table, reference=ref)
    rule = attribute(ITEMS, model, "shapley-items", features=table, reference=ref)
    assert set(pairs.clash.items) == set(rule.clash.items) == {0, 1}
    assert pairs.clash.first == pairs.most_harmful_item() == rule.clash.first
    assert pairs.clash.pair == pytest.approx(-4.0 * 3.0 * 2.5, rel=1e-5)  # the planted term
    others = pairs.pairs.copy()
    others[0, 1] = others[1, 0] = 0.0
    assert np.abs(others).max() < 1e-4
    assert np.allclose(pairs.item_totals, rule.item_totals, atol=1e-4)
    first = reasons(pairs)[0]
    assert "striped shirt" in first and "skirt" in first and "clash" in first, first
    assert "(-30.0 points as a pair)" in first, first
    assert "as a pair" not in reasons(rule)[0]
