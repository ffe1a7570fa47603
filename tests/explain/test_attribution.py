"""Attribution methods against exact answers, captum, and their own guarantees."""

import numpy as np
import pytest
import torch
from explain_kit import ITEMS, Clash, _model, _net, _reference, _setup, _table

from explain import Attribution, attribute, list_methods, reasons, reference_from_table
from grader.model import SlotsGrader
from outfit.domain import Item
from outfit.errors import OutfitError


def _group_sum(model, values):
    return model.layout.group_sum(values).double().numpy()


@pytest.mark.parametrize("method", list_methods())
def test_exact_values_on_a_linear_grader(method):
    model, table, ref = _setup()
    w = model.grader.w.detach()
    x = table.feats
    base = ref.baseline(ITEMS)
    att = attribute(ITEMS, model, method, features=table, reference=ref)
    assert isinstance(att, Attribution) and att.item_ids == tuple(it.id for it in ITEMS)
    expected_zero = _group_sum(model, w * x)  # relative to zero features
    expected_base = _group_sum(model, w * (x - base))  # relative to the category means
    if method in ("shapley-items", "shapley-pairs"):  # v(S) = sum of w . x_i over S: each
        assert np.allclose(att.item_totals, expected_zero.sum(1), atol=1e-5)  # its own term
        assert np.isnan(att.values).all() and not att.by_group
        assert att.pairs is None or np.allclose(att.pairs, 0, atol=1e-5)  # no interaction
    elif method in ("gxa", "smoothgrad"):  # constant gradient: noise changes nothing
        assert np.allclose(att.values, expected_zero, atol=1e-5)
    else:
        assert np.allclose(att.values, expected_base, atol=1e-5)
    assert np.allclose(att.item_totals, np.nansum(att.values, 1) if att.by_group
                       else att.item_totals)
    assert att.logit == pytest.approx(float((x @ w).sum()), abs=1e-4)


def test_gxa_and_ig_equal_captum_on_the_same_tensors():
    captum_attr = pytest.importorskip("captum.attr")
    from explain.attribution import outfit_input

    model, table, ref = _slots_setup()
    inp, _ = outfit_input(ITEMS, model, features=table, reference=ref)
    x = inp.feats[None].clone()

    def forward(z):
        return inp.logits(z)

    ixg = captum_attr.InputXGradient(forward).attribute(x.clone().requires_grad_(True))
    mine = attribute(ITEMS, model, "gxa", features=table, reference=ref)
    assert np.allclose(mine.values, _group_sum(model, ixg[0].detach()), atol=1e-5)

    ig = captum_attr.IntegratedGradients(forward).attribute(
        x.clone(), baselines=inp.baseline[None], n_steps=24, method="gausslegendre")
    mine = attribute(ITEMS, model, "ig", features=table, reference=ref, steps=24)
    assert np.allclose(mine.values, _group_sum(model, ig[0].detach()), atol=1e-4)
    # (captum's trapezoid weights sum to (n-1)/n rather than 1, so that rule is not compared)
    for rule in ("riemann_middle", "riemann_left", "riemann_right"):
        ig = captum_attr.IntegratedGradients(forward).attribute(
            x.clone(), baselines=inp.baseline[None], n_steps=20, method=rule)
        mine = attribute(ITEMS, model, "ig", features=table, reference=ref, steps=20, rule=rule)
        assert np.allclose(mine.values, _group_sum(model, ig[0].detach()), atol=1e-4)


def _trained(tiny_model, tiny_world):
    from data.loaders import load_dataset
    from grader import load_model

    model = load_model(tiny_model)
    ds = load_dataset(tiny_world, split="test")
    table = model.item_table(list(ds.items.values()))
    outfits = [[ds.items[i] for i in o.item_ids] for o in ds.outfits[:12]]
    return model, table, outfits


def test_a_trained_model_stores_its_reference_and_ig_is_complete(tiny_model, tiny_world):
    model, table, outfits = _trained(tiny_model, tiny_world)
    assert model.meta["feature_reference"]["items"] > 0
    for items in outfits:
        att = attribute(items, model, "ig", features=table, steps=64)
        assert att.reference_source == "training items"
        explained = att.logit - att.reference_logit
        # within 1 % (plus float32 rounding, for the tiny model's small differences)
        assert abs(att.completeness_error) <= 0.01 * abs(explained) + 1e-4, (
            att.completeness_error, explained)
        assert att.item_totals.sum() == pytest.approx(explained, rel=0.01, abs=1e-4)


@pytest.mark.parametrize("method", ["shapley-items", "shapley-sampled", "shapley-pairs"])
def test_shapley_values_sum_to_the_score_difference(tiny_model, tiny_world, method):
    model, table, outfits = _trained(tiny_model, tiny_world)
    for items in outfits:
        att = attribute(items, model, method, features=table)
        assert abs(att.completeness_error) < 1e-6
        assert att.item_totals.sum() == pytest.approx(att.logit - att.reference_logit, abs=1e-5)


@pytest.mark.parametrize("method", list_methods())
def test_results_do_not_depend_on_item_order_or_batch_size(tiny_model, tiny_world, method):
    model, table, outfits = _trained(tiny_model, tiny_world)
    items = max(outfits, key=len)
    a = attribute(items, model, method, features=table)
    perm = list(reversed(range(len(items))))
    b = attribute([items[k] for k in perm], model, method, features=table)
    assert np.allclose(a.item_totals[perm], b.item_totals, atol=1e-4)
    assert np.allclose(np.nan_to_num(a.values[perm]), np.nan_to_num(b.values), atol=1e-4)
    if method in ("ig", "smoothgrad", "occlusion", "shapley-sampled"):
        c = attribute(items, model, method, features=table, chunk=1)
        assert np.allclose(np.nan_to_num(a.values), np.nan_to_num(c.values), atol=1e-4)


