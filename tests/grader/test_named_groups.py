"""Reading photos through their tags, and the closet calibration of a model trained on drawings."""

import numpy as np
import pytest
import torch

from grader import load_model
from grader.closet_calibration import DEMO_PHOTOS, LABELS, _tagged_demo, closet_answers
from grader.named_groups import CATEGORY_STYLES
from outfit.domain import Item
from outfit.errors import ModelError


@pytest.fixture(scope="module")
def model(tiny_model):
    return load_model(tiny_model)


def _item(tiny_world, id_, category, semantic, **attrs):
    photo = next((tiny_world / "images").glob("*.jpg"))  # any photo: the tags decide
    return Item(id=id_, category=category, semantic_category=semantic, image=photo,
                attributes=attrs)


def test_a_model_trained_on_drawings_reads_a_closet_by_its_tags(model, tiny_photo_model):
    assert model.closet_reads == "tags" and model.named_groups is not None
    assert load_model(tiny_photo_model).closet_reads == "pixels"  # not told it saw drawings
    groups = model.named_groups
    assert {"denim", "red", "navy"} <= set(groups.color) and "stripes" in groups.pattern
    # every product category is mapped onto a fine category the world has
    assert set(CATEGORY_STYLES.values()) <= set(model.feature_net.shape_names)


def test_tags_become_the_typical_groups_of_the_training_items(model, tiny_world):
    groups, layout = model.named_groups, model.layout
    items = [_item(tiny_world, "jeans", "pants", "bottoms", color="blue", pattern="solid"),
             _item(tiny_world, "tee", "t-shirt", "tops", color="red", pattern="stripes"),
             _item(tiny_world, "bare", "kimono", "outerwear")]
    tags = model.item_table(items, reads="tags").feats
    pixels = model.item_table(items).feats
    rows = {it.id: k for k, it in enumerate(items)}

    def part(row, group):
        return tags[rows[row], layout.slice(group)]

    # blue trousers are denim, and trousers in denim are jeans
    assert torch.allclose(part("jeans", "color"), torch.tensor(groups.color["denim"]))
    assert torch.allclose(part("jeans", "shape"), torch.tensor(groups.shape["straight jeans"]))
    assert torch.allclose(part("tee", "color"), torch.tensor(groups.color["red"]))
    assert torch.allclose(part("tee", "pattern"), torch.tensor(groups.pattern["stripes"]))
    assert torch.allclose(part("tee", "style"), torch.tensor(groups.style["crew tee"]))
    # an untagged item of an unknown kind: colour and pattern from its photo, shape and style
    # typical of its semantic category
    k = rows["bare"]
    for group in ("color", "pattern"):
        assert torch.allclose(tags[k, layout.slice(group)], pixels[k, layout.slice(group)])
    assert torch.allclose(part("bare", "shape"),
                          torch.tensor(groups.semantic["outerwear"]["shape"]))
    # another colour tag, other features and another score
    recoloured = [items[0], _item(tiny_world, "tee", "t-shirt", "tops", color="green",
                                  pattern="stripes"), items[2]]
    again = model.item_table(recoloured, reads="tags").feats
    assert not torch.allclose(again[1], tags[1]) and torch.allclose(again[0], tags[0])


def test_reading_tags_is_refused_clearly(model, tiny_world):
    items = [_item(tiny_world, "a", "t-shirt", "tops", color="red")]
    with pytest.raises(ModelError, match="unknown way"):
        model.item_table(items, reads="words")
    model.named_groups, kept = None, model.named_groups
    try:
        with pytest.raises(ModelError, match="cannot read photos through their tags"):
            model.item_table(items, reads="tags")
        assert model.closet_reads == "pixels"
    finally:
        model.named_groups = kept


def test_the_closet_calibration_is_fitted_on_labelled_real_photos(tiny_model):
    model = load_model(tiny_model)
    cal = model.meta["closet_calibration"]
    assert cal["photos"] == 80 and cal["outfits"] > 1000 and 0 < cal["good_share"] < 1
    labelled, tagged = _tagged_demo(DEMO_PHOTOS, LABELS)
    ids, answers = closet_answers(list(labelled), list(tagged), cal["outfits"])
    logits = model.logits(model.item_table(list(tagged), reads="tags"), ids).astype(float)

    def log_loss(t, b):
        z = logits / t + b
        return float(np.mean(np.logaddexp(0.0, z) - answers * z))

    own = log_loss(model.grader.temperature, float(model.grader.bias))
    assert log_loss(cal["temperature"], cal["bias"]) <= own + 1e-9
    before = model.logits(model.item_table(list(tagged), reads="tags"), ids[:5])
    model.for_closet()
    assert model.grader.temperature == pytest.approx(cal["temperature"], rel=1e-5)
    assert float(model.grader.bias) == pytest.approx(cal["bias"], rel=1e-5, abs=1e-6)
    after = model.logits(model.item_table(list(tagged), reads="tags"), ids[:5])
    assert np.allclose(before, after)  # the explainer's logit points are unchanged
