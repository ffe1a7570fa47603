"""Silhouettes of shoes (side view, toe to the right) and accessories.

Same contract as :mod:`.garments`: ``draw_<kind>(pen, style, rng)`` records one item. Shoes are
told apart by what a shopper looks at: shaft height (boots), heel (heels), open straps over a
footbed (sandals), laces and a thick white sole (sneakers), a low slip-on line (loafers).
"""

from __future__ import annotations

import math
import random

from .pen import Pen

__all__ = ["ACCESSORIES"]


def draw_sneakers(pen: Pen, style: str, rng: random.Random) -> None:
    top = rng.uniform(0.36, 0.4)
    pen.under([(0.1, 0.65), (0.88, 0.65), (0.935, 0.69), (0.91, 0.76), (0.12, 0.76),
               (0.08, 0.71)], "sole")
    pen.body([(0.11, 0.67), (0.115, top + 0.07), (0.17, top), (0.3, top + 0.02), (0.4, top + 0.08),
              (0.46, top - 0.02), (0.53, top - 0.01), (0.58, top + 0.08), (0.78, top + 0.17),
              (0.88, top + 0.22), (0.915, 0.67)])
    pen.over_ellipse(0.165, top - 0.005, 0.37, top + 0.06, "deep")
    for k in range(4):
        x, y = 0.5 + 0.065 * k, top + 0.06 + 0.04 * k
        pen.line([(x - 0.02, y - 0.02), (x + 0.035, y + 0.03)], 0.012, "lace")
        pen.line([(x - 0.02, y + 0.03), (x + 0.035, y - 0.02)], 0.012, "lace")
    pen.line([(0.2, 0.62), (0.34, 0.52), (0.5, 0.6)], 0.022, "accent")
    pen.arc((0.74, 0.52, 0.98, 0.8), 180, 250, 0.006)
    pen.line([(0.1, 0.7), (0.92, 0.7)], 0.005, "deep")


def draw_boots(pen: Pen, style: str, rng: random.Random) -> None:
    tall = style.startswith("tall")
    shaft = rng.uniform(0.05, 0.09) if tall else rng.uniform(0.26, 0.3)
    pen.under([(0.1, 0.79), (0.89, 0.79), (0.925, 0.855), (0.1, 0.855)], "black")
    pen.under([(0.1, 0.84), (0.27, 0.84), (0.26, 0.9), (0.11, 0.9)], "black")
    pen.body([(0.12, 0.8), (0.14, shaft), (0.41, shaft), (0.43, 0.57), (0.62, 0.63), (0.8, 0.68),
              (0.9, 0.74), (0.91, 0.8)])
    if tall:
        pen.line([(0.14, shaft + 0.05), (0.41, shaft + 0.05)], 0.007)
        y = shaft + 0.1
        while y < 0.58:
            pen.line([(0.37, y), (0.43, y + 0.03)], 0.01, "lace")
            pen.line([(0.37, y + 0.03), (0.43, y)], 0.01, "lace")
            y += 0.06
        for k in range(8):
            x = 0.12 + k * 0.1
            pen.line([(x, 0.86), (x + 0.05, 0.83)], 0.008, "deep")
    else:
        pen.over([(0.26, shaft + 0.01), (0.35, shaft + 0.01), (0.34, 0.5), (0.3, 0.56),
                  (0.26, 0.5)], "deep")
        pen.over([(0.125, shaft - 0.06), (0.17, shaft - 0.06), (0.17, shaft + 0.01),
                  (0.125, shaft + 0.01)], "dark")
    pen.arc((0.7, 0.6, 1.0, 0.9), 185, 245, 0.006)


