"""The real-photo world: the synthetic rules applied to labelled photos, in the Polyvore layout."""

import csv
import json
import random
from pathlib import Path

import pytest
from PIL import Image

from data import load_dataset
from data.realworld import make_real_world, random_outfits, read_labelled_photos
from data.synth.rules import truth
from outfit.domain import Outfit
from outfit.errors import DataError, MissingFileError

# folder -> (colour, pattern) cycles: hues that clash (red/pink/orange), neutrals, blue trousers
_LOOKS = {
    "t-shirt": [("red", "solid"), ("white", "print"), ("black", "solid"), ("pink", "stripes")],
    "shirt": [("white", "checks"), ("navy", "solid"), ("green", "solid")],
    "pants": [("blue", "solid"), ("black", "solid"), ("beige", "checks"), ("orange", "solid")],
    "skirt": [("pink", "floral"), ("black", "solid")],
    "dress": [("red", "dots"), ("navy", "solid"), ("white", "solid")],
    "outwear": [("brown", "solid"), ("grey", "solid"), ("purple", "solid")],
    "shoes": [("black", "solid"), ("white", "solid"), ("brown", "solid"), ("yellow", "solid")],
    "hat": [("black", "solid"), ("red", "stripes")],
}


def _photos(root: Path) -> Path:
    """A small clothing-small-like folder (train/ and test/) and its labels CSV."""
    rows, n = [], 0
    for top, per in (("train", 14), ("test", 6)):
        for folder, looks in _LOOKS.items():
            for k in range(per):
                color, pattern = looks[k % len(looks)]
                rel = f"{top}/{folder}/{folder}-{k}.jpg"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (30, 40), (n % 256, 90, 160)).save(root / rel)
                rows.append({"file": rel, "main_color": color, "secondary_color": "none",
                             "pattern": pattern, "certain": "yes", "note": ""})
                n += 1
    labels = root / "labels.csv"
    with labels.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return labels


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    labels = _photos(root)
    out = tmp_path_factory.mktemp("real") / "world"
    summary = make_real_world(out, root, labels, outfits=(60, 15, 30), seed=3)
    return out, root, labels, summary


def test_items_come_from_the_labels_and_no_photo_is_in_two_splits(world):
    out, root, labels, summary = world
    splits = read_labelled_photos(root, labels)
    ids = [set(it.id for it in part) for part in splits.values()]
    assert sum(map(len, ids)) == len(set().union(*ids)) == 8 * 20
    assert all(it.attributes["source"].startswith("test/") for it in splits["test"])
    assert not any(it.attributes["source"].startswith("test/")
                   for it in splits["train"] + splits["valid"])
    pants = [it for part in splits.values() for it in part if it.category == "pants"]
    # blue trousers are denim (a neutral); other colours stay as labelled
    assert {it.attributes["color"] for it in pants} == {"denim", "black", "beige", "orange"}
    assert summary["items"] == {s: len(p) for s, p in splits.items()}


def test_every_outfit_keeps_the_rules_and_every_negative_breaks_one_through_its_swap(world):
    out, *_ = world
    for split in ("train", "valid", "test"):
        ds = load_dataset(out, split=split)
        assert ds.outfits or split == "valid", split
        for o in ds.outfits:
            assert o.complete and truth(o).ok
        gt = {r["line"]: r for r in json.loads((out / "ground_truth.json").read_text())
              ["compatibility"][split]}
        negatives = [q for q in ds.compatibility if q.label == 0]
        assert len(negatives) == len(gt) and (negatives or split == "valid")
        for line, q in enumerate(ds.compatibility, start=1):
            items = [ds.items[i] for i in q.item_ids]
            if q.label == 1:
                assert truth(items).ok
                continue
            result = truth(items, suspect=gt[line]["item_id"])
            assert not result.ok and result.blamed == {gt[line]["item_id"]}
            assert gt[line]["rule"] in ("color_harmony", "one_bold_pattern")


def test_fill_in_the_blank_distractors_break_a_rule_and_the_answer_does_not(world):
    out, *_ = world
    ds = load_dataset(out, split="train")
    assert ds.fitb
    for q in ds.fitb:
        outfit = [ds.items[i] for i in q.question_ids]
        for k, a in enumerate(q.answer_ids):
            ok = truth([*outfit, ds.items[a]]).ok
            assert ok == (k == q.answer_index)


def test_random_outfits_are_complete_and_include_bad_ones(world):
    _, root, labels, _ = world
    items = read_labelled_photos(root, labels)["train"]
    outfits = random_outfits(items, 200, random.Random(0))
    assert len(outfits) == 200 and all(Outfit(tuple(o)).complete for o in outfits)
    good = sum(truth(o).ok for o in outfits)
    assert 0 < good < 200


def test_bad_labels_and_a_foreign_folder_are_refused(world, tmp_path):
    _, root, labels, _ = world
    bad = tmp_path / "bad.csv"
    bad.write_text("file,main_color,pattern\ntrain/shoes/shoes-0.jpg,mauve,solid\n")
    with pytest.raises(DataError, match="line 2"):
        read_labelled_photos(root, bad)
    gone = tmp_path / "gone.csv"
    gone.write_text("file,main_color,pattern\ntrain/shoes/nowhere.jpg,black,solid\n")
    with pytest.raises(MissingFileError):
        read_labelled_photos(root, gone)
    assert read_labelled_photos(root / "train" / "shoes", gone, flat=True)["train"] == []
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="not empty"):
        make_real_world(foreign, root, labels)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_the_world_from_the_hand_labelled_photos(shared_data, tmp_path):
    labels = Path(__file__).resolve().parents[2] / "data" / "labels" / \
        "clothing_small_colors_patterns.csv"
    summary = make_real_world(tmp_path / "w", shared_data / "clothing-small", labels)
    assert sum(summary["items"].values()) == len(labels.read_text().splitlines()) - 1
    assert summary["items"]["test"] == 372
    test = load_dataset(tmp_path / "w", split="test")
    negatives = sum(q.label == 0 for q in test.compatibility)
    assert negatives >= 300 and len(test.fitb) >= 300


def test_the_command_line_makes_the_world_and_evaluates_a_model_reading_its_tags(
        world, tmp_path, tiny_model):
    from click.testing import CliRunner

    from outfit_cli import cli

    _, root, labels, _ = world
    out = tmp_path / "cli-world"
    made = CliRunner().invoke(cli, ["real-world", "--out", str(out), "--photos", str(root),
                                    "--labels", str(labels), "--outfits", "40", "10", "20",
                                    "--json"], catch_exceptions=False)
    assert made.exit_code == 0, made.output
    summary = json.loads(made.output.strip().splitlines()[-1])
    assert summary["generator"] == "outfit real-photo world"
    assert summary["outfits"]["train"] == len(load_dataset(out, split="train").outfits)
    report = {}
    for reads in ("pixels", "tags"):
        path = tmp_path / f"{reads}.json"
        got = CliRunner().invoke(cli, ["evaluate", str(out), "--model", str(tiny_model),
                                       "--split", "train", "--no-baselines", "--reads", reads,
                                       "--json", str(path)], catch_exceptions=False)
        assert got.exit_code == 0, got.output
        report[reads] = json.loads(path.read_text())
    name = Path(tiny_model).name
    pixels, tags = (report[r]["models"][name] for r in ("pixels", "tags"))
    # the same questions, read two ways: the scores differ
    assert pixels["n_compat"] == tags["n_compat"] > 0
    assert (pixels["auc"], pixels["fitb"]) != (tags["auc"], tags["fitb"])
