"""The synthetic fashion world: files, determinism, the hidden rules and their ground truth."""

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from data.synth import RULES, generate_world, truth
from outfit.domain import Item, Outfit
from outfit.errors import DataError
from outfit.vocab import MAIN_SHAPES, MAIN_SLOTS, SEMANTIC_CATEGORIES

SPLITS = ("train", "valid", "test")
N_OUTFITS, SEED, SIZE = 150, 7, 64


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "world"
    generate_world(root, n_outfits=N_OUTFITS, seed=SEED, image_size=SIZE, workers=2)
    return root


@pytest.fixture(scope="module")
def loaded(world):
    return _load(world)


def _load(root: Path) -> dict:
    meta = json.loads((root / "polyvore_item_metadata.json").read_text())
    items = {i: Item(id=i, category=r["kind"], semantic_category=r["semantic_category"],
                     attributes={k: r[k] for k in ("color", "pattern", "formality", "season")})
             for i, r in meta.items()}
    out = {"meta": meta, "items": items, "outfits": {}, "refs": {}, "compat": {}, "fitb": {}}
    for split in SPLITS:
        base = root / "nondisjoint"
        outfits = json.loads((base / f"{split}.json").read_text())
        out["outfits"][split] = outfits
        out["refs"][split] = {f"{o['set_id']}_{it['index']}": it["item_id"]
                              for o in outfits for it in o["items"]}
        out["compat"][split] = (base / f"compatibility_{split}.txt").read_text().splitlines()
        out["fitb"][split] = json.loads((base / f"fill_in_blank_{split}.json").read_text())
    out["truth"] = json.loads((root / "ground_truth.json").read_text())
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _resolve(loaded, split, refs) -> list[Item]:
    return [loaded["items"][loaded["refs"][split][r]] for r in refs]


# --- files and determinism ---------------------------------------------------------------

def test_same_seed_gives_byte_identical_files_whatever_the_worker_count(world, tmp_path):
    again = tmp_path / "again"
    generate_world(again, n_outfits=N_OUTFITS, seed=SEED, image_size=SIZE, workers=1)
    first, second = _files(world), _files(again)
    assert first.keys() == second.keys()
    differ = [name for name in first if first[name] != second[name]]
    assert not differ, f"files differ between two runs with one seed: {differ[:5]}"


def test_another_seed_gives_another_world(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate_world(a, n_outfits=30, seed=1, image_size=32)
    generate_world(b, n_outfits=30, seed=2, image_size=32)
    for name in ("polyvore_item_metadata.json", "nondisjoint/train.json"):
        assert (a / name).read_bytes() != (b / name).read_bytes()


def test_layout_is_polyvore_outfits(world, loaded):
    rows = [line.split(",") for line in (world / "categories.csv").read_text().splitlines()]
    assert len(rows) >= 18 and all(len(r) == 3 for r in rows)
    assert {r[2] for r in rows} <= set(SEMANTIC_CATEGORIES)
    category_ids = {r[0] for r in rows}
    for rec in loaded["meta"].values():
        assert {"url_name", "description", "catgeories", "title", "related", "category_id",
                "semantic_category", "color", "pattern", "formality", "season", "kind"} <= rec.keys()
        assert isinstance(rec["catgeories"], list) and rec["related"] == []
        assert rec["category_id"] in category_ids
    sizes = {s: len(loaded["outfits"][s]) for s in SPLITS}
    assert sum(sizes.values()) == N_OUTFITS
    assert sizes["train"] == pytest.approx(0.7 * N_OUTFITS, abs=2)
    assert sizes["valid"] == pytest.approx(0.1 * N_OUTFITS, abs=2)
    for split in SPLITS:
        for o in loaded["outfits"][split]:
            assert [it["index"] for it in o["items"]] == list(range(1, len(o["items"]) + 1))
            assert all(it["item_id"] in loaded["meta"] for it in o["items"])
    summary = json.loads((world / "world.json").read_text())
    assert summary["seed"] == SEED and summary["items"] == len(loaded["meta"])
    assert summary["outfits"] == sizes


def test_the_world_has_the_promised_variety(loaded):
    meta = loaded["meta"].values()
    assert len({r["kind"] for r in meta}) >= 18
    assert len({r["color"] for r in meta}) >= 12
    assert len({r["pattern"] for r in meta}) >= 6
    shapes, accessories = set(), Counter()
    for split in SPLITS:
        for o in loaded["outfits"][split]:
            slots = Counter(loaded["items"][it["item_id"]].slot for it in o["items"])
            shapes.add(frozenset(s for s in MAIN_SLOTS if slots[s]))
            accessories[slots["accessory"]] += 1
    assert shapes == set(MAIN_SHAPES)
    assert set(accessories) == {0, 1, 2, 3}


def test_photos_are_distinct_rgb_jpegs_of_the_size_asked(world, loaded):
    digests = set()
    for item_id in loaded["meta"]:
        path = world / "images" / f"{item_id}.jpg"
        with Image.open(path) as im:
            assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (SIZE, SIZE))
            digests.add(hashlib.sha256(im.tobytes()).hexdigest())
    assert len(digests) == len(loaded["meta"])
    assert len(list((world / "images").iterdir())) == len(loaded["meta"])


