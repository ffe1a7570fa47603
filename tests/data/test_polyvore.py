import json
import os
import random
import shutil

import pytest
from PIL import Image

from data.dataset import CompatibilityQuestion, Dataset, FITBQuestion
from data.polyvore import read_categories, read_polyvore_outfits, write_polyvore_outfits
from outfit.domain import Item, Outfit
from outfit.errors import (
    DatasetFormatError,
    MissingFileError,
    MissingImagesError,
    UnknownCategoryError,
)


def _tiny_jpeg(path, color=(200, 30, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), color).save(path, "JPEG")


def _layout(root, outfits, meta, compat="", fitb=None, cats="1,shirt,tops\n2,jeans,bottoms\n"
            "3,sneakers,shoes\n", images=True):
    (root / "nondisjoint").mkdir(parents=True)
    (root / "categories.csv").write_text(cats)
    (root / "polyvore_item_metadata.json").write_text(json.dumps(meta))
    (root / "nondisjoint" / "train.json").write_text(json.dumps(outfits))
    (root / "nondisjoint" / "compatibility_train.txt").write_text(compat)
    if fitb is not None:
        (root / "nondisjoint" / "fill_in_blank_train.json").write_text(json.dumps(fitb))
    if images:
        for item_id in meta:
            _tiny_jpeg(root / "images" / f"{item_id}.jpg")
    return root


def _small(root, **kw):
    outfits = [{"set_id": "100", "items": [{"item_id": "a", "index": 1},
                                           {"item_id": "b", "index": 2},
                                           {"item_id": "c", "index": 3}]},
               {"set_id": "200", "items": [{"item_id": "d", "index": 1},
                                           {"item_id": "e", "index": 3}]}]
    meta = {"a": {"title": "navy shirt", "category_id": "1", "semantic_category": "tops",
                  "catgeories": ["Women's Fashion", "Tops"], "color": "navy"},
            "b": {"title": "blue jeans", "category_id": "2", "semantic_category": ""},
            "c": {"title": "white sneakers", "category_id": "3", "semantic_category": "shoes"},
            "d": {"title": "grey shirt", "category_id": "1", "semantic_category": "tops"},
            "e": {"title": "black jeans", "category_id": "2", "semantic_category": "bottoms"}}
    compat = "1 100_1 100_2 100_3\r\n0 100_1 200_3 100_3\r\n\r\n"
    fitb = [{"question": ["100_1", "100_3"], "answers": ["200_3", "100_2"], "blank_position": 2}]
    return _layout(root, outfits, meta, compat=compat, fitb=fitb, **kw)


def test_reads_items_outfits_and_questions(tmp_path):
    ds = read_polyvore_outfits(_small(tmp_path), "train")
    assert ds.summary() == {"items": 5, "outfits": 2, "compatibility": 2, "fitb": 1}
    a = ds.item("a")
    assert (a.name, a.category, a.semantic_category, a.slot) == ("navy shirt", "shirt", "tops",
                                                                 "upper")
    assert a.attributes["categories"] == ["Women's Fashion", "Tops"]  # the misspelt key, fixed
    assert a.attributes["color"] == "navy" and a.image == tmp_path / "images" / "a.jpg"
    assert ds.item("b").semantic_category == "bottoms"  # empty in metadata, from categories.csv
    assert [o.id for o in ds.outfits] == ["100", "200"]
    assert ds.outfits[0].item_ids == ("a", "b", "c") and ds.outfits[0].complete
    assert ds.compatibility == (CompatibilityQuestion(1, ("a", "b", "c")),
                                CompatibilityQuestion(0, ("a", "e", "c")))
    q = ds.fitb[0]
    assert (q.question_ids, q.answer_ids, q.answer_index, q.answer_id) == (
        ("a", "c"), ("e", "b"), 1, "b")
    assert q.outfit_id == "100" and q.blank_position == 2


def test_categories_quirks(tmp_path):
    path = tmp_path / "categories.csv"
    path.write_bytes(b"2,undefined,\r\n11,sweater,tops\r\n11, shirt ,tops \r\n"
                     b"51,scarf,accessories\r\n51,scarf,scarves\r\n245,lingerie top,\r\n"
                     b"4518,swimsuit bottom,bottoms")
    cats = read_categories(path)
    assert cats["2"].semantic is None and cats["245"].semantic is None
    assert cats["11"].names == ["sweater", "shirt"] and cats["11"].semantic == "tops"
    assert cats["51"].semantic == "scarves"  # the specific category wins over the catch-all
    assert cats["4518"].semantic == "bottoms"  # last line without a newline


