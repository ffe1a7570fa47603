"""Silhouettes of clothes (tops, outerwear, one-pieces, bottoms), laid flat and seen from the front.

Each ``draw_<kind>(pen, style, rng)`` records one garment on a :class:`~.pen.Pen`. The style
changes the silhouette where a real garment would (a crew or a V-neck, a tie on a formal shirt,
quilting on a puffer), which is how formality and season become visible. ``rng`` varies
proportions a little so that two items of one style are not the same drawing.
"""

from __future__ import annotations

import random

from .pen import Pen, Point, mirror

__all__ = ["CLOTHES"]


def _torso(pen: Pen, *, length: float, sleeve: str, chest: float = 0.2, hem: float = 0.2,
           neck: float = 0.09, top: float = 0.16, shoulder: float = 0.2) -> dict[str, Point]:
    """A top's body and sleeves (``sleeve``: none, short or long); returns the right-hand
    landmarks (cuff ends, armpit) for the details."""
    c = 0.5 + chest
    right: list[Point] = [(0.5 + neck, top)]
    marks: dict[str, Point] = {}
    if sleeve == "none":
        right += [(c - 0.035, top + 0.005), (c - 0.03, top + 0.09), (c, top + 0.17)]
        marks["armpit"] = (c, top + 0.17)
    elif sleeve == "short":
        out, inn = (c + 0.17, shoulder + 0.17), (c + 0.085, shoulder + 0.25)
        right += [(c + 0.02, shoulder), out, inn, (c, shoulder + 0.18)]
        marks.update(cuff_out=out, cuff_in=inn, armpit=(c, shoulder + 0.18))
    else:
        out, inn = (c + 0.19, shoulder + 0.62), (c + 0.09, shoulder + 0.63)
        right += [(c + 0.02, shoulder), (c + 0.14, shoulder + 0.3), out, inn,
                  (c + 0.055, shoulder + 0.33), (c, shoulder + 0.2)]
        marks.update(cuff_out=out, cuff_in=inn, armpit=(c, shoulder + 0.2))
    right.append((0.5 + hem, length))
    pen.body(right + mirror(right)[::-1])
    return marks


def _cuffs(pen: Pen, marks: dict[str, Point], depth: float = 0.04, ribs: int = 0) -> None:
    """A seam across each sleeve end, ``depth`` up the sleeve; ribbed with ``ribs`` lines."""
    if "cuff_out" not in marks:
        return
    (ox, oy), (ix, iy) = marks["cuff_out"], marks["cuff_in"]
    long = oy > 0.6
    dx, dy = (-0.006, -depth) if long else (-depth * 0.7, -depth * 0.6)
    pen.line([(ox + dx, oy + dy), (ix + dx * 0.5, iy + dy)], 0.006, both=True)
    for k in range(1, ribs + 1):
        f = k / (ribs + 1)
        x, y = ox + (ix - ox) * f, oy + (iy - oy) * f
        pen.line([(x + dx * 0.9, y + dy * 0.9), (x, y)], 0.004, both=True)


def _ribbed_hem(pen: Pen, y0: float, y1: float, half: float, step: float = 0.022) -> None:
    pen.line([(0.5 - half, y0), (0.5 + half, y0)], 0.006)
    x = 0.5 - half + step
    while x < 0.5 + half - step / 2:
        pen.line([(x, y0 + 0.008), (x, y1 - 0.006)], 0.004)
        x += step


def _crew_neck(pen: Pen, w: float = 0.1, top: float = 0.1, depth: float = 0.12) -> None:
    pen.cut_ellipse(0.5 - w, top, 0.5 + w, top + depth)
    pen.arc((0.5 - w - 0.012, top - 0.01, 0.5 + w + 0.012, top + depth + 0.022), 15, 165, 0.014)


def _v_neck(pen: Pen, w: float = 0.08, top: float = 0.155, bottom: float = 0.33) -> None:
    pen.cut([(0.5 - w, top - 0.01), (0.5 + w, top - 0.01), (0.5, bottom)])
    pen.line([(0.5 - w - 0.02, top), (0.5, bottom + 0.03), (0.5 + w + 0.02, top)], 0.013)


def _buttons(pen: Pen, x: float, ys: list[float], r: float = 0.012) -> None:
    for y in ys:
        pen.dot(x, y, r)


