"""Evaluation: metrics against hand-computed examples, baselines, plots and `outfit evaluate`."""

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from matplotlib.figure import Figure
from PIL import Image

from data.dataset import CompatibilityQuestion, Dataset, FITBQuestion
from data.loaders import load_dataset
from data.synth import generate_world
from grader import TrainConfig, load_model, train
from grader.baselines import (
    RandomScorer,
    create_baseline,
    list_baselines,
    register_baseline,
)
from grader.evaluate import (
    ModelScorer,
    comparison_table,
    evaluate,
    evaluate_many,
    file_safe,
)
from grader.metrics import calibrated_probability
from grader.plots import reliability_plot, roc_plot, save_plots, score_histograms
from outfit.domain import Item
from outfit.errors import OutfitError
from outfit.vocab import SEMANTIC_CATEGORIES
from outfit_cli import cli

# ------------------------------------------------------------------ a hand-built tiny dataset

_ITEMS = [Item(id=i, category=c, semantic_category=s) for i, c, s in [
    ("t1", "tee", "tops"), ("t2", "shirt", "tops"), ("t3", "sweater", "tops"),
    ("b1", "jeans", "bottoms"), ("b2", "skirt", "bottoms"),
    ("s1", "sneakers", "shoes"), ("s2", "boots", "shoes"), ("h1", "cap", "hats"),
]]


class FixedScorer:
    """A known logit per outfit (order of the ids does not matter)."""

    def __init__(self, logits: dict, temperature: float = 1.0) -> None:
        self.table = {frozenset(k): v for k, v in logits.items()}
        self.temperature = temperature
        self.prepared: list[str] = []
        self.calls = 0

    def prepare(self, items):
        self.prepared = [it.id for it in items]

    def logits(self, outfits):
        self.calls += 1
        return np.array([self.table[frozenset(o)] for o in outfits])


def _hand_dataset() -> Dataset:
    compat = [
        CompatibilityQuestion(1, ("t1", "b1", "s1")),  # logit  2.0
        CompatibilityQuestion(1, ("t2", "b2")),  # logit  0.5
        CompatibilityQuestion(1, ("t3", "b1", "h1")),  # logit -0.3
        CompatibilityQuestion(0, ("t1", "b2", "s2")),  # logit  0.2
        CompatibilityQuestion(0, ("t2", "b1", "h1")),  # logit -1.0
    ]
    fitb = [
        # blank: the shoes; right answer s1 scores highest -> right
        FITBQuestion(("t1", "b1"), ("s2", "s1", "h1"), 1),
        # blank: the top; right answer t2 ties with t3 -> wrong (a tie is not a right answer)
        FITBQuestion(("b2", "s1"), ("t1", "t2", "t3"), 1),
        # blank: the bottom; right answer b2 scores lowest -> wrong
        FITBQuestion(("t3", "s2"), ("b1", "b2", "h1"), 1),
        # two choices only: left out and counted as skipped
        FITBQuestion(("t1",), ("b1", "b2"), 0),
    ]
    return Dataset("hand", "test", {it.id: it for it in _ITEMS}, (), compat, fitb)


_HAND_LOGITS = {
    ("t1", "b1", "s1"): 2.0, ("t2", "b2"): 0.5, ("t3", "b1", "h1"): -0.3,
    ("t1", "b2", "s2"): 0.2, ("t2", "b1", "h1"): -1.0,
    ("t1", "b1", "s2"): 0.1, ("t1", "b1", "h1"): 0.3,  # FITB 1 (s1 is the first row: 2.0)
    ("b2", "s1", "t1"): 0.1, ("b2", "s1", "t2"): 0.7, ("b2", "s1", "t3"): 0.7,  # FITB 2
    ("t3", "s2", "b1"): 0.4, ("t3", "s2", "b2"): -2.0, ("t3", "s2", "h1"): 0.0,  # FITB 3
    ("t1", "b2"): 0.0,
}


def test_metrics_match_a_hand_computed_example():
    scorer = FixedScorer(_HAND_LOGITS, temperature=2.0)
    r = evaluate(_hand_dataset(), scorer, name="fixed")
    # positives 2.0, 0.5, -0.3 against negatives 0.2, -1.0: 5 of 6 pairs ordered right
    assert r.auc == pytest.approx(5 / 6)
    # FITB: question 1 right; 2 a tie at the top; 3 wrong
    assert r.fitb == pytest.approx(1 / 3)
    # p >= 0.5 <=> logit >= 0: 2.0, 0.5 right, -0.3 wrong; 0.2 wrong, -1.0 right
    assert r.accuracy == pytest.approx(3 / 5)
    assert np.allclose(r.probs, calibrated_probability(np.array([2.0, 0.5, -0.3, 0.2, -1.0]), 2.0))
    assert (r.n_compat, r.n_fitb, r.n_fitb_skipped) == (5, 3, 1)
    assert scorer.calls == 1  # every outfit scored in one call
    assert sorted(scorer.prepared) == sorted(it.id for it in _ITEMS)