def draw_heels(pen: Pen, style: str, rng: random.Random) -> None:
    heel_bottom = rng.uniform(0.84, 0.88)
    pen.body([(0.16, 0.5), (0.22, 0.52), (0.215, heel_bottom), (0.19, heel_bottom)])
    if style == "pumps":
        pen.body([(0.14, 0.52), (0.155, 0.38), (0.3, 0.45), (0.47, 0.55), (0.68, 0.6),
                  (0.86, 0.66), (0.93, 0.72), (0.85, 0.75), (0.62, 0.745), (0.42, 0.66),
                  (0.27, 0.565), (0.17, 0.545)])
        pen.over([(0.165, 0.395), (0.3, 0.455), (0.465, 0.553), (0.3, 0.51), (0.175, 0.48)],
                 "deep", None)
    else:
        pen.body([(0.14, 0.5), (0.28, 0.55), (0.42, 0.645), (0.62, 0.72), (0.9, 0.725),
                  (0.93, 0.755), (0.62, 0.765), (0.42, 0.685), (0.26, 0.59), (0.15, 0.545)])
        pen.body([(0.14, 0.52), (0.15, 0.42), (0.25, 0.45), (0.25, 0.56)])
        pen.body_line([(0.14, 0.41), (0.35, 0.37)], 0.032)
        pen.body_line([(0.33, 0.38), (0.47, 0.655)], 0.026)
        pen.body([(0.6, 0.73), (0.67, 0.62), (0.8, 0.615), (0.9, 0.725)])
        pen.line([(0.26, 0.39), (0.26, 0.39)], 0.02, "metal")
    pen.line([(0.62, 0.75), (0.9, 0.74)], 0.006, "deep")


def draw_sandals(pen: Pen, style: str, rng: random.Random) -> None:
    """Seen from above: a footbed with straps across it."""
    w = rng.uniform(0.0, 0.02)
    pen.under_ellipse(0.33 - w, 0.08, 0.67 + w, 0.42, "footbed")
    pen.under_ellipse(0.37, 0.64, 0.63, 0.94, "footbed")
    pen.under([(0.35, 0.3), (0.65, 0.3), (0.63, 0.8), (0.37, 0.8)], "footbed")
    pen.under_ellipse(0.37, 0.13, 0.63, 0.89, "footbed-in")
    pen.body_line([(0.31, 0.2), (0.69, 0.4)], 0.075)
    pen.body_line([(0.69, 0.2), (0.31, 0.4)], 0.075)
    pen.body_line([(0.33, 0.62), (0.67, 0.62)], 0.06)
    pen.body_arc((0.33, 0.5, 0.67, 0.98), 200, 340, 0.05)


def draw_loafers(pen: Pen, style: str, rng: random.Random) -> None:
    top = rng.uniform(0.51, 0.54)
    pen.under([(0.1, 0.7), (0.9, 0.7), (0.935, 0.745), (0.1, 0.745)], "deep")
    pen.under([(0.1, 0.72), (0.24, 0.72), (0.235, 0.79), (0.11, 0.79)], "deep")
    pen.body([(0.11, 0.715), (0.115, top + 0.03), (0.14, top), (0.25, top + 0.035),
              (0.36, top + 0.05), (0.45, top - 0.005), (0.6, top + 0.015), (0.76, top + 0.055),
              (0.88, top + 0.1), (0.935, top + 0.15), (0.93, 0.71)])
    pen.over([(0.145, top + 0.008), (0.25, top + 0.04), (0.36, top + 0.055), (0.44, top + 0.01),
              (0.37, top + 0.075), (0.25, top + 0.065), (0.15, top + 0.035)], "deep", None)
    pen.line([(0.45, top + 0.03), (0.63, top + 0.06)], 0.024, "dark")
    pen.line([(0.52, top + 0.04), (0.57, top + 0.05)], 0.009, "deep")
    pen.arc((0.62, top + 0.02, 1.0, top + 0.3), 190, 250, 0.006)