def _collar(pen: Pen, y: float = 0.15) -> None:
    pen.over([(0.43, y - 0.005), (0.57, y - 0.005), (0.5, y + 0.05)], "deep", None)
    leaf = [(0.5, y + 0.045), (0.575, y - 0.008), (0.615, y + 0.02), (0.555, y + 0.12)]
    pen.over(leaf, "base", both=True)


def _lapels(pen: Pen, top: float, bottom: float, wide: float = 0.0) -> None:
    pen.over([(0.43, top), (0.57, top), (0.5, bottom)], "inner", None)
    lapel = [(0.565, top - 0.005), (0.62 + wide, top + 0.04), (0.605 + wide, top + 0.13),
             (0.64 + wide, top + 0.15), (0.5, bottom)]
    pen.over(lapel, "base", both=True)


def draw_tee(pen: Pen, style: str, rng: random.Random) -> None:
    length = rng.uniform(0.84, 0.9)
    marks = _torso(pen, length=length, sleeve="long" if style.startswith("long") else "short",
                   chest=rng.uniform(0.18, 0.21), hem=0.19, neck=0.1, top=0.15)
    _crew_neck(pen, 0.09, 0.1, 0.11)
    _cuffs(pen, marks, 0.03)
    pen.line([(0.33, length - 0.03), (0.67, length - 0.03)], 0.005)


def draw_shirt(pen: Pen, style: str, rng: random.Random) -> None:
    length = rng.uniform(0.86, 0.92)
    short = style.startswith("short")
    marks = _torso(pen, length=length, sleeve="short" if short else "long", chest=0.19, hem=0.2,
                   neck=0.075, top=0.15)
    pen.line([(0.5, 0.2), (0.5, length)], 0.006)
    _buttons(pen, 0.5, [0.3 + 0.11 * k for k in range(int((length - 0.3) / 0.11) + 1)])
    _cuffs(pen, marks, 0.06 if not short else 0.035)
    if "tie" in style:
        pen.over([(0.485, 0.2), (0.515, 0.2), (0.54, 0.6), (0.5, 0.66), (0.46, 0.6)], "tie")
        pen.over([(0.475, 0.17), (0.525, 0.17), (0.515, 0.215), (0.485, 0.215)], "tie")
    elif not short:
        pen.over([(0.57, 0.33), (0.65, 0.33), (0.65, 0.43), (0.61, 0.45), (0.57, 0.43)], None)
    _collar(pen, 0.15)


def draw_sweater(pen: Pen, style: str, rng: random.Random) -> None:
    length = rng.uniform(0.82, 0.87)
    marks = _torso(pen, length=length, sleeve="long", chest=0.22, hem=0.2, neck=0.1, top=0.15)
    _ribbed_hem(pen, length - 0.07, length, 0.2)
    _cuffs(pen, marks, 0.06, ribs=3)
    if style.startswith("v"):
        _v_neck(pen)
    else:
        _crew_neck(pen, 0.095, 0.1, 0.12)


def draw_blazer(pen: Pen, style: str, rng: random.Random) -> None:
    length = rng.uniform(0.78, 0.84)
    marks = _torso(pen, length=length, sleeve="long", chest=0.2, hem=0.21, neck=0.075, top=0.15)
    double = style.startswith("double")
    # Double-breasted: wide lapels, an overlap edge off centre and two columns of large buttons, visible
    # in a thumbnail; single-breasted: a deep V and one small button.
    _lapels(pen, 0.15, 0.5 if not double else 0.42, wide=0.05 if double else 0.0)
    if double:
        pen.line([(0.6, 0.42), (0.6, length)], 0.01)
        for x in (0.43, 0.57):
            _buttons(pen, x, [0.5, 0.6, 0.7], 0.02)
    else:
        pen.line([(0.5, 0.5), (0.5, length)], 0.006)
        _buttons(pen, 0.5, [0.58], 0.012)
    pen.line([(0.31, 0.66), (0.42, 0.66)], 0.008, both=True)
    pen.line([(0.58, 0.36), (0.66, 0.35)], 0.007)
    _cuffs(pen, marks, 0.05)