def test_per_category_table_counts_and_metrics_by_hand():
    t = evaluate(_hand_dataset(), FixedScorer(_HAND_LOGITS), name="fixed").per_category
    assert list(t.columns) == ["n_compat", "auc", "n_fitb", "fitb"]
    assert list(t.index) == ["tops", "bottoms", "shoes", "hats"]  # vocabulary order, present only
    assert t.loc["tops", "n_compat"] == 5 and t.loc["shoes", "n_compat"] == 2
    assert t.loc["hats", "n_compat"] == 2
    # hats: positive -0.3 against negative -1.0 -> 1.0; shoes: 2.0 against 0.2 -> 1.0
    assert t.loc["hats", "auc"] == 1.0 and t.loc["shoes", "auc"] == 1.0
    # FITB by the right answer's category: shoes (right), tops (tie), bottoms (wrong)
    assert t["n_fitb"].to_dict() == {"tops": 1, "bottoms": 1, "shoes": 1, "hats": 0}
    assert t["n_fitb"].sum() == 3
    assert t.loc["shoes", "fitb"] == 1.0 and t.loc["tops", "fitb"] == 0.0
    assert math.isnan(t.loc["hats", "fitb"])


def test_summary_is_plain_json_with_nan_as_null():
    r = evaluate(_hand_dataset(), FixedScorer(_HAND_LOGITS), name="fixed")
    doc = json.loads(json.dumps(r.summary(), allow_nan=False))
    assert doc["per_category"]["hats"]["fitb"] is None
    assert doc["per_category"]["tops"]["n_compat"] == 5
    assert isinstance(doc["n_fitb"], int)


def test_a_split_without_questions_gives_nan_not_an_error():
    ds = Dataset("empty", "test", {it.id: it for it in _ITEMS}, ())
    r = evaluate(ds, FixedScorer({}), name="fixed")
    assert (r.n_compat, r.n_fitb) == (0, 0) and r.per_category.empty
    assert all(math.isnan(v) for v in (r.auc, r.fitb, r.accuracy, r.ece))
    assert r.summary()["auc"] is None


def test_comparison_table_puts_models_side_by_side():
    ds = _hand_dataset()
    results = evaluate_many(ds, {"fixed": FixedScorer(_HAND_LOGITS), "random": RandomScorer(3)})
    table = comparison_table(results)
    assert list(table.index) == ["fixed", "random"]
    assert list(table.columns) == ["auc", "fitb", "accuracy", "ece", "n_compat", "n_fitb"]
    assert table.loc["fixed", "auc"] == pytest.approx(5 / 6)
    assert table["n_fitb"].tolist() == [3, 3]


# ------------------------------------------------------------------ baselines and registry

def test_random_baseline_is_seeded_and_order_free():
    outfits = [["a", "b", "c"], ["c", "b", "a"], ["a", "d"]]
    z = RandomScorer(7).logits(outfits)
    assert z[0] == z[1] and z[0] != z[2]
    assert np.array_equal(z, RandomScorer(7).logits(outfits))
    assert not np.array_equal(z, RandomScorer(8).logits(outfits))
    p = calibrated_probability(RandomScorer(1).logits([[str(k)] for k in range(4000)]), 1.0)
    assert 0.45 < p.mean() < 0.55 and p.min() > 0 and p.max() < 1


def test_registry_lists_and_refuses_unknown_or_duplicate_names():
    assert {"random", "color-category"} <= set(list_baselines())
    with pytest.raises(OutfitError, match="color-category.*random"):
        create_baseline("nope")
    with pytest.raises(OutfitError, match="twice"):
        register_baseline("random")(lambda *a, **k: RandomScorer())
    with pytest.raises(OutfitError, match="train split"):
        create_baseline("color-category", None)


def test_file_safe_names():
    assert file_safe("color-category") == "color-category"
    assert file_safe("my model/v2") == "my_model_v2"
    assert file_safe("...") == "model"


# ------------------------------------------------------------------ a small world and a model

@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny tensors: one thread is as fast, and on a busy two-core machine many times faster
    than two threads fighting another job for the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def world_and_model(tmp_path_factory):
    """A 600-outfit world and a model trained on it (about 15 s on two cores)."""
    root = tmp_path_factory.mktemp("eval")
    world = root / "world"
    generate_world(world, n_outfits=600, seed=5, image_size=32, workers=1)
    train(TrainConfig(dataset=str(world), out=str(root / "learned"), image_size=32,
                      feature_epochs=12, epochs=20, progress=False, seed=0))
    return world, root / "learned"


@pytest.fixture(scope="module")
def test_split(world_and_model):
    return load_dataset(world_and_model[0], split="test")


