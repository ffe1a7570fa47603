import pytest
import torch

from grader.api import FeatureTable, pad_outfits
from grader.model import SlotsGrader, create_grader, list_graders
from outfit.errors import OutfitError
from outfit.vocab import MAIN_SHAPES, SLOTS

D = 12
ARCHS = ["slots", "set"]


def _table(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    slots = torch.arange(n) % len(SLOTS)
    return FeatureTable(tuple(f"i{k}" for k in range(n)), torch.rand(n, D, generator=g), slots)


def _grader(arch):
    torch.manual_seed(0)
    return create_grader(arch, D).eval()


@torch.no_grad()
def _logits(grader, table, outfits):
    padded = pad_outfits([table.rows(o) for o in outfits])
    return grader(*table.gather(padded))


def test_registry_lists_and_refuses():
    assert set(ARCHS) <= set(list_graders())
    with pytest.raises(OutfitError, match="unknown grader architecture 'mlp'.*slots"):
        create_grader("mlp", D)


@pytest.mark.parametrize("arch", ARCHS)
def test_partial_outfits_of_every_template_score(arch):
    table = _table()
    first = {s: f"i{k}" for k, s in enumerate(SLOTS)}  # one item per slot
    outfits = []
    for shape in MAIN_SHAPES:
        main = [first[s] for s in sorted(shape)]
        for k in range(1, len(main) + 1):
            outfits.append(main[:k])
        outfits.append(main + [first["shoes"]])
        outfits.append(main + [first["shoes"], first["accessory"], "i11", "i17"])
    logits = _logits(_grader(arch), table, outfits)
    assert logits.shape == (len(outfits),) and torch.isfinite(logits).all()
    assert len(set(logits.tolist())) > len(outfits) // 2  # the items matter


@pytest.mark.parametrize("arch", ARCHS)
def test_order_and_padding_do_not_change_the_score(arch):
    table, grader = _table(), _grader(arch)
    outfit = ["i0", "i1", "i2", "i4", "i5", "i11"]
    shuffled = ["i11", "i4", "i0", "i5", "i2", "i1"]
    a, b = _logits(grader, table, [outfit, shuffled])
    assert a == pytest.approx(float(b), abs=1e-5)
    with torch.no_grad():
        wide = grader(*table.gather(pad_outfits([table.rows(outfit)], width=10)))
    assert float(wide[0]) == pytest.approx(float(a), abs=1e-5)


def test_pair_term_is_the_sum_over_item_pairs():
    grader = SlotsGrader(D, pair_rank=5).eval()
    feats = torch.rand(1, 4, D)
    mask = torch.tensor([[True, True, True, False]])
    p = grader.pair(feats[0, :3])
    expected = sum(p[i] * p[j] for i in range(3) for j in range(i + 1, 3))
    got = grader.pair(feats) * mask.unsqueeze(-1)
    got = 0.5 * (got.sum(1) ** 2 - (got**2).sum(1))
    assert torch.allclose(got[0], expected, atol=1e-5)


def test_empty_slot_uses_the_learned_vector():
    grader = SlotsGrader(D).eval()
    with torch.no_grad():
        grader.empty[SLOTS.index("outer")] = 7.0
    table = _table()
    x = grader.slot_inputs(*table.gather(pad_outfits([table.rows(["i1", "i2"])])))
    assert torch.all(x[0, SLOTS.index("outer")] == 7.0)
    assert torch.allclose(x[0, SLOTS.index("upper")], table.feats[1])


@torch.no_grad()
def test_score_is_calibrated_by_temperature():
    grader, table = _grader("slots"), _table()
    padded = pad_outfits([table.rows(["i0", "i1"])])
    logit = grader(*table.gather(padded))
    grader.log_temperature.fill_(torch.log(torch.tensor(2.0)))
    assert grader.score(*table.gather(padded)) == pytest.approx(torch.sigmoid(logit / 2))


def test_pooled_branch_counts_items_whatever_their_slots():
    # The pooled term is a sum over items: moving an accessory's features to another accessory
    # position changes nothing, but adding a second copy of an item changes the score.
    grader = SlotsGrader(D, pair_rank=0, pool_dim=8).eval()
    table = _table()
    one = _logits(grader, table, [["i1", "i2", "i5"]])
    again = _logits(grader, table, [["i5", "i2", "i1"]])
    assert torch.allclose(one, again, atol=1e-6)
    feats, slots, mask = table.gather(pad_outfits([table.rows(["i1", "i2"])]))
    with torch.no_grad():
        pooled = (grader.pool(feats) * mask.unsqueeze(-1)).sum(1)
        expected = grader.pool(table.feats[1]) + grader.pool(table.feats[2])
    assert torch.allclose(pooled[0], expected, atol=1e-5)
    assert SlotsGrader(D, pool_dim=0).pool is None


def test_per_item_terms_give_the_same_logits_as_the_forward_pass():
    torch.manual_seed(1)
    grader = SlotsGrader(D).eval()
    with torch.no_grad():  # a trained grader's empty vectors are not zero
        grader.empty.normal_()
    table = _table()
    outfits = [["i1", "i2", "i4"], ["i3"], ["i0", "i1", "i2", "i4", "i5", "i11", "i17"], []]
    padded = pad_outfits([table.rows(o) for o in outfits], width=8)
    expected = grader(*table.gather(padded))
    terms = grader.item_terms(table.feats, table.slots)
    assert torch.allclose(grader.from_terms(terms, padded), expected, atol=1e-5)