def draw_jacket(pen: Pen, style: str, rng: random.Random) -> None:
    if style.startswith("puffer"):
        length = rng.uniform(0.76, 0.8)
        marks = _torso(pen, length=length, sleeve="long", chest=0.22, hem=0.22, neck=0.08,
                       top=0.14)
        y = 0.27
        while y < length - 0.03:
            pen.body_ellipse(0.26, y - 0.04, 0.3, y + 0.07)
            pen.body_ellipse(0.7, y - 0.04, 0.74, y + 0.07)
            pen.line([(0.29, y + 0.075), (0.71, y + 0.075)], 0.007)
            y += 0.11
        (ox, oy), (ix, iy) = marks["cuff_out"], marks["cuff_in"]
        for f in (0.3, 0.55, 0.8):
            ax, ay = 0.72 + (ox - 0.72) * f, 0.2 + (oy - 0.2) * f
            bx, by = 0.7 + (ix - 0.7) * f, 0.4 + (iy - 0.4) * f
            pen.line([(ax, ay), (bx, by)], 0.007, both=True)
        pen.over([(0.4, 0.1), (0.6, 0.1), (0.6, 0.19), (0.4, 0.19)], "base")
    else:
        length = rng.uniform(0.72, 0.76)
        marks = _torso(pen, length=length, sleeve="long", chest=0.22, hem=0.19, neck=0.08,
                       top=0.15)
        pen.over([(0.31, length - 0.07), (0.69, length - 0.07), (0.69, length), (0.31, length)],
                 "dark")
        _cuffs(pen, marks, 0.06, ribs=3)
        pen.arc((0.4, 0.06, 0.6, 0.24), 0, 180, 0.03, "dark")
        pen.line([(0.36, 0.45), (0.33, 0.58)], 0.009, both=True)
    pen.line([(0.5, 0.2), (0.5, length)], 0.009, "metal")
    pen.over([(0.49, 0.21), (0.51, 0.21), (0.512, 0.27), (0.488, 0.27)], "metal")


def draw_coat(pen: Pen, style: str, rng: random.Random) -> None:
    length = rng.uniform(0.93, 0.97)
    if style == "parka":
        pen.body_ellipse(0.35, 0.02, 0.65, 0.26)
    marks = _torso(pen, length=length, sleeve="long", chest=0.2, hem=0.25, neck=0.08, top=0.15)
    _cuffs(pen, marks, 0.05)
    if style == "parka":
        pen.over_ellipse(0.415, 0.07, 0.585, 0.23, "deep")
        pen.arc((0.395, 0.05, 0.605, 0.25), 0, 360, 0.03, "fur")
        pen.line([(0.5, 0.25), (0.5, length)], 0.009, "metal")
        for x in (0.33, 0.57):
            pen.over([(x, 0.6), (x + 0.1, 0.6), (x + 0.1, 0.72), (x, 0.72)], None)
        pen.line([(0.3, 0.5), (0.7, 0.5)], 0.005, "dark")
        return
    _lapels(pen, 0.15, 0.42, wide=0.03)
    if style == "overcoat":  # a contrasting collar and a full-length placket: the formal coat
        pen.over([(0.43, 0.13), (0.57, 0.13), (0.64, 0.2), (0.5, 0.3), (0.36, 0.2)], "deep")
        pen.over([(0.47, 0.42), (0.53, 0.42), (0.53, length), (0.47, length)], "deep")
    for x in (0.44, 0.56):
        _buttons(pen, x, [0.48, 0.58, 0.68] if style == "overcoat" else [0.46, 0.62], 0.014)
    pen.line([(0.56, 0.42), (0.56, length)], 0.006)
    if style.startswith("trench"):
        y = 0.53
        half = 0.2 + 0.05 * (y - 0.36) / (length - 0.36)
        pen.over([(0.5 - half, y), (0.5 + half, y), (0.5 + half, y + 0.045),
                  (0.5 - half, y + 0.045)], "dark")
        pen.over([(0.47, y - 0.01), (0.53, y - 0.01), (0.53, y + 0.055), (0.47, y + 0.055)],
                 None, "metal", 0.012)
        pen.line([(0.6, 0.17), (0.7, 0.2)], 0.012, both=True)
    else:
        pen.line([(0.31, 0.72), (0.42, 0.72)], 0.009, both=True)


def _skirt_part(pen: Pen, waist: float, half_top: float, hem_y: float, half_hem: float) -> None:
    pen.body([(0.5 - half_top, waist), (0.5 + half_top, waist), (0.5 + half_hem, hem_y),
              (0.5 - half_hem, hem_y)])