@pytest.mark.parametrize("content, error, where", [
    ("1,shirt,tops\n2,socks,legwear\n", UnknownCategoryError, ":2: unknown semantic category"),
    ("1,shirt,tops\nx,jeans,bottoms\n", DatasetFormatError, ":2: category id 'x'"),
    ("1,shirt,tops\n3\n", DatasetFormatError, ":2: expected"),
])
def test_bad_categories_name_file_and_line(tmp_path, content, error, where):
    path = tmp_path / "categories.csv"
    path.write_text(content)
    with pytest.raises(error, match="categories.csv" + where):
        read_categories(path)


def test_missing_images_error_or_skip(tmp_path):
    root = _small(tmp_path)
    (root / "images" / "e.jpg").unlink()
    (root / "images" / "b.jpg").unlink()
    with pytest.raises(MissingImagesError, match=r"2 item image\(s\) missing: .*b\.jpg.*e\.jpg"):
        read_polyvore_outfits(root, "train")
    ds = read_polyvore_outfits(root, "train", on_missing_image="skip")
    assert set(ds.items) == {"a", "c", "d"}
    assert [o.item_ids for o in ds.outfits] == [("a", "c")]  # outfit 200 kept only 1 item
    assert ds.compatibility == () and ds.fitb == ()
    assert dict(ds.skipped) == {"missing_image_items": 2, "outfits": 1, "compatibility": 2,
                                "fitb": 1}
    assert read_polyvore_outfits(root, "train", check_images=False).summary()["items"] == 5


def test_unknown_category_items_error_or_skip(tmp_path):
    root = _small(tmp_path, cats="1,shirt,tops\n2,jeans,\n3,sneakers,shoes\n")
    with pytest.raises(UnknownCategoryError, match="item b has no semantic category"):
        read_polyvore_outfits(root, "train")
    ds = read_polyvore_outfits(root, "train", on_unknown_category="skip")
    assert "b" not in ds.items and ds.skipped["unknown_category_items"] == 1


def test_malformed_files_name_file_and_line(tmp_path):
    root = _small(tmp_path)
    compat = root / "nondisjoint" / "compatibility_train.txt"
    compat.write_text("1 100_1 100_2\n2 100_1 100_3\n")
    with pytest.raises(DatasetFormatError, match=r"compatibility_train.txt:2: expected"):
        read_polyvore_outfits(root, "train")
    compat.write_text("1 100_1 100_2\n1 100_1 999_9\n")
    with pytest.raises(DatasetFormatError, match=r"compatibility_train.txt:2: .*'999_9'"):
        read_polyvore_outfits(root, "train")
    compat.write_text("")
    (root / "polyvore_item_metadata.json").write_text('{"a": {"title": "x"},\n "b": ')
    with pytest.raises(DatasetFormatError, match=r"polyvore_item_metadata.json:2: not valid JSON"):
        read_polyvore_outfits(root, "train")
    with pytest.raises(MissingFileError, match="outfit list not found: .*valid.json"):
        read_polyvore_outfits(root, "valid")


def test_fitb_needs_exactly_one_answer_from_the_question_outfit(tmp_path):
    root = _small(tmp_path)
    bad = [{"question": ["100_1"], "answers": ["200_1", "200_3"], "blank_position": 2}]
    (root / "nondisjoint" / "fill_in_blank_train.json").write_text(json.dumps(bad))
    with pytest.raises(DatasetFormatError, match="question #0: 0 answers come from"):
        read_polyvore_outfits(root, "train")