def draw_bag(pen: Pen, style: str, rng: random.Random) -> None:
    if style.startswith("tote"):
        top = rng.uniform(0.36, 0.4)
        pen.body([(0.24, top), (0.76, top), (0.82, 0.88), (0.18, 0.88)])
        pen.body_arc((0.3, 0.1, 0.7, top + 0.24), 180, 360, 0.035)
        pen.body_arc((0.36, 0.15, 0.64, top + 0.24), 180, 360, 0.03)
        pen.line([(0.245, top + 0.05), (0.755, top + 0.05)], 0.006)
    elif style == "handbag":
        top = rng.uniform(0.38, 0.42)
        pen.body([(0.26, top), (0.74, top), (0.83, 0.84), (0.17, 0.84)])
        pen.body_arc((0.34, 0.14, 0.66, top + 0.2), 180, 360, 0.04)
        pen.over([(0.26, top), (0.74, top), (0.765, top + 0.17), (0.5, top + 0.23),
                  (0.235, top + 0.17)], "base")
        pen.dot(0.5, top + 0.21, 0.022, "metal")
    else:  # clutch
        pen.body([(0.15, 0.44), (0.85, 0.44), (0.85, 0.74), (0.15, 0.74)])
        pen.over([(0.15, 0.44), (0.85, 0.44), (0.5, 0.63)], "base")
        pen.dot(0.5, 0.61, 0.02, "metal")


def draw_hat(pen: Pen, style: str, rng: random.Random) -> None:
    if style == "sun hat":
        pen.body_ellipse(0.03, 0.5, 0.97, 0.77)
        pen.body_ellipse(0.28, 0.24, 0.72, 0.68)
        pen.arc((0.2, 0.55, 0.8, 0.72), 20, 160, 0.005)
        pen.over([(0.285, 0.5), (0.715, 0.5), (0.72, 0.57), (0.28, 0.57)], "ribbon")
    elif style == "beanie":
        pen.body_ellipse(0.24, 0.18, 0.76, 0.88)
        pen.body([(0.24, 0.53), (0.76, 0.53), (0.76, 0.8), (0.24, 0.8)])
        pen.cut([(0.0, 0.8), (1.0, 0.8), (1.0, 1.0), (0.0, 1.0)])
        pen.over([(0.235, 0.6), (0.765, 0.6), (0.765, 0.8), (0.235, 0.8)], "base")
        for k in range(1, 14):
            x = 0.235 + k * 0.038
            pen.line([(x, 0.61), (x, 0.79)], 0.004)
        pen.body_ellipse(0.41, 0.06, 0.59, 0.24)
    else:  # fedora
        pen.body_ellipse(0.1, 0.58, 0.9, 0.77)
        pen.body([(0.3, 0.65), (0.33, 0.3), (0.42, 0.25), (0.5, 0.3), (0.58, 0.25), (0.67, 0.3),
                  (0.7, 0.65)])
        pen.over([(0.303, 0.54), (0.697, 0.54), (0.7, 0.63), (0.3, 0.63)], "ribbon")
        pen.line([(0.5, 0.31), (0.5, 0.45)], 0.006)


def draw_scarf(pen: Pen, style: str, rng: random.Random) -> None:
    if style.startswith("knit"):
        pen.body_arc((0.34, 0.04, 0.66, 0.36), 170, 370, 0.1)
        pen.body([(0.34, 0.18), (0.47, 0.18), (0.49, 0.86), (0.36, 0.86)])
        pen.body([(0.53, 0.24), (0.66, 0.2), (0.64, 0.92), (0.51, 0.92)])
        for k in range(7):
            pen.body_line([(0.365 + k * 0.02, 0.85), (0.365 + k * 0.02, 0.93)], 0.008)
            pen.body_line([(0.515 + k * 0.02, 0.91), (0.515 + k * 0.02, 0.98)], 0.008)
        pen.line([(0.36, 0.82), (0.49, 0.82)], 0.006)
        pen.line([(0.51, 0.88), (0.64, 0.88)], 0.006)
    else:
        pen.body([(0.5, 0.07), (0.93, 0.5), (0.5, 0.93), (0.07, 0.5)])
        pen.over([(0.5, 0.12), (0.88, 0.5), (0.5, 0.88), (0.12, 0.5)], None, "light", 0.006)
        pen.line([(0.3, 0.3), (0.7, 0.7)], 0.005)


