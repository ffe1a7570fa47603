import hashlib
import time
from collections import Counter

import pytest
from PIL import Image

from data.folder import CATEGORY_WORDS, FolderCloset, category_for, read_closet_folder
from outfit.errors import (
    DatasetFormatError,
    ImageError,
    MissingFileError,
    MissingImagesError,
    UnknownCategoryError,
)
from outfit.vocab import SEMANTIC_CATEGORIES


def _photo(path, fmt="JPEG", color=(200, 40, 40)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (12, 16), color).save(path, fmt)
    return path


def _closet(root):
    _photo(root / "train" / "t-shirt" / "a.jpg")
    _photo(root / "test" / "t-shirt" / "a.jpg", color=(0, 0, 200))  # same name, other folder
    _photo(root / "Dresses" / "red.png", "PNG")
    _photo(root / "train" / "shoes" / "sneaker.webp", "WEBP")
    (root / "LICENSE").write_text("CC0")
    (root / "README.md").write_text("# my closet")
    (root / "train" / "shoes" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "__MACOSX" / "shoes").mkdir(parents=True)
    (root / "__MACOSX" / "shoes" / "._sneaker.jpg").write_bytes(b"\0\5\26\7")
    (root / ".thumbnails" / "misc").mkdir(parents=True)
    _photo(root / ".thumbnails" / "misc" / "t.jpg")
    return root


def _sha(rel):
    return hashlib.sha1(rel.encode()).hexdigest()[:12]


def test_reads_a_folder_of_photos(tmp_path):
    root = _closet(tmp_path / "closet")
    result = read_closet_folder(root)
    assert isinstance(result, FolderCloset)
    closet, skipped = result
    assert dict(skipped) == {}
    assert closet.name == "closet" and len(closet) == 4
    by_source = {it.attributes["source"]: it for it in closet}
    assert sorted(by_source) == ["Dresses/red.png", "test/t-shirt/a.jpg",
                                 "train/shoes/sneaker.webp", "train/t-shirt/a.jpg"]
    tee = by_source["train/t-shirt/a.jpg"]
    assert tee.id == _sha("train/t-shirt/a.jpg") != by_source["test/t-shirt/a.jpg"].id
    assert (tee.category, tee.semantic_category, tee.slot) == ("t-shirt", "tops", "upper")
    assert tee.name == f"t-shirt {tee.id[:6]}"
    assert tee.image == root / "train" / "t-shirt" / "a.jpg" and tee.image.is_absolute()
    dress = by_source["Dresses/red.png"]
    assert (dress.category, dress.slot) == ("dress", "full")
    assert by_source["train/shoes/sneaker.webp"].slot == "shoes"
    # stable: the same ids on a second read
    again = read_closet_folder(root, name="mine").closet
    assert again.name == "mine" and [it.id for it in again] == [it.id for it in closet]


def test_relative_root_gives_absolute_images(tmp_path, monkeypatch):
    _closet(tmp_path / "closet")
    monkeypatch.chdir(tmp_path / "closet" / "Dresses")
    closet, _ = read_closet_folder("../../closet")
    assert closet.name == "closet"
    assert all(it.image.is_absolute() and it.image.is_file() for it in closet)


def _bad_photos(root):
    _photo(root / "shirt" / "good.jpg")
    (root / "shirt" / "notes.jpg").write_text("remember to iron this")
    (root / "pants" / "corrupt.jpg").parent.mkdir(parents=True)
    (root / "pants" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 10)
    return root


def test_bad_photo_is_an_error_naming_it(tmp_path):
    root = _bad_photos(tmp_path)
    with pytest.raises(ImageError) as err:
        read_closet_folder(root)
    assert "corrupt.jpg" in str(err.value)  # the first in sorted order
    assert "skipped" in err.value.hint


def test_text_file_named_jpg_is_refused(tmp_path):
    _photo(tmp_path / "shirt" / "good.jpg")
    (tmp_path / "shirt" / "notes.jpg").write_text("remember to iron this")
    with pytest.raises(ImageError, match=r"notes\.jpg: not a JPEG, PNG or WebP image.*plain text"):
        read_closet_folder(tmp_path)