# --- positives, negatives and their reasons ---------------------------------------------

def test_every_good_outfit_is_complete_wearable_and_keeps_the_rules(loaded):
    for split in SPLITS:
        for o in loaded["outfits"][split]:
            items = [loaded["items"][it["item_id"]] for it in o["items"]]
            outfit = Outfit(tuple(items))
            assert outfit.complete and outfit.wearable, o["set_id"]
            result = truth(items)
            assert result.ok and result.score == 1.0, (o["set_id"], result.violations)


def test_every_negative_breaks_a_rule_because_of_its_swapped_item(loaded):
    for split in SPLITS:
        lines = loaded["compat"][split]
        records = {r["line"]: r for r in loaded["truth"]["compatibility"][split]}
        positives = [ln for ln in lines if ln.startswith("1 ")]
        negatives = [(n, ln) for n, ln in enumerate(lines, start=1) if ln.startswith("0 ")]
        assert len(positives) == len(loaded["outfits"][split])
        assert len(negatives) == len(records)
        if split == "train":
            assert len(negatives) >= 0.9 * len(positives)
        for n, line in negatives:
            refs = line.split()[1:]
            rec = records[n]
            home = rec["set_id"]  # the good outfit the negative was made from
            strangers = [k for k, r in enumerate(refs) if not r.startswith(home + "_")]
            assert strangers == [rec["position"]], line  # exactly one item swapped in
            assert loaded["refs"][split][refs[rec["position"]]] == rec["item_id"]
            assert rec["property"] == RULES[rec["rule"]].property
            items = _resolve(loaded, split, refs)
            assert not truth(items).ok
            result = truth(items, suspect=rec["item_id"])
            assert result.blamed == {rec["item_id"]}
            assert rec["rule"] in result.broken_rules
            assert items[rec["position"]].semantic_category == loaded["items"][
                rec["replaced_item_id"]].semantic_category


def test_truth_scores_separate_positives_from_negatives_perfectly(loaded):
    pos, neg = [], []
    for split in SPLITS:
        for line in loaded["compat"][split]:
            label, *refs = line.split()
            (pos if label == "1" else neg).append(truth(_resolve(loaded, split, refs)).score)
    assert pos and neg
    assert min(pos) > max(neg)


def test_every_reference_names_an_outfit_of_the_same_split(loaded):
    for split in SPLITS:
        known = loaded["refs"][split]
        refs = [r for line in loaded["compat"][split] for r in line.split()[1:]]
        refs += [r for q in loaded["fitb"][split] for r in q["question"] + q["answers"]]
        assert refs and all(r in known for r in refs), split


