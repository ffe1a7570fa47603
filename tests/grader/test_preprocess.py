"""Photos into the fixed-size squares the item CNN reads."""

import numpy as np
from PIL import Image

from grader import preprocess
from grader.preprocess import Preprocessing, photo_to_array


def test_a_long_thin_photo_is_shrunk_before_it_is_padded(monkeypatch):
    made = []
    real_new = Image.new

    def spy(mode, size, *args, **kwargs):
        made.append(size)
        return real_new(mode, size, *args, **kwargs)

    monkeypatch.setattr(preprocess.Image, "new", spy)
    strip = real_new("RGB", (30_000, 3), (200, 30, 30))
    out = photo_to_array(strip, Preprocessing(32))
    assert out.shape == (3, 32, 32) and out.dtype == np.uint8
    # padding the 30,000 x 3 strip to its square first would allocate 2.7 GB
    assert made and max(max(s) for s in made) <= 2048
    assert (out[0, 16] > 150).any()  # the red strip is still there, across the middle


def test_ordinary_photos_are_padded_to_a_square_then_resized():
    photo = Image.new("RGB", (40, 20), (10, 200, 10))
    out = photo_to_array(photo, Preprocessing(20))
    assert out.shape == (3, 20, 20)
    assert tuple(out[:, 10, 10]) == (10, 200, 10)  # the photo in the middle
    assert tuple(out[:, 0, 10]) == tuple(Preprocessing(20).pad_color)  # padding above it
