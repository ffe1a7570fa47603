"""The shipped real-photo tagger: categories, slots, patterns and colours of real photos."""

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grader.photo_tags import describe_images, describe_photos
from grader.pretrained import SHIPPED_TAGGER, shipped_tagger
from outfit.vocab import CATEGORY_SLOT
from usecases.tag_photos import semantic_category_of

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo_closet"
LABELS = ROOT / "data" / "labels" / "clothing_small_colors_patterns.csv"


def _slot(category: str) -> str:
    return CATEGORY_SLOT[semantic_category_of(category)]


def test_the_shipped_tagger_is_small_and_documented():
    assert (SHIPPED_TAGGER / "tagger.pt").stat().st_size < 8_000_000
    card = (SHIPPED_TAGGER / "MODEL_CARD.md").read_text()
    assert "outfit train-tagger" in card and "clothing-small" in card
    tagger = shipped_tagger()
    assert tagger.backbone_name == "efficientnet-lite0" and tagger.frozen > 0
    assert set(tagger.pattern_classes) == {"solid", "stripes", "checks", "dots", "floral", "print"}
    assert shipped_tagger() is tagger  # loaded once


@pytest.mark.slow
def test_every_shipped_demo_photo_lands_in_its_slot():
    """The 80 demo photos are clothing-small test photos the tagger never trained on."""
    with (DEMO / "categories.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    described = describe_photos([DEMO / "photos" / r["file"] for r in rows])
    wrong = [(r["file"], r["category"], d.category) for r, d in zip(rows, described, strict=True)
             if _slot(d.category) != _slot(r["category"])]
    # Measured: 78 of 80. The two misses: a knitted beanie on a white sheet tagged "dress"
    # (0.81) and a pale cropped jacket tagged "long-sleeve top" (outer layer as a top).
    assert len(wrong) <= 2, wrong
    right = sum(d.category == semantic_category_of(r["category"]) or
                _norm(d.category) == _norm(r["category"]) for r, d in zip(rows, described, strict=True))
    assert right / len(rows) >= 0.85  # measured 71 of 80 (the whole test split: 93.3 %)


def _norm(category: str) -> str:
    from data.folder import category_for

    return category_for(category)[0]


def test_colour_comes_from_the_garment_on_a_busy_background():
    """A red T on a blue-grey quilt and a navy one on white: the colours of the garments."""
    from tests.grader.test_mask import _scene

    red, _ = _scene("bed", garment=(190, 25, 35))
    navy, _ = _scene("white", garment=(25, 30, 80))
    a, b = describe_images([red, navy])
    assert a.color == "red" and b.color == "navy"
    assert a.mask.mean() < 0.6 and a.secondary_color is None


@pytest.mark.slow
@pytest.mark.shared_data
def test_real_photos_of_clothing_small_test(shared_data):
    """Category >= 90 % on the whole test split; the six kinds of the first-use report (a shirt,
    trousers, shoes, a skirt, a coat, a t-shirt: the first photo of each class by name) land in
    the right slot; pattern beats always saying 'solid' on the hand labels."""
    root = shared_data / "clothing-small"
    photos = sorted((root / "test").glob("*/*.jpg"))
    described = describe_photos(photos)
    right = [_norm(d.category) == _norm(p.parent.name) for p, d in zip(photos, described, strict=True)]
    assert np.mean(right) >= 0.90
    first = {c: sorted((root / "test" / c).glob("*.jpg"))[0]
             for c in ("shirt", "pants", "shoes", "skirt", "outwear", "t-shirt")}
    for c, d in zip(first, describe_photos(list(first.values())), strict=True):
        assert _slot(d.category) == _slot(c), (c, d.category)
    with LABELS.open(newline="") as fh:
        labels = {r["file"]: r for r in csv.DictReader(fh) if r["file"].startswith("test/")}
    by_file = {str(p.relative_to(root)): d for p, d in zip(photos, described, strict=True)}
    pattern = np.mean([by_file[f].pattern == r["pattern"] for f, r in labels.items()])
    solid = np.mean([r["pattern"] == "solid" for r in labels.values()])
    assert pattern >= solid + 0.08
    colour = np.mean([by_file[f].color == r["main_color"] for f, r in labels.items()])
    assert colour >= 0.5  # well above the whole photo's colour (about 0.22); see bench/colors.py


def test_a_photo_without_any_garment_colour_still_gets_one():
    grey = Image.new("RGB", (64, 64), (128, 128, 128))
    (d,) = describe_images([grey])
    assert d.color == "grey" and d.mask.all()