def test_bad_photos_skipped_and_counted(tmp_path):
    closet, skipped = read_closet_folder(_bad_photos(tmp_path), on_bad_image="skip")
    assert dict(skipped) == {"bad_images": 2}
    assert [it.attributes["source"] for it in closet] == ["shirt/good.jpg"]


def test_check_images_false_does_not_open_photos(tmp_path):
    closet, skipped = read_closet_folder(_bad_photos(tmp_path), check_images=False)
    assert len(closet) == 3 and not skipped


def test_unknown_nested_folder_is_always_an_error(tmp_path):
    _photo(tmp_path / "tops" / "a.jpg")
    _photo(tmp_path / "tops" / "red" / "b.jpg")  # only the folder a photo sits in counts
    _photo(tmp_path / "misc" / "c.jpg")
    for mode in ("error", "skip"):
        with pytest.raises(UnknownCategoryError) as err:
            read_closet_folder(tmp_path, on_bad_image=mode)
        msg = str(err.value)
        assert "2 unknown category folder name(s)" in msg
        assert "'red' (e.g. tops/red/b.jpg)" in msg and "'misc'" in msg
        assert "t-shirt" in err.value.hint and "outerwear" in err.value.hint


def test_photo_directly_in_root_takes_roots_name(tmp_path):
    _photo(tmp_path / "Sneakers" / "x.jpg")
    closet, _ = read_closet_folder(tmp_path / "Sneakers")
    assert [(it.category, it.slot) for it in closet] == [("sneakers", "shoes")]
    _photo(tmp_path / "stuff" / "y.jpg")
    with pytest.raises(UnknownCategoryError, match="'stuff'"):
        read_closet_folder(tmp_path / "stuff")


def test_empty_or_absent_folder(tmp_path):
    (tmp_path / "README.md").write_text("nothing here")
    with pytest.raises(MissingFileError, match="photos"):
        read_closet_folder(tmp_path)
    with pytest.raises(MissingFileError, match="closet folder"):
        read_closet_folder(tmp_path / "nope")


# ------------------------------------------------------------------------ CSV


def _csv_closet(root, text):
    _photo(root / "img" / "1.jpg")
    _photo(root / "img" / "2.png", "PNG")
    _photo(root / "img" / "unlisted.jpg")
    (root / "closet.csv").write_text(text, encoding="utf-8")
    return root


def test_reads_categories_and_attributes_from_csv(tmp_path):
    root = _csv_closet(tmp_path, "\ufeffFile,Category,color,pattern\r\n"
                                 "img/1.jpg,Jeans,navy,\r\n"
                                 "./img/2.png,blazer,black,striped\r\n")
    closet, skipped = read_closet_folder(root, csv="closet.csv")
    assert not skipped and len(closet) == 2  # the unlisted photo is not read
    jeans, blazer = closet
    assert (jeans.category, jeans.slot) == ("jeans", "lower")
    assert dict(jeans.attributes) == {"color": "navy", "source": "img/1.jpg"}
    assert (blazer.category, blazer.slot) == ("blazer", "outer")
    assert dict(blazer.attributes) == {"color": "black", "pattern": "striped",
                                       "source": "img/2.png"}
    assert blazer.id == _sha("img/2.png")


def test_csv_missing_file(tmp_path):
    root = _csv_closet(tmp_path, "file,category\nimg/1.jpg,shirt\nimg/gone.jpg,shirt\n")
    with pytest.raises(MissingImagesError, match="gone.jpg") as err:
        read_closet_folder(root, csv=root / "closet.csv")
    assert err.value.total == 1
    closet, skipped = read_closet_folder(root, csv="closet.csv", on_bad_image="skip")
    assert len(closet) == 1 and dict(skipped) == {"missing_files": 1}


@pytest.mark.parametrize("text,line,found", [
    ("path,category\nimg/1.jpg,shirt\n", 1, "'file' and 'category'"),
    ("file,category\nimg/1.jpg,shirt\nimg/2.png,\n", 3, "empty"),
    ("file,category\n../outside.jpg,shirt\n", 2, "not a file inside the closet folder"),
    ("file,category\nimg/1.jpg,shirt\n.,shirt\n", 3, "not a file inside the closet folder"),
    ("file,category\nimg/1.jpg,shirt\nimg/./1.jpg,shirt\n", 3, "listed twice"),
])
def test_bad_csv_names_file_and_line(tmp_path, text, line, found):
    root = _csv_closet(tmp_path, text)
    with pytest.raises(DatasetFormatError, match=found) as err:
        read_closet_folder(root, csv="closet.csv")
    assert err.value.line == line and f"closet.csv:{line}" in str(err.value)