def test_fill_in_the_blank_has_one_right_answer_and_three_rule_breakers(loaded):
    right_slots = Counter()
    for split in SPLITS:
        records = Counter(r["question"] for r in loaded["truth"]["fitb"][split])
        by_question = {}
        for r in loaded["truth"]["fitb"][split]:
            by_question.setdefault(r["question"], {})[r["answer"]] = r
        for q, rec in enumerate(loaded["fitb"][split]):
            set_id = rec["question"][0].rsplit("_", 1)[0]
            assert all(r.rsplit("_", 1)[0] == set_id for r in rec["question"])
            answers = rec["answers"]
            assert len(answers) == 4 and len(set(answers)) == 4
            right = [k for k, a in enumerate(answers) if a.rsplit("_", 1)[0] == set_id]
            assert len(right) == 1
            right_slots[right[0]] += 1
            assert answers[right[0]] == f"{set_id}_{rec['blank_position']}"
            question = _resolve(loaded, split, rec["question"])
            choices = _resolve(loaded, split, answers)
            assert truth(question + [choices[right[0]]]).ok
            assert records[q] == 3 and set(by_question[q]) == set(range(4)) - {right[0]}
            for k, item in enumerate(choices):
                assert item.semantic_category == choices[right[0]].semantic_category
                if k == right[0]:
                    continue
                result = truth(question + [item], suspect=item.id)
                assert not result.ok and result.blamed == {item.id}
                assert by_question[q][k]["item_id"] == item.id
                assert by_question[q][k]["rule"] in result.broken_rules
    assert sum(right_slots.values()) >= 0.8 * N_OUTFITS
    assert len(right_slots) == 4  # the right answer is not always in one place


def test_reasons_cover_every_property_a_rule_can_break_through(loaded):
    rules = Counter(r["rule"] for split in SPLITS
                    for kind in ("compatibility", "fitb") for r in loaded["truth"][kind][split])
    assert set(rules) == {"color_harmony", "one_bold_pattern", "same_formality", "same_season"}


# --- the rules, by hand ------------------------------------------------------------------

_SEMANTIC = {"tee": "tops", "shirt": "tops", "jeans": "bottoms", "skirt": "bottoms",
             "trousers": "bottoms", "dress": "all-body", "coat": "outerwear",
             "sneakers": "shoes", "heels": "shoes", "loafers": "shoes", "sandals": "shoes",
             "boots": "shoes", "bag": "bags", "scarf": "scarves"}


def _item(item_id, kind, color="navy", pattern="solid", formality="smart", season="all-season"):
    return Item(id=item_id, category=kind, semantic_category=_SEMANTIC[kind],
                attributes={"color": color, "pattern": pattern, "formality": formality,
                            "season": season})


def _outfit(**changes):
    """A good outfit (navy shirt, beige trousers, brown loafers) with pieces replaced."""
    base = {"top": _item("top", "shirt", "navy"), "bottom": _item("bottom", "trousers", "beige"),
            "shoes": _item("shoes", "loafers", "brown")}
    base.update(changes)
    return list(base.values())


def test_a_good_outfit_scores_one():
    result = truth(_outfit())
    assert result.ok and result.score == 1.0 and result.violations == ()


@pytest.mark.parametrize("top, bottom, ok", [
    ("red", "orange", False), ("red", "pink", False), ("green", "red", False),
    ("purple", "orange", False), ("navy", "red", True), ("red", "blue", True),
    ("white", "black", True), ("denim", "yellow", True),
])
def test_colour_harmony_pairs(top, bottom, ok):
    result = truth(_outfit(top=_item("top", "shirt", top), bottom=_item("bottom", "skirt", bottom)))
    assert result.ok is ok
    if not ok:
        assert result.broken_rules == ("color_harmony",)
        assert result.blamed == {"top", "bottom"}  # a tie: both are odd ones out
        assert {v.property for v in result.violations} == {"color"}


def test_three_hues_are_one_too_many_and_the_suspect_takes_the_blame():
    items = _outfit(top=_item("top", "shirt", "red"), bottom=_item("bottom", "skirt", "blue"),
                    shoes=_item("shoes", "heels", "yellow"))
    assert truth(items).broken_rules == ("color_harmony",)
    assert truth(items, suspect="shoes").blamed == {"shoes"}