@pytest.mark.slow
def test_a_learned_model_beats_random_by_a_clear_margin(world_and_model, test_split):
    world, model_dir = world_and_model
    learned, rand = evaluate_many(test_split, {
        "model": ModelScorer(load_model(model_dir)),
        "random": create_baseline("random", seed=0),
    })
    assert 0.35 <= rand.auc <= 0.65
    assert learned.auc >= rand.auc + 0.1, (learned.auc, rand.auc)
    assert learned.fitb >= rand.fitb + 0.1, (learned.fitb, rand.fitb)
    for r in (learned, rand):
        assert r.n_compat == len(test_split.compatibility) and r.n_fitb > 0
        assert all(0.0 <= v <= 1.0 for v in (r.auc, r.fitb, r.accuracy, r.ece))
        t = r.per_category
        assert set(t.index) <= set(SEMANTIC_CATEGORIES)
        assert t["n_fitb"].sum() == r.n_fitb
        for cat in t.index:  # questions holding an item of the category, counted directly
            holding = sum(any(test_split.item(i).semantic_category == cat for i in q.item_ids)
                          for q in test_split.compatibility)
            assert t.loc[cat, "n_compat"] == holding


@pytest.mark.slow
def test_color_category_baseline_learns_something_and_is_deterministic(world_and_model,
                                                                       test_split):
    world = world_and_model[0]
    train_ds = load_dataset(world, split="train")
    valid_ds = load_dataset(world, split="valid")
    a = create_baseline("color-category", train_ds, seed=3, valid=valid_ds)
    b = create_baseline("color-category", train_ds, seed=3, valid=valid_ds)
    ra, rb = evaluate(test_split, a, name="a"), evaluate(test_split, b, name="b")
    assert np.array_equal(ra.logits, rb.logits) and a.temperature == b.temperature
    rand = evaluate(test_split, create_baseline("random"), name="random")
    assert ra.auc > rand.auc + 0.03, (ra.auc, rand.auc)


# ------------------------------------------------------------------ the command line

def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.slow
def test_cli_compares_models_and_writes_json_csv_and_plots(world_and_model, tmp_path):
    world, model_dir = world_and_model
    out = tmp_path / "report"
    got = _run("evaluate", world, "--model", model_dir, "--model", "random", "--json",
               out / "metrics.json", "--plots", out)
    assert got.exit_code == 0, got.output
    lines = got.output.splitlines()
    header = next(k for k, line in enumerate(lines) if line.split()[:2] == ["auc", "fitb"])
    table = lines[header + 2: header + 5]  # the comparison: one row per model
    assert [line.split()[0] for line in table] == ["learned", "random", "color-category"]
    assert all(len(line.split()) == 7 for line in table)
    assert "learned: per category" in got.output and "tops" in got.output

    doc = json.loads((out / "metrics.json").read_text())
    assert doc["split"] == "test" and doc["dataset"] == str(world)
    assert set(doc["models"]) == {"learned", "random", "color-category"}
    for m in doc["models"].values():
        for key in ("auc", "fitb", "accuracy", "ece"):
            assert 0.0 <= m[key] <= 1.0
        assert sum(c["n_fitb"] for c in m["per_category"].values()) == m["n_fitb"]
    assert doc["models"]["learned"]["auc"] > doc["models"]["random"]["auc"]

    names = {p.name for p in out.iterdir()}
    assert {"comparison.csv", "per_category_learned.csv", "per_category_random.csv",
            "roc.png", "reliability.png", "scores_learned.png", "scores_color-category.png"} <= names
    for png in out.glob("*.png"):
        with Image.open(png) as im:
            im.verify()
        with Image.open(png) as im:
            assert 500 <= im.width <= 1200 and 400 <= im.height <= 1200, (png.name, im.size)


def test_cli_unknown_model_is_a_short_error_listing_the_baselines(tmp_path):
    world = tmp_path  # models are resolved before the dataset is read
    got = _run("evaluate", world, "--model", "no-such-model")
    assert got.exit_code != 0
    assert "Traceback" not in got.output
    assert len(got.output.strip().splitlines()) <= 2
    assert "no-such-model" in got.output
    assert "random" in got.output and "color-category" in got.output

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.pt").write_bytes(b"not a checkpoint")
    got = _run("evaluate", world, "--model", broken, "--no-baselines")
    assert got.exit_code != 0 and "Traceback" not in got.output
    assert "model.pt" in got.output


# ------------------------------------------------------------------ plots

def test_plots_have_a_line_per_model_and_legends_with_the_metrics(tmp_path):
    ds = _hand_dataset()
    results = evaluate_many(ds, {"fixed": FixedScorer(_HAND_LOGITS), "random": RandomScorer()})
    roc = roc_plot(results)
    assert isinstance(roc, Figure)
    assert len(roc.axes[0].lines) == 3  # chance + two models
    labels = [t.get_text() for t in roc.legends[0].get_texts()]
    assert any("fixed" in s and "0.833" in s for s in labels)
    rel = reliability_plot(results)
    assert any("ECE" in t.get_text() for t in rel.legends[0].get_texts())
    assert score_histograms(results[0]).axes[0].get_xlabel()
    paths = save_plots(results, tmp_path / "p")
    assert sorted(p.name for p in paths) == ["reliability.png", "roc.png", "scores_fixed.png",
                                             "scores_random.png"]