def draw_dress(pen: Pen, style: str, rng: random.Random) -> None:
    hem = rng.uniform(0.9, 0.95)
    if style == "sundress":
        pen.body_line([(0.43, 0.1), (0.43, 0.28)], 0.02, both=True)
        pen.body([(0.37, 0.26), (0.63, 0.26), (0.61, 0.45), (0.39, 0.45)])
        pen.body([(0.39, 0.44), (0.61, 0.44), (0.79, hem), (0.5, hem + 0.015), (0.21, hem)])
        pen.line([(0.39, 0.45), (0.61, 0.45)], 0.008)
        for x in (0.43, 0.5, 0.57):
            pen.line([(x, 0.46), (x + (x - 0.5) * 0.6, 0.58)], 0.004)
    elif style.startswith("sheath"):
        right = [(0.555, 0.12), (0.615, 0.125), (0.6, 0.2), (0.63, 0.28), (0.635, 0.33),
                 (0.6, 0.46), (0.65, 0.6), (0.63, hem)]
        pen.body(right + mirror(right)[::-1])
        pen.cut_ellipse(0.43, 0.07, 0.57, 0.21)
        pen.line([(0.5, hem), (0.5, hem - 0.09)], 0.006)
        pen.line([(0.45, 0.46), (0.455, 0.36)], 0.004, both=True)
    elif style.startswith("wrap"):
        _torso(pen, length=0.47, sleeve="short", chest=0.17, hem=0.15, neck=0.07, top=0.14)
        _skirt_part(pen, 0.45, 0.15, hem, 0.27)
        _v_neck(pen, 0.07, 0.14, 0.32)
        pen.over([(0.35, 0.44), (0.65, 0.44), (0.65, 0.485), (0.35, 0.485)], "dark")
        pen.over_ellipse(0.6, 0.43, 0.66, 0.5, "dark", "deep")
        pen.line([(0.62, 0.48), (0.6, 0.6)], 0.012, "dark")
        pen.line([(0.64, 0.48), (0.67, 0.59)], 0.012, "dark")
        pen.line([(0.5, 0.35), (0.62, 0.93)], 0.005)
    else:  # knit dress
        marks = _torso(pen, length=hem, sleeve="long", chest=0.19, hem=0.21, neck=0.09,
                       top=0.15)
        _crew_neck(pen, 0.085, 0.1, 0.11)
        _cuffs(pen, marks, 0.06, ribs=3)
        _ribbed_hem(pen, hem - 0.05, hem, 0.21)


def _legs(pen: Pen, *, waist: float, half: float, hem_y: float, outer: float, inner: float,
          crotch: float) -> None:
    right = [(0.5 + half, waist), (0.5 + half + 0.025, waist + 0.12), (0.5 + outer, hem_y),
             (0.5 + inner, hem_y)]
    pen.body([(0.5 - half, waist), *right, (0.5, crotch), *mirror(right[1:])[::-1]])


def _waistband(pen: Pen, waist: float, half: float, depth: float = 0.05, loops: bool = True) -> None:
    pen.line([(0.5 - half, waist + depth), (0.5 + half, waist + depth)], 0.006)
    if loops:
        for x in (0.36, 0.45):
            pen.line([(x, waist), (x, waist + depth + 0.01)], 0.008, both=True)


def draw_jumpsuit(pen: Pen, style: str, rng: random.Random) -> None:
    romper = style == "romper"
    _torso(pen, length=0.44, sleeve="short" if romper else "none", chest=0.13, hem=0.15,
           neck=0.06, top=0.1, shoulder=0.12)
    pen.cut_ellipse(0.44, 0.06, 0.56, 0.17)
    hem_y = 0.7 if romper else rng.uniform(0.93, 0.97)
    _legs(pen, waist=0.42, half=0.15, hem_y=hem_y, outer=0.2 if romper else 0.18,
          inner=0.03, crotch=0.6)
    pen.over([(0.35, 0.41), (0.65, 0.41), (0.65, 0.455), (0.35, 0.455)], "dark")
    pen.line([(0.5, 0.17), (0.5, 0.41)], 0.005)
    if not romper:
        pen.line([(0.59, 0.5), (0.6, hem_y)], 0.004, both=True)