def test_two_bold_patterns_clash_but_one_is_fine():
    one = _outfit(top=_item("top", "shirt", pattern="stripes"))
    two = _outfit(top=_item("top", "shirt", pattern="stripes"),
                  bottom=_item("bottom", "skirt", pattern="dots"))
    assert truth(one).ok
    result = truth(two, suspect="bottom")
    assert result.broken_rules == ("one_bold_pattern",)
    assert result.violations == (("bottom", "one_bold_pattern", "pattern"),)


def test_casual_with_formal_fails_and_the_odd_one_out_is_blamed():
    items = _outfit(top=_item("top", "tee", formality="casual"),
                    bottom=_item("bottom", "jeans", "denim", formality="casual"),
                    shoes=_item("shoes", "heels", "black", formality="formal"))
    result = truth(items)
    assert result.broken_rules == ("same_formality",)
    assert result.blamed == {"shoes"}
    assert truth(_outfit(top=_item("top", "tee", formality="casual"))).ok  # casual + smart
    assert truth(_outfit(shoes=_item("shoes", "heels", "black", formality="formal"))).ok


def test_summer_with_winter_fails():
    items = _outfit(shoes=_item("shoes", "sandals", season="summer"),
                    top=_item("top", "shirt", season="winter"))
    result = truth(items, suspect="shoes")
    assert result.broken_rules == ("same_season",)
    assert result.violations == (("shoes", "same_season", "season"),)
    assert truth(_outfit(shoes=_item("shoes", "sandals", season="summer"))).ok


def test_an_incomplete_outfit_fails_unless_judged_as_partial():
    items = _outfit()[:2]  # no shoes
    result = truth(items)
    assert result.violations == ((None, "complete_outfit", "shape"),)
    assert truth(items, require_complete=False).ok


def test_a_one_piece_with_a_bottom_is_not_wearable_and_the_extra_piece_is_named():
    items = [_item("dress", "dress"), _item("bottom", "jeans", "denim"),
             _item("shoes", "sneakers")]
    result = truth(items, suspect="bottom")
    assert result.broken_rules == ("complete_outfit",)
    assert result.blamed == {"bottom"}


def test_more_broken_rules_score_lower_and_unknown_attributes_take_no_part():
    one = truth(_outfit(top=_item("top", "shirt", pattern="dots"),
                        bottom=_item("bottom", "skirt", pattern="checks")))
    two = truth(_outfit(top=_item("top", "shirt", "red", pattern="dots"),
                        bottom=_item("bottom", "skirt", "orange", pattern="checks")))
    assert 0 < two.score < one.score < 1
    bare = Item(id="bag", category="bag", semantic_category="bags")
    assert truth([*_outfit(), bare]).ok


# --- folder handling and the contact sheet ----------------------------------------------

@pytest.mark.parametrize("name", ["notes.txt", "images/holiday.jpg"])
def test_refuses_a_folder_that_holds_something_else(tmp_path, name):
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text("mine")
    with pytest.raises(DataError, match="not empty"):
        generate_world(tmp_path, n_outfits=10, image_size=32)
    assert (tmp_path / name).read_text() == "mine"


def test_a_new_world_replaces_an_old_one_in_place(tmp_path):
    generate_world(tmp_path, n_outfits=40, seed=1, image_size=32)
    summary = generate_world(tmp_path, n_outfits=12, seed=2, image_size=32)
    assert len(list((tmp_path / "images").glob("*.jpg"))) == summary["items"]
    assert json.loads((tmp_path / "world.json").read_text())["seed"] == 2


def test_contact_sheet(world, tmp_path):
    from data.synth import contact_sheet

    png = contact_sheet(world, tmp_path / "sheet.png", n=16, columns=4, cell=64)
    with Image.open(png) as im:
        assert im.size[0] == 4 * 64 and im.size[1] > 4 * 64