def _hooks(module: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               for m in module.modules())


def test_no_hook_or_parameter_change_survives_calls_or_errors(tiny_model, tiny_world):
    model, table, outfits = _trained(tiny_model, tiny_world)
    before = {k: v.clone() for k, v in model.grader.state_dict().items()}
    hooks = _hooks(model.grader) + _hooks(model.feature_net)
    for k in range(100):
        attribute(outfits[k % len(outfits)], model, list_methods()[k % len(list_methods())],
                  features=table)
    with pytest.raises(OutfitError):
        attribute(outfits[0], model, "ig", features=table, steps=0)
    with pytest.raises(OutfitError, match="unknown attribution method"):
        attribute(outfits[0], model, "lime", features=table)
    assert _hooks(model.grader) + _hooks(model.feature_net) == hooks
    after = model.grader.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.grader.parameters())


def test_every_method_ranks_a_planted_clash_first():
    dim = _net().layout.dim
    model = _model(Clash(_net().layout))
    p = model.grader.p
    rng = np.random.default_rng(0)
    hits = {m: 0 for m in list_methods()}
    cases = 60
    for _ in range(cases):
        feats = torch.from_numpy(rng.uniform(0, 0.3, (len(ITEMS), dim))).float()
        a, b = rng.choice(len(ITEMS), 2, replace=False)
        feats[[a, b], p] = 1.0  # two striped items: the clash
        table = _table(feats)
        ref = reference_from_table(_table(torch.from_numpy(
            rng.uniform(0, 0.3, (len(ITEMS), dim))).float()), ITEMS)
        for method in list_methods():
            att = attribute(ITEMS, model, method, features=table, reference=ref)
            item, group, _ = att.ranked()[0]
            ok = item in (a, b) and (group is None or att.groups[group] == "pattern")
            hits[method] += ok
    assert all(h >= 0.95 * cases for h in hits.values()), hits


def test_reasons_name_the_item_and_property():
    model, table, ref = _setup()
    att = attribute(ITEMS, model, "gxa", features=table, reference=ref)
    i, g, v = att.ranked()[0]
    text = reasons(att)
    assert 1 <= len(text) <= 3
    word = {"color": "colour"}.get(att.groups[g], att.groups[g])
    assert text[0].startswith(f"The {word} of the {ITEMS[i].label.lower()}")
    assert "lowers the score most" in text[0] and f"{v:+.1f}" in text[0]
    assert any("helps it most" in t for t in text)
    items_only = attribute(ITEMS, model, "shapley-items", features=table, reference=ref)
    worst = ITEMS[items_only.most_harmful_item()]
    verb = "lower" if worst.label.endswith("s") else "lowers"  # "the loafers lower..."
    assert reasons(items_only)[0].startswith(f"The {worst.label.lower()} {verb} the score most")


def test_bad_outfits_are_refused_with_a_reason():
    model, table, ref = _setup()
    with pytest.raises(OutfitError, match="empty outfit"):
        attribute([], model, features=table, reference=ref)
    two_tops = (ITEMS[0], Item("top2", "shirt", "tops"), ITEMS[1])
    with pytest.raises(OutfitError, match="cannot be worn together"):
        attribute(two_tops, model, features=_table(torch.rand(3, table.feats.shape[1]), two_tops),
                  reference=ref)


def _slots_setup():

    torch.manual_seed(0)
    dim = _net().layout.dim
    grader = SlotsGrader(dim, hidden=32, pair_rank=4, pool_dim=8).eval()
    with torch.no_grad():
        grader.empty.normal_()
    model = _model(grader)
    table = _table(torch.randn(len(ITEMS), dim, generator=torch.Generator().manual_seed(5)))
    return model, table, _reference(dim)


@pytest.mark.parametrize("name", ["occlusion", "ig"])
def test_noise_averaging_composes_with_other_methods(name):
    from explain.attribution import get_method
    from explain.noise import noise_averaged

    model, table, ref = _slots_setup()
    opts = {"features": table, "reference": ref, **({"steps": 8} if name == "ig" else {})}
    plain = attribute(ITEMS, model, name, **opts)
    smooth = noise_averaged(get_method(name), samples=8, noise=0.3, seed=4)
    quiet = attribute(ITEMS, model, smooth, noise=0.0, **opts)
    assert np.allclose(quiet.values, plain.values, atol=1e-5)  # no noise: the method itself
    noisy = attribute(ITEMS, model, smooth, **opts)
    assert not np.allclose(noisy.values, plain.values, atol=1e-3)
    assert noisy.options["samples"] == 8 and noisy.options["seed"] == 4
    assert np.array_equal(attribute(ITEMS, model, smooth, **opts).values, noisy.values)
    again = attribute(list(reversed(ITEMS)), model, smooth, **opts)
    assert np.allclose(again.values[::-1], noisy.values, atol=1e-5)  # deterministic, order-free
    other = attribute(ITEMS, model, smooth, seed=5, **opts)
    assert not np.allclose(other.values, noisy.values, atol=1e-3)


def test_smoothgrad_is_noise_averaged_gxa():
    from explain.attribution import get_method
    from explain.noise import noise_averaged

    model, table, ref = _slots_setup()
    ours = attribute(ITEMS, model, "smoothgrad", features=table, reference=ref, seed=2)
    wrapped = attribute(ITEMS, model, noise_averaged(get_method("gxa"), seed=2), features=table,
                        reference=ref)
    assert np.array_equal(ours.values, wrapped.values)
    assert ours.method == "smoothgrad" and ours.options == {"samples": 32, "noise": 0.1, "seed": 2}
