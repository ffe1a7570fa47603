import math

import numpy as np
import pytest

from grader.metrics import accuracy_at, auc, fit_temperature, fitb_accuracy, reliability, roc_curve


def test_auc_by_hand():
    # positives 0.9, 0.8; negatives 0.85, 0.1: pairs (0.9>0.85, 0.9>0.1, 0.8<0.85, 0.8>0.1) = 3/4
    assert auc([1, 1, 0, 0], [0.9, 0.8, 0.85, 0.1]) == 0.75
    assert auc([1, 0, 1, 0], [1, 0, 1, 0]) == 1.0
    assert auc([1, 0, 1, 0], [0, 1, 0, 1]) == 0.0
    assert auc([1, 0], [0.5, 0.5]) == 0.5  # a tie counts half
    assert auc([1, 1, 0], [0.3, 0.3, 0.3]) == 0.5
    assert math.isnan(auc([1, 1], [0.2, 0.4]))


def test_auc_matches_pairwise_count_on_random_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = rng.integers(0, 20, 300).astype(float)  # many ties
    pos, neg = s[y == 1], s[y == 0]
    expected = ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (
        len(pos) * len(neg))
    assert auc(y, s) == pytest.approx(expected)


def test_roc_curve_ends_and_area():
    y, s = [1, 1, 0, 0], [0.9, 0.8, 0.85, 0.1]
    fpr, tpr = roc_curve(y, s)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.trapezoid(tpr, fpr) == pytest.approx(auc(y, s))


def test_fitb_accuracy_strict_argmax():
    scores = np.array([[0.9, 0.1, 0.2, 0.3],   # right (answer 0)
                       [0.1, 0.9, 0.2, 0.3],   # wrong (answer 0)
                       [0.5, 0.5, 0.1, 0.1],   # tie with the answer: wrong
                       [0.1, 0.2, 0.3, 0.4]])  # right (answer 3)
    assert fitb_accuracy(scores, [0, 0, 0, 3]) == 0.5


def test_accuracy_and_reliability():
    assert accuracy_at([1, 0, 1, 0], [0.7, 0.2, 0.4, 0.6]) == 0.5
    mean_p, freq, count, ece = reliability([1, 0, 1, 1], [0.95, 0.05, 0.95, 0.95], bins=10)
    assert count[9] == 3 and freq[9] == 1.0 and count[0] == 1 and freq[0] == 0.0
    assert ece == pytest.approx(0.05)


def test_temperature_recovers_the_scale_of_overconfident_logits():
    rng = np.random.default_rng(1)
    true_logits = rng.normal(0, 2, 20000)
    labels = rng.random(20000) < 1 / (1 + np.exp(-true_logits))
    t = fit_temperature(true_logits * 3.0, labels)  # logits three times too confident
    assert t == pytest.approx(3.0, rel=0.1)
    assert fit_temperature([1.0, 2.0], [1, 1]) == 1.0  # one class only: leave as is


def test_platt_calibration_recovers_scale_and_bias():
    from grader.metrics import fit_calibration

    rng = np.random.default_rng(2)
    true_logits = rng.normal(0, 2, 20000)
    labels = rng.random(20000) < 1 / (1 + np.exp(-true_logits))
    t, b = fit_calibration(true_logits * 2.0 - 3.0, labels)  # too confident and shifted down
    # sigmoid((2z - 3) / t + b) = sigmoid(z) needs t = 2 and b = 1.5
    assert t == pytest.approx(2.0, rel=0.1) and b == pytest.approx(1.5, abs=0.15)
    assert fit_calibration([0.5, 1.0], [0, 0]) == (1.0, 0.0)


def test_the_calibrated_probability_is_one_formula_for_arrays_and_tensors():
    import torch

    from grader.metrics import calibrated_probability

    logits = [-3.0, 0.0, 2.0, 1000.0]
    want = [1 / (1 + math.exp(-(z / 2.0 + 0.5))) if z < 500 else 1.0 for z in logits]
    got = calibrated_probability(np.array(logits), 2.0, 0.5)
    assert got.dtype == np.float64 and np.allclose(got, want, atol=1e-12)
    t = torch.tensor(logits[:3], requires_grad=True)
    p = calibrated_probability(t, 2.0, 0.5)
    assert isinstance(p, torch.Tensor) and torch.allclose(p.double(), torch.tensor(want[:3]).double())
    p.sum().backward()  # differentiable, as the explainer needs
    assert t.grad is not None and bool((t.grad > 0).all())
