import json
import shutil

import pytest
from PIL import Image

from data.dataset import CompatibilityQuestion, FITBQuestion
from data.maryland import maryland_categories, read_category_names, read_maryland
from outfit.errors import DatasetFormatError, MissingFileError, MissingImagesError, OutfitError
from outfit.vocab import SEMANTIC_CATEGORIES

# category ids of the real category_id.txt: 11 Tops, 27 Jeans, 41 Shoes, 4 Day Dresses,
# 35 Bags, 55 Hats; 74 Beauty Products and 113 Furniture are not fashion; 99999 is no id at all
OUTFITS = [
    {"name": "office", "set_id": "100", "likes": 5, "items": [
        {"index": 1, "name": "white shirt", "price": 20.0, "likes": 3, "image": "u",
         "categoryid": 11},
        {"index": 2, "name": "blue jeans", "price": 50, "likes": 1, "categoryid": 27},
        {"index": 4, "name": "lipstick", "categoryid": 74},
        {"index": 5, "name": "loafers", "categoryid": 41},
    ]},
    {"set_id": "200", "items": [
        {"index": 1, "name": "red dress", "categoryid": 4},
        {"index": 2, "name": "sofa", "categoryid": 113},
    ]},
    {"set_id": "300", "items": [
        {"index": 1, "name": "tote", "categoryid": "35"},
        {"index": 2, "name": "straw hat", "categoryid": 55},
        {"index": 3, "name": "mystery", "categoryid": 99999},
    ]},
]
COMPAT = ("1 100_1 100_2 100_4 100_5\n"   # 100_4 (lipstick) is dropped from the question
          "0 100_1 200_1\n"
          "\n"
          "0 100_4 300_1\n"               # one item left: skipped
          "1 100_1 777_1\n")              # 777_1 is in no outfit: skipped
FITB = [
    {"question": ["100_1", "100_2", "100_4"], "answers": ["100_5", "300_1", "200_2", "300_2"],
     "blank_position": 4},
    {"question": ["300_1", "300_2"], "answers": ["300_3", "100_1", "100_2"],
     "blank_position": 3},                                 # right answer dropped: skipped
    {"question": ["100_1"], "answers": ["100_2", "888_1"], "blank_position": 2},  # unknown ref
]


def _layout(root, split="train", *, outfits=OUTFITS, images=True, category_file=None,
            questions=True):
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{split}_no_dup.json").write_text(json.dumps(outfits, indent=1))
    if category_file is not None:
        shutil.copy(category_file, root / "category_id.txt")
    if questions:
        (root / "fashion_compatibility_prediction.txt").write_text(COMPAT)
        (root / "fill_in_the_blank_test.json").write_text(json.dumps(FITB))
    if images:
        for outfit in outfits:
            for it in outfit["items"]:
                path = root / "images" / str(outfit["set_id"]) / f"{it['index']}.jpg"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (6, 6), (10 * it["index"], 90, 200)).save(path, "JPEG")
    return root


@pytest.fixture
def real_categories(shared_data):
    return shared_data / "maryland-polyvore-format" / "category_id.txt"


@pytest.mark.shared_data
def test_reads_items_and_outfits(tmp_path, real_categories):
    root = _layout(tmp_path / "maryland", category_file=real_categories)
    ds = read_maryland(root, "train")
    assert (ds.name, ds.split, ds.root) == ("maryland", "train", root)
    assert [o.id for o in ds.outfits] == ["100", "300"]
    assert ds.outfits[0].item_ids == ("100_1", "100_2", "100_5")
    assert ds.outfits[1].item_ids == ("300_1", "300_2")
    assert sorted(ds.items) == ["100_1", "100_2", "100_5", "200_1", "300_1", "300_2"]
    assert dict(ds.skipped) == {"unmapped_category_items": 2, "unknown_category_id_items": 1,
                                "outfits": 1}
    shirt = ds.item("100_1")
    assert (shirt.category, shirt.semantic_category, shirt.slot) == ("tops", "tops", "upper")
    assert shirt.name == "white shirt"
    assert shirt.image == root / "images" / "100" / "1.jpg"
    assert dict(shirt.attributes) == {"category_id": "11", "set_id": "100", "index": 1,
                                      "price": 20.0, "likes": 3}
    assert [ds.item(i).slot for i in ("100_2", "100_5", "200_1", "300_1", "300_2")] == [
        "lower", "shoes", "full", "accessory", "accessory"]
    assert ds.item("200_1").category == "day dresses"
    assert ds.compatibility == () and ds.fitb == ()  # questions belong to the test split


