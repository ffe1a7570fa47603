"""A pen that records a garment drawing in unit coordinates, to be rendered later.

The drawing functions (:mod:`.garments`, :mod:`.accessories`) describe a garment in a unit box
(0..1, y down, centred on 0.5) as three kinds of strokes:

- ``body_*``: the cloth; the fabric (its colour and pattern) shows through these,
- ``under_*``: parts drawn before the cloth in a fixed tone (soles, footbeds, strings),
- ``over_*`` and ``line``/``arc``: details drawn on top (seams, buttons, collars, lenses),
- ``cut_*``: holes (a neckline) taken out of the silhouette.

Recording first and rendering later lets :mod:`.render` place, scale and mirror the garment
freely, and keeps the drawing code free of pixel arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Pen", "Op", "mirror"]

Point = tuple[float, float]
Tone = str | tuple[int, int, int]


def mirror(points: Sequence[Point]) -> list[Point]:
    """The points reflected about the vertical centre line x = 0.5."""
    return [(1.0 - x, y) for x, y in points]


@dataclass(frozen=True)
class Op:
    """One recorded stroke. ``layer`` is body, cut, under or over; ``shape`` is poly, ellipse,
    line or arc; ``args`` are unit coordinates (and angles for arcs)."""

    layer: str
    shape: str
    args: tuple
    tone: Tone | None = None
    outline: Tone | None = None
    width: float = 0.0
    in_silhouette: bool = True


@dataclass
class Pen:
    """Records the strokes of one drawing (see the module docstring)."""

    ops: list[Op] = field(default_factory=list)

    def _add(self, layer: str, shape: str, args: tuple, **kw) -> None:
        self.ops.append(Op(layer, shape, tuple(args), **kw))

    # cloth
    def body(self, points: Sequence[Point], *, both: bool = False) -> None:
        """A polygon of cloth; ``both`` adds its mirror image too (a left and right sleeve)."""
        self._add("body", "poly", (tuple(points),))
        if both:
            self._add("body", "poly", (tuple(mirror(points)),))

    def body_ellipse(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self._add("body", "ellipse", (x0, y0, x1, y1))

    def body_line(self, points: Sequence[Point], width: float, *, both: bool = False) -> None:
        self._add("body", "line", (tuple(points),), width=width)
        if both:
            self._add("body", "line", (tuple(mirror(points)),), width=width)

    def body_arc(self, box: tuple[float, float, float, float], start: float, end: float,
                 width: float) -> None:
        self._add("body", "arc", (box, start, end), width=width)

    # holes
    def cut(self, points: Sequence[Point]) -> None:
        self._add("cut", "poly", (tuple(points),))

    def cut_ellipse(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self._add("cut", "ellipse", (x0, y0, x1, y1))

    # fixed-tone parts beneath the cloth
    def under(self, points: Sequence[Point], tone: Tone) -> None:
        self._add("under", "poly", (tuple(points),), tone=tone)

    def under_ellipse(self, x0: float, y0: float, x1: float, y1: float, tone: Tone) -> None:
        self._add("under", "ellipse", (x0, y0, x1, y1), tone=tone)

    def under_arc(self, box: tuple[float, float, float, float], start: float, end: float,
                  width: float, tone: Tone) -> None:
        self._add("under", "arc", (box, start, end), tone=tone, width=width, in_silhouette=False)

    # details on top
    def over(self, points: Sequence[Point], tone: Tone | None, outline: Tone | None = "dark",
             width: float = 0.006, *, both: bool = False) -> None:
        self._add("over", "poly", (tuple(points),), tone=tone, outline=outline, width=width)
        if both:
            self._add("over", "poly", (tuple(mirror(points)),), tone=tone, outline=outline,
                      width=width)

    def over_ellipse(self, x0: float, y0: float, x1: float, y1: float, tone: Tone | None,
                     outline: Tone | None = None, width: float = 0.006) -> None:
        self._add("over", "ellipse", (x0, y0, x1, y1), tone=tone, outline=outline, width=width)

    def line(self, points: Sequence[Point], width: float = 0.006, tone: Tone = "dark", *,
             both: bool = False) -> None:
        self._add("over", "line", (tuple(points),), tone=tone, width=width)
        if both:
            self._add("over", "line", (tuple(mirror(points)),), tone=tone, width=width)

    def arc(self, box: tuple[float, float, float, float], start: float, end: float,
            width: float = 0.006, tone: Tone = "dark") -> None:
        self._add("over", "arc", (box, start, end), tone=tone, width=width)

    def dot(self, x: float, y: float, r: float, tone: Tone = "button") -> None:
        self.over_ellipse(x - r, y - r, x + r, y + r, tone, outline="dark", width=0.004)