def draw_skirt(pen: Pen, style: str, rng: random.Random) -> None:
    if style.startswith("mini"):
        w, hem_y = 0.15, rng.uniform(0.66, 0.7)
        _skirt_part(pen, 0.2, w, hem_y, 0.31)
        _waistband(pen, 0.2, w, 0.05, loops=False)
        pen.line([(0.56, 0.25), (0.59, 0.38)], 0.005)
        _buttons(pen, 0.5, [0.225], 0.012)
    elif style.startswith("pencil"):
        hem_y = rng.uniform(0.86, 0.9)
        right = [(0.65, 0.08), (0.685, 0.3), (0.665, hem_y)]
        pen.body(right + mirror(right)[::-1])
        _waistband(pen, 0.08, 0.15, 0.05, loops=False)
        pen.line([(0.5, hem_y), (0.5, hem_y - 0.12)], 0.006)
        pen.line([(0.44, 0.13), (0.445, 0.24)], 0.004, both=True)
    else:  # pleated: an accordion hem and folds rising from it
        hem_y = rng.uniform(0.84, 0.88)
        n = 12
        hem = [(0.19 + 0.62 * k / n, hem_y - (0.03 if k % 2 else 0.0)) for k in range(n + 1)]
        pen.body([(0.34, 0.1), (0.66, 0.1), *hem[::-1]])
        _waistband(pen, 0.1, 0.16, 0.05, loops=False)
        for x, y in hem[1:-1]:
            top = 0.5 + (x - 0.5) * 0.55
            pen.line([(x, y), (x + (top - x) * 0.45, y - 0.33)], 0.004)


def draw_jeans(pen: Pen, style: str, rng: random.Random) -> None:
    hem_y = rng.uniform(0.93, 0.96)
    _legs(pen, waist=0.05, half=0.17, hem_y=hem_y, outer=0.19, inner=0.035, crotch=0.37)
    _waistband(pen, 0.05, 0.17)
    pen.dot(0.5, 0.075, 0.012, "metal")
    pen.line([(0.53, 0.1), (0.53, 0.27), (0.505, 0.32)], 0.006, "stitch")
    pen.line([(0.345, 0.1), (0.36, 0.16), (0.42, 0.18)], 0.006, "stitch", both=True)
    pen.line([(0.315, hem_y - 0.03), (0.465, hem_y - 0.03)], 0.005, "stitch", both=True)


def draw_trousers(pen: Pen, style: str, rng: random.Random) -> None:
    # Told apart by their silhouette, so that the difference survives a 64-pixel thumbnail:
    # chinos are cropped, tapered and turned up; suit trousers are full length, straight and
    # pressed with a sharp crease.
    chinos = style == "chinos"
    hem_y = rng.uniform(0.84, 0.87) if chinos else rng.uniform(0.94, 0.97)
    outer, inner = (0.165, 0.045) if chinos else (0.205, 0.02)
    _legs(pen, waist=0.05, half=0.165, hem_y=hem_y, outer=outer, inner=inner, crotch=0.33)
    _waistband(pen, 0.05, 0.165)
    pen.line([(0.33, 0.1), (0.355, 0.2)], 0.006, both=True)
    if chinos:
        cuff = [(0.5 + inner, hem_y - 0.06), (0.5 + outer + 0.005, hem_y - 0.06),
                (0.5 + outer + 0.01, hem_y), (0.5 + inner, hem_y)]
        pen.over(cuff, "dark", both=True)
    else:
        pen.line([(0.61, 0.12), (0.61, hem_y)], 0.014, "dark", both=True)
    pen.dot(0.5, 0.075, 0.01, "button")


def draw_shorts(pen: Pen, style: str, rng: random.Random) -> None:
    hem_y = rng.uniform(0.7, 0.74)
    _legs(pen, waist=0.22, half=0.18, hem_y=hem_y, outer=0.26, inner=0.02, crotch=0.5)
    _waistband(pen, 0.22, 0.18)
    pen.line([(0.335, 0.27), (0.36, 0.34), (0.41, 0.35)], 0.006, both=True)
    pen.line([(0.255, hem_y - 0.04), (0.475, hem_y - 0.04)], 0.006, both=True)
    pen.dot(0.5, 0.245, 0.011, "button")


CLOTHES = {
    "tee": draw_tee,
    "shirt": draw_shirt,
    "sweater": draw_sweater,
    "blazer": draw_blazer,
    "jacket": draw_jacket,
    "coat": draw_coat,
    "dress": draw_dress,
    "jumpsuit": draw_jumpsuit,
    "skirt": draw_skirt,
    "jeans": draw_jeans,
    "trousers": draw_trousers,
    "shorts": draw_shorts,
}