def test_questions_of_the_test_split(tmp_path):
    ds = read_maryland(_layout(tmp_path, "test"), "test")
    assert ds.compatibility == (
        CompatibilityQuestion(label=1, item_ids=("100_1", "100_2", "100_5")),
        CompatibilityQuestion(label=0, item_ids=("100_1", "200_1")),
    )
    assert ds.fitb == (FITBQuestion(question_ids=("100_1", "100_2"),
                                    answer_ids=("100_5", "300_1", "300_2"), answer_index=0,
                                    blank_position=4, outfit_id="100"),)
    assert ds.fitb[0].answer_id == "100_5"
    assert ds.skipped["compatibility"] == 1
    assert ds.skipped["compatibility_unknown_items"] == 1
    assert ds.skipped["fitb"] == 1 and ds.skipped["fitb_unknown_items"] == 1


def test_test_split_without_question_files(tmp_path):
    ds = read_maryland(_layout(tmp_path, "test", questions=False), "test")
    assert ds.summary() == {"items": 6, "outfits": 2, "compatibility": 0, "fitb": 0}


def test_hyphenated_compatibility_file_name(tmp_path):
    root = _layout(tmp_path, "test")
    (root / "fashion_compatibility_prediction.txt").rename(
        root / "fashion-compatibility-prediction.txt")
    assert len(read_maryland(root, "test").compatibility) == 2


def test_missing_images_are_an_error_naming_them(tmp_path):
    root = _layout(tmp_path)
    (root / "images" / "100" / "2.jpg").unlink()
    (root / "images" / "300" / "1.jpg").unlink()
    with pytest.raises(MissingImagesError) as err:
        read_maryland(root)
    assert err.value.total == 2
    assert "100/2.jpg" in str(err.value) and "300/1.jpg" in str(err.value)


def test_missing_images_skipped_and_counted(tmp_path):
    root = _layout(tmp_path, "test")
    (root / "images" / "300" / "1.jpg").unlink()
    ds = read_maryland(root, "test", on_missing_image="skip")
    assert "300_1" not in ds.items
    assert ds.skipped["missing_image_items"] == 1
    assert ds.skipped["outfits"] == 2  # 200 (a sofa left a dress alone) and 300 (a hat alone)
    assert [o.id for o in ds.outfits] == ["100"]
    # the dropped tote leaves the FITB answers, not the question
    assert ds.fitb[0].answer_ids == ("100_5", "300_2")


def test_absent_image_folder_hints_at_check_images(tmp_path):
    root = _layout(tmp_path, images=False)
    with pytest.raises(MissingImagesError, match="check_images=False") as err:
        read_maryland(root)
    assert err.value.total == 6
    assert read_maryland(root, check_images=False).summary()["items"] == 6


def test_bad_json_names_file_and_line(tmp_path):
    root = _layout(tmp_path)
    (root / "train_no_dup.json").write_text('[\n {"set_id": "1",\n  "items": [}\n]')
    with pytest.raises(DatasetFormatError) as err:
        read_maryland(root)
    assert err.value.line == 3 and err.value.path == root / "train_no_dup.json"
    assert "train_no_dup.json:3" in str(err.value)


