"""The ``color`` feature group: names, background removal, Lab conversion, batching."""

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from grader.color import (
    COLOR_DIM,
    COLOR_FEATURE_NAMES,
    COLOR_NAMES,
    color_features,
    dominant_color,
    foreground_mask,
    rgb_to_lab,
)

N = len(COLOR_NAMES)
REPRESENTATIVE = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "grey": (128, 128, 128),
    "red": (220, 20, 30),
    "orange": (255, 140, 0),
    "yellow": (255, 230, 0),
    "green": (0, 128, 0),
    "blue": (0, 90, 255),
    "purple": (128, 0, 128),
    "pink": (255, 182, 193),
    "brown": (139, 69, 19),
    "navy": (0, 0, 128),
    "beige": (225, 200, 160),
}


def uniform(rgb, size=32) -> torch.Tensor:
    """(1, 3, size, size) image of one 8-bit colour."""
    return (torch.tensor(rgb, dtype=torch.float) / 255).view(1, 3, 1, 1).expand(1, 3, size, size)


def square_on(background, colour=(255, 0, 0), size=128) -> torch.Tensor:
    """(1, 3, size, size): a centred square of ``colour`` covering a quarter of the image."""
    img = uniform(background, size).clone()
    lo, hi = size // 4, 3 * size // 4
    img[:, :, lo:hi, lo:hi] = uniform(colour, hi - lo)
    return img


def shirt_on(background, colour=(200, 25, 35), size=128) -> torch.Tensor:
    """(1, 3, size, size) Pillow drawing of a T-shirt silhouette on a plain background."""
    im = Image.new("RGB", (size, size), background)
    s = size / 128
    outline = [(40, 20), (88, 20), (115, 45), (100, 58), (92, 50), (92, 110), (36, 110),
               (36, 50), (28, 58), (13, 45)]
    ImageDraw.Draw(im).polygon([(x * s, y * s) for x, y in outline], fill=colour)
    return torch.from_numpy(np.array(im)).permute(2, 0, 1)[None].float() / 255


def test_names_and_dimensions():
    assert len(COLOR_NAMES) == 13 == len(set(COLOR_NAMES))
    assert set(REPRESENTATIVE) == set(COLOR_NAMES)
    assert COLOR_DIM == 15 == len(COLOR_FEATURE_NAMES)
    assert COLOR_FEATURE_NAMES[-2:] == ("lightness", "saturation")


def test_red_square_on_white_is_red_and_white_is_ignored():
    f = color_features(square_on((255, 255, 255)))[0]
    assert f[COLOR_NAMES.index("red")] > 0.8
    assert f[COLOR_NAMES.index("white")] < 0.01
    assert dominant_color(f) == "red"


@pytest.mark.parametrize("name", COLOR_NAMES)
def test_each_name_wins_on_its_representative_colour(name):
    f = color_features(uniform(REPRESENTATIVE[name]))[0]
    assert dominant_color(f) == name, dict(zip(COLOR_NAMES, f.tolist(), strict=False))


def test_rows_are_distributions_and_extras_in_unit_range():
    torch.manual_seed(0)
    for images in (torch.rand(3, 3, 40, 56), torch.rand(2, 3, 300, 200),
                   torch.cat([shirt_on((240, 240, 240)), square_on((0, 0, 0), (0, 0, 255))])):
        f = color_features(images)
        assert f.shape == (len(images), COLOR_DIM)
        assert torch.allclose(f[:, :N].sum(1), torch.ones(len(images)), atol=1e-5)
        assert (f >= 0).all() and (f[:, N:] <= 1).all()


def test_lightness_and_saturation_order():
    black, white = color_features(torch.cat([uniform((0, 0, 0)), uniform((255, 255, 255))]))
    grey, red = color_features(torch.cat([uniform((128, 128, 128)), uniform((255, 0, 0))]))
    light, sat = COLOR_DIM - 2, COLOR_DIM - 1
    assert black[light] < 0.05 < 0.95 < white[light]
    assert grey[sat] < 0.02 < 0.5 < red[sat]


def test_background_colour_does_not_change_the_item_colour():
    on_white = color_features(shirt_on((255, 255, 255)))[0, :N]
    on_grey = color_features(shirt_on((205, 205, 205)))[0, :N]
    assert dominant_color(on_white) == dominant_color(on_grey) == "red"
    assert (on_white - on_grey).abs().max() < 0.03
    # Without background removal the grey would show: the mask is what keeps it out.
    everything = torch.zeros(1, 128, 128, dtype=torch.bool)
    unmasked = color_features(shirt_on((205, 205, 205)), background=everything)[0]
    red, grey = COLOR_NAMES.index("red"), COLOR_NAMES.index("grey")
    assert unmasked[grey] > 0.2 > 0.01 > on_grey[grey]
    assert unmasked[red] < on_grey[red] - 0.3