def test_write_then_read_round_trip(tmp_path):
    src = tmp_path / "photo.png"
    Image.new("RGBA", (20, 10), (0, 128, 255, 255)).save(src)
    items = [Item(id=f"i{k}", category=cat, semantic_category=sem, image=src, name=f"thing {k}",
                  attributes={"color": "blue", "pattern": "solid"})
             for k, (cat, sem) in enumerate([("shirt", "tops"), ("jeans", "bottoms"),
                                             ("boots", "shoes"), ("tee", "tops"),
                                             ("skirt", "bottoms")])]
    by_id = {it.id: it for it in items}
    outfits = (Outfit((by_id["i0"], by_id["i1"], by_id["i2"]), id="s1"),
               Outfit((by_id["i3"], by_id["i4"], by_id["i2"]), id="s2"))
    ds = Dataset("mine", "train", by_id, outfits,
                 compatibility=(CompatibilityQuestion(1, ("i0", "i1", "i2")),
                                CompatibilityQuestion(0, ("i0", "i4", "i2"))),
                 fitb=(FITBQuestion(("i0", "i2"), ("i4", "i1"), answer_index=1),))
    root = write_polyvore_outfits(tmp_path / "out", {"train": ds})
    back = read_polyvore_outfits(root, "train")
    assert back.items.keys() == ds.items.keys()
    for it in items:
        got = back.item(it.id)
        assert (got.category, got.semantic_category, got.name) == (it.category,
                                                                   it.semantic_category, it.name)
        assert got.attributes["color"] == "blue" and got.attributes["pattern"] == "solid"
        with Image.open(got.image) as im:
            assert (im.format, im.size) == ("JPEG", (20, 10))
    assert [(o.id, o.item_ids) for o in back.outfits] == [(o.id, o.item_ids) for o in outfits]
    assert back.compatibility == ds.compatibility
    q = back.fitb[0]
    assert (q.question_ids, q.answer_ids, q.answer_index, q.blank_position) == (
        ("i0", "i2"), ("i4", "i1"), 1, 2)
    first = (root / "polyvore_item_metadata.json").read_bytes()
    write_polyvore_outfits(tmp_path / "out", {"train": back})  # rewrite in place: same bytes
    assert (root / "polyvore_item_metadata.json").read_bytes() == first


def test_writer_refuses_questions_outside_the_split(tmp_path):
    it = [Item(id=f"x{k}", category="c", semantic_category=s) for k, s in
          enumerate(["tops", "bottoms", "shoes"])]
    ds = Dataset("m", "train", {i.id: i for i in it}, (Outfit((it[0], it[1])),),
                 compatibility=(CompatibilityQuestion(1, ("x0", "x2")),))
    with pytest.raises(DatasetFormatError, match="names item x2, which is in no outfit"):
        write_polyvore_outfits(tmp_path / "o", {"train": ds}, images=False)


@pytest.mark.shared_data
def test_real_polyvore_valid_split(shared_data, tmp_path):
    """The real release files: 5,000 outfits and 10,000 compatibility questions. The folder has
    no item metadata and no images, so the test supplies both."""
    src = shared_data / "polyvore-outfits-format"
    root = tmp_path / "polyvore"
    (root / "nondisjoint").mkdir(parents=True)
    shutil.copy(src / "categories.csv", root)
    shutil.copy(src / "valid.json", root / "nondisjoint")
    shutil.copy(src / "compatibility_valid.txt", root / "nondisjoint")
    raw = json.loads((src / "valid.json").read_text())
    cats = read_categories(root / "categories.csv")
    usable = sorted(c for c, info in cats.items() if info.semantic)
    rng = random.Random(0)
    ids = sorted({it["item_id"] for o in raw for it in o["items"]})
    meta = {i: {"title": f"item {i}", "catgeories": ["Fashion"], "category_id": rng.choice(usable),
                "semantic_category": ""} for i in ids}
    (root / "polyvore_item_metadata.json").write_text(json.dumps(meta))
    (root / "images").mkdir()
    _tiny_jpeg(tmp_path / "one.jpg")
    for i in ids:
        os.symlink(tmp_path / "one.jpg", root / "images" / f"{i}.jpg")

    ds = read_polyvore_outfits(root, "valid")
    assert len(ds.outfits) == 5000 and len(ds.compatibility) == 10000
    assert len(ds.items) == len(ids) == 25132
    assert sum(q.label for q in ds.compatibility) == 5000
    assert ds.outfits[0].id == raw[0]["set_id"]
    assert ds.outfits[0].item_ids == tuple(it["item_id"] for it in raw[0]["items"])
    first_line = (src / "compatibility_valid.txt").read_text().splitlines()[0].split()
    lookup = {f"{o['set_id']}_{it['index']}": it["item_id"] for o in raw for it in o["items"]}
    assert ds.compatibility[0].item_ids == tuple(lookup[r] for r in first_line[1:])
    assert not ds.skipped
