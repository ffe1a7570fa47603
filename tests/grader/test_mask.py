"""Garment masks: GrabCut seeded from the border finds a garment on white, on a patterned bed
and on a wooden floor; degenerate photos fall back to every pixel."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from grader.color import garment_color_names, main_and_secondary
from grader.mask import cutout, garment_mask, mask_from_png, mask_to_png


def _scene(background: str, garment=(200, 30, 40), size=(180, 220), seed=0):
    """A T-shaped garment on a background; returns the photo and the true garment mask."""
    rng = np.random.default_rng(seed)
    w, h = size
    if background == "white":
        bg = np.full((h, w, 3), 245, np.uint8)
    elif background == "bed":  # a grey-blue quilt with a diamond pattern and noise
        yy, xx = np.mgrid[:h, :w]
        quilt = ((xx + yy) // 14 + (xx - yy) // 14) % 2
        bg = np.stack([150 + 25 * quilt, 160 + 25 * quilt, 185 + 20 * quilt], -1).astype(np.int16)
        bg = np.clip(bg + rng.integers(-12, 13, bg.shape), 0, 255).astype(np.uint8)
    else:  # floor: brown planks with grain
        yy, xx = np.mgrid[:h, :w]
        planks = (xx // 30) % 3
        bg = np.stack([120 + 15 * planks, 85 + 10 * planks, 55 + 5 * planks], -1).astype(np.int16)
        bg = np.clip(bg + rng.integers(-10, 11, bg.shape) + (np.sin(yy / 3.0) * 6)[..., None],
                     0, 255).astype(np.uint8)
    truth = Image.new("L", size, 0)
    d = ImageDraw.Draw(truth)
    d.rectangle([30, 40, 150, 80], fill=255)  # sleeves
    d.rectangle([60, 40, 120, 190], fill=255)  # body
    m = np.asarray(truth) > 0
    photo = bg.copy()
    shade = np.clip(np.asarray(garment)[None, None] * (0.85 + 0.15 * rng.random((h, w, 1))), 0, 255)
    photo[m] = shade[m].astype(np.uint8)
    return Image.fromarray(photo), m


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


@pytest.mark.parametrize("background", ["white", "bed", "floor"])
def test_mask_finds_the_garment(background):
    photo, truth = _scene(background)
    mask = garment_mask(photo)
    assert mask.shape == truth.shape
    assert _iou(mask, truth) >= 0.85


def test_mask_is_the_same_for_the_same_photo():
    photo, _ = _scene("bed", seed=3)
    assert np.array_equal(garment_mask(photo), garment_mask(photo))


def test_a_photo_filled_by_cloth_counts_every_pixel():
    swatch = Image.new("RGB", (120, 120), (30, 60, 150))
    assert garment_mask(swatch).all()


def test_colour_is_read_from_the_garment_not_the_floor():
    photo, _ = _scene("floor", garment=(30, 110, 50))
    mask = garment_mask(photo)
    rgb = np.asarray(photo, dtype=np.float32) / 255
    import torch

    x = torch.from_numpy(rgb).permute(2, 0, 1)
    (with_mask, _), _ = main_and_secondary(garment_color_names(x, torch.from_numpy(mask)))
    whole = garment_color_names(x, torch.zeros(mask.shape, dtype=torch.bool) | True)
    assert with_mask == "green"
    (without, _), _ = main_and_secondary(whole)
    assert without != "green"  # the floor is most of the photo: what a mask is for


def test_png_round_trip_and_cutout():
    photo, truth = _scene("white")
    png = mask_to_png(truth)
    assert len(png) < 4000
    back = mask_from_png(png)
    assert np.array_equal(back, truth)
    half = mask_from_png(png, (90, 110))
    assert half.shape == (110, 90)
    rgba = cutout(photo, truth)
    alpha = np.asarray(rgba)[..., 3]
    assert rgba.mode == "RGBA" and np.array_equal(alpha > 0, truth)
