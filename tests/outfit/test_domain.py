import pytest

from outfit.domain import Closet, Item, Outfit
from outfit.errors import (
    DuplicateItemError,
    GrammarError,
    ItemNotFoundError,
    OutfitError,
    UnknownCategoryError,
)
from outfit.vocab import MAIN_SHAPES, SEMANTIC_CATEGORIES, SLOTS, normalize_category, slot_of


def item(i, semantic, category=None, **attrs):
    return Item(id=str(i), category=category or semantic, semantic_category=semantic,
                attributes=attrs)


TOP, BOTTOM, DRESS, COAT, SHOE = (item("t", "tops"), item("b", "bottoms"), item("d", "all-body"),
                                  item("c", "outerwear"), item("s", "shoes"))


def test_every_semantic_category_has_a_slot():
    assert len(SEMANTIC_CATEGORIES) == 11
    assert {slot_of(c) for c in SEMANTIC_CATEGORIES} == set(SLOTS)
    assert slot_of("tops") == "upper" and slot_of("all-body") == "full"
    assert slot_of("jewellery") == "accessory" and slot_of("outerwear") == "outer"


def test_category_aliases_and_unknown():
    assert normalize_category(" Jewelry ") == "jewellery"
    assert normalize_category("ALL-BODY") == "all-body"
    with pytest.raises(UnknownCategoryError, match="socks.*use one of: tops"):
        normalize_category("socks")


def test_item_derives_slot_and_is_immutable():
    it = item(1, "Tops", category="shirt", color="navy")
    assert (it.semantic_category, it.slot, it.category) == ("tops", "upper", "shirt")
    with pytest.raises(TypeError):
        it.attributes["color"] = "red"
    with pytest.raises(AttributeError):
        it.id = "2"
    assert hash(it) == hash(item(1, "tops", category="shirt", color="navy"))


def test_item_rejects_bad_fields():
    with pytest.raises(OutfitError, match="non-empty"):
        Item(id="", category="x", semantic_category="tops")
    with pytest.raises(GrammarError, match="'upper' slot"):
        Item(id="1", category="x", semantic_category="tops", slot="lower")


@pytest.mark.parametrize("shape", MAIN_SHAPES)
def test_each_main_shape_with_shoes_is_complete(shape):
    by_slot = {"outer": COAT, "upper": TOP, "lower": BOTTOM, "full": DRESS}
    base = Outfit(tuple(by_slot[s] for s in shape))
    assert base.wearable and not base.complete
    assert base.with_item(SHOE).complete


def test_grammar_violations_are_named():
    two_tops = Outfit((TOP, item("t2", "tops"), BOTTOM))
    assert not two_tops.wearable and "2 items in the 'upper' slot" in two_tops.problems()[0]
    dress_and_jeans = Outfit((DRESS, BOTTOM))
    assert any("one-piece" in p for p in dress_and_jeans.problems())
    with pytest.raises(GrammarError, match="one-piece"):
        dress_and_jeans.check()
    four_acc = Outfit((TOP, BOTTOM, *(item(f"j{i}", "jewellery") for i in range(4))))
    assert any("4 accessories" in p for p in four_acc.problems())
    two_bags = Outfit((TOP, item("g1", "bags"), item("g2", "bags")))
    assert "2 bags (at most one)" in two_bags.problems()
    necklace_and_bracelet = Outfit((TOP, item("n1", "jewellery", "necklace"),
                                    item("n2", "jewellery", "bracelet")))
    assert necklace_and_bracelet.wearable
    two_necklaces = Outfit((TOP, item("n1", "jewellery", "pearl necklace"),
                            item("n2", "jewellery", "pearl necklace")))
    assert "2 pearl necklace (at most one)" in two_necklaces.problems()


def test_open_slots_follow_the_grammar():
    assert Outfit(()).open_slots() == SLOTS
    assert set(Outfit((DRESS,)).open_slots()) == {"outer", "shoes", "accessory"}
    assert set(Outfit((TOP,)).open_slots()) == {"outer", "lower", "shoes", "accessory"}
    assert set(Outfit((COAT,)).open_slots()) == {"upper", "lower", "full", "shoes", "accessory"}
    full = Outfit((TOP, BOTTOM, SHOE, *(item(f"j{i}", "jewellery", f"jewel-{i}") for i in range(3))))
    assert set(full.open_slots()) == {"outer"}
    assert Outfit((DRESS, BOTTOM)).open_slots() == ()
    assert Outfit((TOP,)).can_add(BOTTOM) and not Outfit((TOP,)).can_add(DRESS)
    assert not Outfit((TOP,)).can_add(TOP)


def test_outfit_identity_and_edits():
    o = Outfit((TOP, BOTTOM, SHOE), id="42")
    assert o.key == Outfit((SHOE, TOP, BOTTOM)).key
    assert "t" in o and TOP in o and "x" not in o
    swapped = o.replace("t", item("t9", "tops"))
    assert swapped.item_ids == ("t9", "b", "s")
    assert o.without("s").item_ids == ("t", "b")
    with pytest.raises(ItemNotFoundError, match="'zz'"):
        o.without("zz")
    with pytest.raises(DuplicateItemError, match="twice"):
        Outfit((TOP, TOP))


def test_closet_lookup_grouping_and_errors():
    closet = Closet.of([TOP, BOTTOM, DRESS, COAT, SHOE], name="mine")
    assert len(closet) == 5 and "d" in closet
    groups = closet.by_slot()
    assert list(groups) == list(SLOTS) and groups["accessory"] == () and groups["full"] == (DRESS,)
    assert closet.without(["d"]).in_slot("full") == ()
    assert closet.outfit(["t", "b", "s"]).complete
    with pytest.raises(GrammarError):
        closet.outfit(["t", "d"])
    with pytest.raises(ItemNotFoundError, match="'nope' is not in closet 'mine'"):
        closet.get("nope")
    with pytest.raises(DuplicateItemError, match="duplicate item id"):
        Closet.of([TOP, TOP])