def draw_necklace(pen: Pen, style: str, rng: random.Random) -> None:
    if style.startswith("pendant"):
        pen.under_arc((0.2, -0.34, 0.8, 0.58), 10, 170, 0.012, "metal")
        pen.over_ellipse(0.475, 0.54, 0.525, 0.6, None, "metal", 0.012)
        pen.body([(0.5, 0.58), (0.62, 0.7), (0.5, 0.92), (0.38, 0.7)])
        pen.line([(0.5, 0.6), (0.5, 0.9)], 0.006, "light")
        pen.line([(0.4, 0.7), (0.6, 0.7)], 0.006, "light")
        return
    pearl = style.startswith("pearl")
    r = 0.028 if pearl else 0.04
    n = 17 if pearl else 12
    pen.under_arc((0.2, -0.32, 0.8, 0.66), 10, 170, 0.006, "metal")
    for k in range(n):
        t = math.radians(15 + 150 * k / (n - 1))
        x, y = 0.5 + 0.3 * math.cos(t), 0.17 + 0.49 * math.sin(t)
        pen.body_ellipse(x - r, y - r, x + r, y + r)
        if pearl:
            pen.over_ellipse(x - r * 0.5, y - r * 0.6, x - r * 0.05, y - r * 0.15, "light")


def draw_sunglasses(pen: Pen, style: str, rng: random.Random) -> None:
    if style == "aviators":
        lens = [(0.12, 0.4), (0.45, 0.4), (0.45, 0.52), (0.37, 0.66), (0.22, 0.67), (0.13, 0.56)]
        pen.body(lens, both=True)
        inner = [(0.14, 0.42), (0.43, 0.42), (0.43, 0.515), (0.36, 0.64), (0.23, 0.65),
                 (0.15, 0.55)]
        pen.over(inner, "tinted", None, both=True)
        pen.line([(0.45, 0.42), (0.55, 0.42)], 0.012, "metal")
    else:
        frame = [(0.1, 0.38), (0.47, 0.38), (0.46, 0.56), (0.41, 0.66), (0.16, 0.66), (0.11, 0.56)]
        pen.body(frame, both=True)
        inner = [(0.14, 0.425), (0.43, 0.425), (0.425, 0.55), (0.39, 0.615), (0.18, 0.615),
                 (0.145, 0.55)]
        pen.over(inner, "lens", None, both=True)
        pen.body_arc((0.43, 0.38, 0.57, 0.5), 180, 360, 0.03)
    pen.body_line([(0.11, 0.42), (0.03, 0.4)], 0.025, both=True)
    pen.line([(0.19, 0.46), (0.25, 0.44)], 0.01, "light", both=True)


def draw_belt(pen: Pen, style: str, rng: random.Random) -> None:
    pen.body([(0.06, 0.46), (0.86, 0.46), (0.95, 0.51), (0.86, 0.56), (0.06, 0.56)])
    pen.over([(0.1, 0.42), (0.21, 0.42), (0.21, 0.6), (0.1, 0.6)], None, "metal", 0.018)
    pen.line([(0.155, 0.51), (0.26, 0.51)], 0.012, "metal")
    pen.over([(0.25, 0.452), (0.28, 0.452), (0.28, 0.568), (0.25, 0.568)], "dark")
    for k in range(5):
        pen.dot(0.62 + 0.05 * k, 0.51, 0.009, "deep")
    pen.line([(0.06, 0.475), (0.86, 0.475)], 0.003, "stitch")
    pen.line([(0.06, 0.545), (0.86, 0.545)], 0.003, "stitch")


ACCESSORIES = {
    "sneakers": draw_sneakers,
    "boots": draw_boots,
    "heels": draw_heels,
    "sandals": draw_sandals,
    "loafers": draw_loafers,
    "bag": draw_bag,
    "hat": draw_hat,
    "scarf": draw_scarf,
    "necklace": draw_necklace,
    "sunglasses": draw_sunglasses,
    "belt": draw_belt,
}