def test_csv_unknown_category_names_the_line(tmp_path):
    root = _csv_closet(tmp_path, "file,category\nimg/1.jpg,shirt\nimg/2.png,gadget\n")
    with pytest.raises(UnknownCategoryError, match="'gadget' \\(closet.csv line 3\\)"):
        read_closet_folder(root, csv="closet.csv", on_bad_image="skip")


# ------------------------------------------------------------------------ category words


@pytest.mark.parametrize("word,fine,semantic", [
    ("t-shirt", "t-shirt", "tops"), ("T_Shirts", "t-shirt", "tops"), ("tee", "t-shirt", "tops"),
    ("longsleeve", "long-sleeve top", "tops"), ("Hoodies", "hoodie", "tops"),
    ("blouse", "blouse", "tops"), ("sweater", "sweater", "tops"), ("top", "top", "tops"),
    ("pants", "pants", "bottoms"), ("trousers", "pants", "bottoms"),
    ("jeans", "jeans", "bottoms"), ("shorts", "shorts", "bottoms"), ("skirt", "skirt", "bottoms"),
    ("dress", "dress", "all-body"), ("Dresses", "dress", "all-body"),
    ("jumpsuit", "jumpsuit", "all-body"), ("outwear", "outerwear", "outerwear"),
    ("jacket", "jacket", "outerwear"), ("coat", "coat", "outerwear"),
    ("blazer", "blazer", "outerwear"), ("shoes", "shoes", "shoes"),
    ("sneakers", "sneakers", "shoes"), ("boots", "boots", "shoes"), ("heels", "heels", "shoes"),
    ("sandals", "sandals", "shoes"), ("hat", "hat", "hats"), ("cap", "cap", "hats"),
    ("handbag", "bag", "bags"), ("scarf", "scarf", "scarves"),
    ("jewelry", "jewellery", "jewellery"),
    ("Sunglasses", "sunglasses", "sunglasses"), ("belt", "belt", "accessories"),
])
def test_category_words(word, fine, semantic):
    assert category_for(word) == (fine, semantic)


@pytest.mark.parametrize("semantic", SEMANTIC_CATEGORIES)
def test_semantic_names_are_categories(semantic):
    assert category_for(semantic) == (semantic, semantic)
    assert category_for(semantic.upper()) == (semantic, semantic)


def test_every_word_maps_into_the_vocabulary():
    assert {sem for _, sem in CATEGORY_WORDS.values()} == set(SEMANTIC_CATEGORIES)
    with pytest.raises(UnknownCategoryError, match="'gizmo'") as err:
        category_for("gizmo")
    assert "jeans" in err.value.hint


# ------------------------------------------------------------------------ real photos


@pytest.mark.shared_data
def test_clothing_small_loads_as_a_closet(shared_data):
    root = shared_data / "clothing-small"
    start = time.perf_counter()
    closet, skipped = read_closet_folder(root)
    seconds = time.perf_counter() - start
    print(f"clothing-small: {len(closet)} items in {seconds:.2f}s (headers probed)")
    assert len(closet) == 3781 and not skipped
    assert seconds < 30  # a header probe: about a second on a developer machine
    per_class = Counter(it.category for it in closet)
    assert per_class == {"t-shirt": 928, "long-sleeve top": 576, "pants": 559, "shirt": 345,
                         "shoes": 297, "dress": 288, "shorts": 257, "outerwear": 246,
                         "hat": 149, "skirt": 136}
    per_slot = Counter(it.slot for it in closet)
    assert per_slot == {"upper": 1849, "lower": 952, "shoes": 297, "full": 288, "outer": 246,
                        "accessory": 149}
    slot_of_folder = {it.image.parent.name: it.slot for it in closet}
    assert slot_of_folder == {"dress": "full", "hat": "accessory", "longsleeve": "upper",
                              "outwear": "outer", "pants": "lower", "shirt": "upper",
                              "shoes": "shoes", "shorts": "lower", "skirt": "lower",
                              "t-shirt": "upper"}