def test_foreground_mask_finds_the_square():
    mask = foreground_mask(square_on((230, 230, 230), (0, 0, 128)))[0]
    assert mask.shape == (128, 128) and mask.dtype == torch.bool
    assert mask[32:96, 32:96].all()
    assert not mask[:32].any() and not mask[:, 96:].any()


def test_two_tone_background_is_removed_but_an_item_in_a_corner_is_kept():
    wall_and_floor = uniform((210, 195, 170), 128).clone()  # beige wall over a grey floor
    wall_and_floor[:, :, 64:] = uniform((110, 110, 115), 128)[:, :, 64:]
    wall_and_floor[:, :, 40:88, 40:88] = uniform((0, 0, 255), 48)
    f = color_features(wall_and_floor)[0]
    assert f[COLOR_NAMES.index("blue")] > 0.8, dict(zip(COLOR_NAMES, f.tolist(), strict=False))
    in_corner = uniform((255, 255, 255), 128).clone()
    in_corner[:, :, :48, :48] = uniform((255, 0, 0), 48)  # touches the top-left corner
    assert foreground_mask(in_corner)[0, :48, :48].all()
    assert color_features(in_corner)[0, COLOR_NAMES.index("red")] > 0.8


def test_a_small_item_is_not_mistaken_for_its_background():
    # A belt or a necklace alone on a white ground covers a few percent of the photo; its
    # colour is the item's, not the background's.
    belt = uniform((250, 250, 250), 128).clone()
    belt[:, :, 60:68, 16:112] = uniform((30, 140, 60), 96)[:, :, :8]  # 4.7 % of the pixels
    mask = foreground_mask(belt)[0]
    assert mask[60:68, 16:112].all() and mask.float().mean() < 0.06
    assert dominant_color(color_features(belt)[0]) == "green"


def test_uniform_image_falls_back_to_all_pixels():
    img = uniform((0, 128, 0), 64)
    assert foreground_mask(img).all()
    f = color_features(img)[0]
    assert dominant_color(f) == "green" and f[COLOR_NAMES.index("green")] > 0.8


def test_explicit_background_mask_is_used():
    img = square_on((255, 255, 255), (0, 0, 255))  # blue square over rows/columns 32:96
    frame = torch.ones(1, 128, 128, dtype=torch.bool)
    frame[:, 24:104, 24:104] = False  # True on an outer frame that holds no blue
    assert dominant_color(color_features(img, background=~frame)[0]) == "white"  # frame only
    assert dominant_color(color_features(img, background=frame)[0]) == "blue"  # mostly square


def test_batch_equals_one_by_one():
    torch.manual_seed(1)
    images = torch.cat([shirt_on((250, 250, 245)), shirt_on((30, 30, 30), (240, 220, 60)),
                        square_on((200, 180, 150), (20, 30, 70)), torch.rand(1, 3, 128, 128)])
    batched = color_features(images)
    single = torch.cat([color_features(images[i : i + 1]) for i in range(len(images))])
    assert torch.allclose(batched, single, atol=1e-6)
    assert [dominant_color(r) for r in batched[:3]] == ["red", "yellow", "navy"]


def test_rgb_to_lab_matches_published_values():
    lab = rgb_to_lab(torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    expected = torch.tensor([[100.0, 0.0, 0.0], [53.24, 80.09, 67.20], [0.0, 0.0, 0.0]])
    assert torch.allclose(lab, expected, atol=0.02)
    assert rgb_to_lab(torch.rand(2, 5, 7, 3)).shape == (2, 5, 7, 3)


def test_rejects_wrong_input():
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        color_features(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="float"):
        color_features(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="background"):
        color_features(torch.rand(1, 3, 8, 8), background=torch.zeros(1, 4, 4, dtype=torch.bool))


@pytest.mark.shared_data
def test_real_photos_get_the_colour_a_person_sees(shared_data):
    """Three photos from clothing-small that were checked by eye (clear, single-colour items)."""
    cases = {
        "dress/bac70656-a50a-4a13-8c3f-63e3a0a28338.jpg": "green",
        "outwear/c830bb15-ad3b-406a-ab50-4d30e5b95a41.jpg": "black",
        "t-shirt/ce8d7054-ee06-4412-b5df-a610943e3e50.jpg": "pink",
    }
    images = []
    for rel in cases:
        with Image.open(shared_data / "clothing-small" / "test" / rel) as im:
            pixels = np.array(im.convert("RGB").resize((128, 128)))
        images.append(torch.from_numpy(pixels).permute(2, 0, 1).float() / 255)
    f = color_features(torch.stack(images))
    assert [dominant_color(row) for row in f] == list(cases.values())