@pytest.mark.parametrize("outfits,found", [
    ({"set_id": "1"}, "JSON list of outfits"),
    ([{"items": []}], "outfit #0 needs 'set_id'"),
    ([{"set_id": "5", "items": [{"index": 1}]}], "set_id 5.*item #0.*'categoryid'"),
    ([{"set_id": "5", "items": [{"index": "x", "categoryid": 11}]}], "must be numbers"),
    ([{"set_id": "5", "items": [{"index": 1, "categoryid": 11},
                                {"index": 1, "categoryid": 27}]}], "index 1 twice"),
])
def test_bad_outfit_records(tmp_path, outfits, found):
    root = _layout(tmp_path, outfits=[], images=False)
    (root / "train_no_dup.json").write_text(json.dumps(outfits))
    with pytest.raises(DatasetFormatError, match=found) as err:
        read_maryland(root, check_images=False)
    assert "train_no_dup.json" in str(err.value)


def test_duplicate_outfit_is_counted(tmp_path):
    root = _layout(tmp_path, outfits=[*OUTFITS, OUTFITS[0]])
    assert read_maryland(root).skipped["duplicate_outfits"] == 1


def test_bad_compatibility_line_names_file_and_line(tmp_path):
    root = _layout(tmp_path, "test")
    (root / "fashion_compatibility_prediction.txt").write_text("1 100_1 100_2\n\nyes 100_1\n")
    with pytest.raises(DatasetFormatError) as err:
        read_maryland(root, "test")
    assert err.value.line == 3
    assert "fashion_compatibility_prediction.txt:3" in str(err.value)


def test_bad_fitb_record(tmp_path):
    root = _layout(tmp_path, "test")
    (root / "fill_in_the_blank_test.json").write_text(json.dumps([{"question": ["100_1"]}]))
    with pytest.raises(DatasetFormatError, match="question #0") as err:
        read_maryland(root, "test")
    assert "fill_in_the_blank_test.json" in str(err.value)


def test_missing_split_and_unknown_split(tmp_path):
    root = _layout(tmp_path, "train")
    with pytest.raises(MissingFileError, match="valid_no_dup.json"):
        read_maryland(root, "valid")
    with pytest.raises(OutfitError, match="unknown split 'validation'"):
        read_maryland(root, "validation")
    with pytest.raises(MissingFileError, match="Maryland Polyvore folder"):
        read_maryland(tmp_path / "nowhere")


def test_decision_table_uses_the_vocabulary():
    table = maryland_categories()
    used = {c.semantic for c in table.values()}
    assert used - {None} == set(SEMANTIC_CATEGORIES)  # every semantic category reachable
    expected = {4: "all-body", 11: "tops", 27: "bottoms", 23: "outerwear", 41: "shoes",
                35: "bags", 60: "jewellery", 51: "accessories", 55: "hats", 105: "scarves",
                57: "sunglasses", 18: "outerwear", 2: None, 74: None, 113: None, 245: None}
    assert {cid: table[cid].semantic for cid in expected} == expected


@pytest.mark.shared_data
def test_every_real_category_has_an_explicit_decision(real_categories):
    names = read_category_names(real_categories)
    assert len(names) == 380
    table = maryland_categories()
    missing = sorted(set(names) - set(table))
    assert not missing, f"category ids with no decision in maryland_categories.csv: {missing}"
    renamed = {cid: (n, table[cid].name) for cid, n in names.items() if table[cid].name != n}
    assert not renamed
    assert names[4] == "Day Dresses"


def test_read_category_names_reports_bad_lines(tmp_path):
    path = tmp_path / "category_id.txt"
    path.write_text("2 Clothing\r\n3 Dresses\r\nDresses 4\r\n")
    with pytest.raises(DatasetFormatError) as err:
        read_category_names(path)
    assert err.value.line == 3 and "category_id.txt:3" in str(err.value)
    path.write_text("2 Clothing\r\n\r\n3 Dresses\r\n")
    assert read_category_names(path) == {2: "Clothing", 3: "Dresses"}
