"""The ``color`` feature group: a distribution over basic colour names, from foreground pixels.

No training: every pixel is converted to CIE Lab (D65) and assigned softly to a few Lab
prototypes per colour name (a softmax over negative Euclidean distances, i.e. CIE76 Delta E);
the per-pixel assignments are averaged over the item's foreground. The background is the
median colour of the image's border ring (plus the corners' colours where the ring agrees);
pixels close to it are left out. For speed, ``color_features`` samples at most ``WORK_SIZE``
pixels per side and reads the assignment from a lookup table over quantised sRGB (about
4,000 images/s at 128x128 on two CPU threads). Two more dimensions
give the foreground's mean lightness and mean saturation, so every dimension has a name an
explainer can say ("the red of the skirt lowers the score").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "COLOR_NAMES",
    "foreground_mask_lab",
    "soft_color_names",
    "COLOR_DIM",
    "COLOR_FEATURE_NAMES",
    "color_features",
    "foreground_mask",
    "dominant_color",
    "rgb_to_lab",
]

# Berlin & Kay's eleven basic colour terms, plus navy and beige (common in clothing).
COLOR_NAMES: tuple[str, ...] = (
    "black", "white", "grey", "red", "orange", "yellow", "green",
    "blue", "purple", "pink", "brown", "navy", "beige",
)
COLOR_DIM = len(COLOR_NAMES) + 2
COLOR_FEATURE_NAMES: tuple[str, ...] = COLOR_NAMES + ("lightness", "saturation")

# Vivid prototypes per name as 8-bit sRGB (the colours' textbook renderings).
_PROTOTYPES_RGB: dict[str, tuple[tuple[int, int, int], ...]] = {
    "black": ((0, 0, 0),),
    "white": ((255, 255, 255),),
    "grey": ((128, 128, 128),),
    "red": ((255, 0, 0), (205, 30, 35), (150, 20, 35)),
    "orange": ((255, 140, 0), (235, 110, 40), (250, 170, 90)),
    "yellow": ((255, 225, 0), (245, 230, 110), (220, 190, 40)),
    "green": ((0, 128, 0), (60, 170, 70), (30, 70, 40), (110, 120, 60), (150, 210, 140)),
    "blue": ((0, 0, 255), (40, 100, 210), (75, 110, 160), (130, 170, 220)),
    "purple": ((128, 0, 128), (120, 60, 180), (75, 40, 95), (170, 130, 200)),
    "pink": ((255, 105, 180), (255, 160, 195), (230, 185, 195), (215, 60, 130)),
    "brown": ((120, 70, 30), (85, 55, 40), (150, 105, 70), (60, 42, 32)),
    "navy": ((0, 0, 128), (25, 35, 75), (40, 50, 85)),
    "beige": ((225, 200, 160), (240, 230, 205), (195, 175, 140)),
}
# Achromatic and muted prototypes as (L*, C*, hue in degrees). Real photos under room light are
# far less saturated than sRGB primaries (a light-blue skirt measures C* ~ 9, a black jacket
# L* ~ 22), so every family also gets a low-chroma prototype; the black/grey/white ladder sets
# the lightness boundaries at about L* 28 and 85. Dark muted yellow (olive, khaki green, hue ~95)
# is green; dark muted orange (hue ~58) is brown.
_PROTOTYPES_LCH: dict[str, tuple[tuple[float, float, float], ...]] = {
    "black": ((12, 0, 0), (22, 0, 0)),
    "white": ((92, 0, 0),),
    "grey": ((34, 0, 0), (48, 0, 0), (62, 0, 0), (76, 0, 0)),
    "red": ((28, 22, 20), (40, 30, 30)),
    "orange": ((62, 35, 62),),
    "yellow": ((82, 35, 95), (68, 40, 85)),
    "green": ((40, 14, 135), (56, 14, 130), (30, 12, 95), (45, 16, 95)),
    "blue": ((45, 14, 265), (62, 14, 265)),
    "purple": ((35, 15, 320), (55, 15, 320)),
    "pink": ((62, 18, 10), (75, 14, 5)),
    "brown": ((28, 12, 55), (40, 16, 58), (50, 18, 60)),
    "navy": ((18, 14, 280), (25, 18, 285)),
    "beige": ((70, 12, 80), (82, 14, 85)),
}
_PROTO_NAME_INDEX = [
    COLOR_NAMES.index(n) for table in (_PROTOTYPES_RGB, _PROTOTYPES_LCH)
    for n, ps in table.items() for _ in ps
]

TEMPERATURE = 4.0
"""Softmax temperature in Delta E units: ``p(prototype) ~ exp(-distance / TEMPERATURE)``.
At 4, a pixel exactly on a prototype puts > 0.8 on that prototype's name."""

BACKGROUND_DELTA_E = 14.0
"""A pixel within this Lab distance of the border-median colour counts as background."""

CORNER_SUPPORT = 0.3
"""A corner patch's median colour is a second background colour (uneven floors, lit walls) only
where at least this fraction of the border ring lies within ``BACKGROUND_DELTA_E`` of it."""

MIN_FOREGROUND = 0.02
"""If less than this fraction of pixels is foreground, every pixel is used (plain swatch). Small:
a belt, a necklace or sunglasses photographed alone cover 3 to 8 % of the frame."""

CHROMA_SCALE = 134.0
"""Saturation = Lab chroma C* / CHROMA_SCALE, clipped to [0, 1]; 134 ~ the largest chroma in
the sRGB gamut (pure blue, C* = 133.8), so saturation 1 means as vivid as sRGB gets."""

WORK_SIZE = 48
"""``color_features`` samples every k-th pixel (nearest, no blending: a black-and-white stripe
stays black and white, not grey) so that at most this many remain per side; ``foreground_mask``
works at full resolution."""

LUT_LEVELS = 64
"""The name assignment is a lookup table over sRGB quantised to this many levels per channel
(64**3 x 13 floats = 14 MB, built once per device in ~0.15 s): a pixel moves at most 0.5/63
per channel, about 1 Delta E. Lightness and saturation use the exact Lab values."""

# sRGB (linear) -> XYZ, D65, and the D65 reference white (IEC 61966-2-1 / CIE).
_RGB_TO_XYZ = torch.tensor([
    [0.4124564, 0.3575761, 0.1804375],
    [0.2126729, 0.7151522, 0.0721750],
    [0.0193339, 0.1191920, 0.9503041],
])
_WHITE_D65 = torch.tensor([0.95047, 1.0, 1.08883])


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """Convert sRGB to CIE Lab (D65, 2-degree observer).

    ``rgb``: (..., 3) float sRGB in [0, 1] (gamma-encoded). Returns (..., 3): L* in [0, 100],
    a* and b* roughly in [-128, 127]. Vectorised; any leading shape.
    """
    rgb = rgb.float().clamp(0.0, 1.0)
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = (linear @ _RGB_TO_XYZ.T.to(rgb.device)) / _WHITE_D65.to(rgb.device)
    eps, kappa = 216.0 / 24389.0, 24389.0 / 27.0
    f = torch.where(xyz > eps, xyz.clamp_min(eps) ** (1.0 / 3.0), (kappa * xyz + 16.0) / 116.0)
    fx, fy, fz = f.unbind(-1)
    return torch.stack((116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)), dim=-1)


_table_cache: dict[str, torch.Tensor] = {}


def _prototypes_lab() -> tuple[torch.Tensor, torch.Tensor]:
    """(K, 3) prototype Lab colours and the (K, len(COLOR_NAMES)) one-hot name matrix."""
    rgb = torch.tensor([p for ps in _PROTOTYPES_RGB.values() for p in ps]) / 255.0
    lch = torch.tensor([p for ps in _PROTOTYPES_LCH.values() for p in ps], dtype=torch.float)
    hue = torch.deg2rad(lch[:, 2])
    muted = torch.stack([lch[:, 0], lch[:, 1] * hue.cos(), lch[:, 1] * hue.sin()], dim=1)
    onehot = F.one_hot(torch.tensor(_PROTO_NAME_INDEX), len(COLOR_NAMES)).float()
    return torch.cat([rgb_to_lab(rgb), muted]), onehot


def soft_color_names(lab: torch.Tensor) -> torch.Tensor:
    """(N, 3) Lab -> (N, len(COLOR_NAMES)): softmax over -distance/TEMPERATURE, summed per name."""
    protos, onehot = _prototypes_lab()
    return torch.softmax(torch.cdist(lab, protos) / -TEMPERATURE, dim=-1) @ onehot


def _name_table(device: torch.device) -> torch.Tensor:
    """(LUT_LEVELS**3, len(COLOR_NAMES)) name distribution of every quantised sRGB colour."""
    key = str(device)
    if key not in _table_cache:
        axis = torch.linspace(0.0, 1.0, LUT_LEVELS)
        grid = torch.cartesian_prod(axis, axis, axis)  # r-major, matching _quantised_index
        table = torch.cat([soft_color_names(rgb_to_lab(chunk)) for chunk in grid.split(65536)])
        _table_cache[key] = table.to(device)
    return _table_cache[key]


def _quantised_index(rgb: torch.Tensor) -> torch.Tensor:
    """(..., 3) sRGB in [0, 1] -> (...) long index into ``_name_table``."""
    q = (rgb.clamp(0.0, 1.0) * (LUT_LEVELS - 1)).round()
    return ((q[..., 0] * LUT_LEVELS + q[..., 1]) * LUT_LEVELS + q[..., 2]).long()


def _check(images: torch.Tensor) -> torch.Tensor:
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"expected float RGB in [0, 1], got {images.dtype} (divide by 255)")
    return images.float()


def foreground_mask_lab(lab: torch.Tensor) -> torch.Tensor:
    """``lab`` (B, H, W, 3) -> (B, H, W) bool foreground (see ``foreground_mask``)."""
    b, h, w, _ = lab.shape
    r = max(1, round(0.04 * min(h, w)))  # ring width in pixels
    ring = torch.cat([
        lab[:, :r].reshape(b, -1, 3), lab[:, -r:].reshape(b, -1, 3),
        lab[:, r:-r, :r].reshape(b, -1, 3), lab[:, r:-r, -r:].reshape(b, -1, 3),
    ], dim=1)
    c = max(1, round(0.12 * min(h, w)))  # corner patch side: for uneven floors and walls
    corners = torch.stack([
        lab[:, :c, :c].reshape(b, -1, 3), lab[:, :c, -c:].reshape(b, -1, 3),
        lab[:, -c:, :c].reshape(b, -1, 3), lab[:, -c:, -c:].reshape(b, -1, 3),
    ], dim=1)  # (B, 4, c*c, 3)
    background = torch.cat([ring.median(dim=1).values[:, None], corners.median(dim=2).values], 1)
    # A corner colour counts only if much of the ring shares it (an item in a corner does not).
    support = (torch.cdist(ring, background) <= BACKGROUND_DELTA_E).float().mean(1)  # (B, 5)
    support[:, 0] = 1.0
    background = torch.where((support >= CORNER_SUPPORT)[..., None], background, background[:, :1])
    dist = torch.cdist(lab.reshape(b, -1, 3), background).amin(-1).reshape(b, h, w)
    mask = dist > BACKGROUND_DELTA_E
    tiny = mask.flatten(1).float().mean(1) < MIN_FOREGROUND
    return mask | tiny[:, None, None]


def foreground_mask(images: torch.Tensor) -> torch.Tensor:
    """Estimate each image's foreground from its border.

    ``images``: (B, 3, H, W) float RGB in [0, 1]. Returns (B, H, W) bool. The background colour
    is the per-channel median (in Lab) of a border ring about 4% of the shorter side wide, plus
    the median of each corner patch (12% of the side) that ``CORNER_SUPPORT`` of the ring agrees
    with; pixels within ``BACKGROUND_DELTA_E`` of any of these are background. Where fewer than
    ``MIN_FOREGROUND`` of the pixels remain (a plain swatch, a uniform image, an item filling the
    frame), every pixel counts as foreground.
    """
    images = _check(images)
    with torch.no_grad():
        return foreground_mask_lab(rgb_to_lab(images.permute(0, 2, 3, 1)))


def color_features(
    images: torch.Tensor, *, background: torch.Tensor | None = None
) -> torch.Tensor:
    """The ``color`` group for a batch of item photos.

    ``images``: (B, 3, H, W) float RGB in [0, 1]. ``background``: optional (B, H, W) bool mask
    of pixels to ignore (True = background, at the images' resolution); if None it is estimated
    as in ``foreground_mask`` (on the sampled pixels). Returns (B, COLOR_DIM) float, columns
    named by ``COLOR_FEATURE_NAMES``: a distribution over ``COLOR_NAMES`` (each row sums to 1),
    then lightness (mean L*/100 of the foreground, in [0, 1]) and saturation (mean chroma
    C*/``CHROMA_SCALE`` of the foreground, in [0, 1]). Pure torch, batched, no gradients.
    """
    images = _check(images)
    with torch.no_grad():
        b, _, h, w = images.shape
        step = -(-max(h, w) // WORK_SIZE)  # ceil: sample every step-th pixel
        rgb = images[:, :, step // 2 :: step, step // 2 :: step].permute(0, 2, 3, 1)
        lab = rgb_to_lab(rgb)  # (B, h', w', 3)
        if background is None:
            weights = foreground_mask_lab(lab).flatten(1).float()  # (B, N)
        else:
            if background.shape != (b, h, w):
                raise ValueError(f"background must be (B, H, W) = {(b, h, w)}, "
                                 f"got {tuple(background.shape)}")
            keep = ~background.bool()[:, step // 2 :: step, step // 2 :: step]
            weights = keep.flatten(1).float()
            weights[weights.sum(1) == 0] = 1.0  # nothing kept: use every pixel
        weights = weights / weights.sum(1, keepdim=True)
        names = _name_table(images.device)[_quantised_index(rgb).flatten(1)]  # (B, N, names)
        dist = torch.bmm(weights[:, None, :], names)[:, 0]
        dist = dist / dist.sum(1, keepdim=True)
        pixels = lab.flatten(1, 2)  # (B, N, 3)
        lightness = (pixels[..., 0] / 100.0).clamp(0.0, 1.0)
        chroma = (pixels[..., 1:].norm(dim=-1) / CHROMA_SCALE).clamp(0.0, 1.0)
        extra = torch.stack([(weights * lightness).sum(1), (weights * chroma).sum(1)], dim=1)
        return torch.cat([dist, extra], dim=1)


def dominant_color(features_row: torch.Tensor) -> str:
    """Name of the most probable colour in one ``color`` row (COLOR_DIM,) or (len(COLOR_NAMES),)."""
    return COLOR_NAMES[int(torch.as_tensor(features_row)[: len(COLOR_NAMES)].argmax())]


WHITE_PATCH_PERCENTILE = 95.0
"""White balance for named colours: this percentile of the whole photo, per channel, is taken
as white (white-patch), within the limits :data:`MAX_GAIN` and :data:`MAX_TINT`. Real photos
under room light are dim and tinted (``bench/colors.py`` measures the effect on hand-labelled
clothing-small photos)."""

MAX_GAIN = 2.0
"""Largest brightness gain of the white balance."""

MAX_TINT = 1.15
"""Largest gain of one channel against the brightest one in the white balance."""

BALANCE_MAX_GARMENT = 0.9
"""Where the garment covers more than this share of the photo (a swatch, a close-up), there is
no background to take white from, and the colours are named as they are."""

SECONDARY_SHARE = 0.4
"""A second colour name is named only if it holds at least this share of the garment. Shares
mix shading with a real second colour (a navy garment's shadows read black), so the second
colour is named only where the garment is clearly two-coloured; on the hand-labelled train
photos lower thresholds named wrong second colours more often than right ones."""


def _white_point(rgb: torch.Tensor) -> torch.Tensor:
    """``(3,)``: each channel's :data:`WHITE_PATCH_PERCENTILE` over the photo ``(3, H, W)``
    (on at most about 20,000 pixels), the colour taken as white."""
    flat = rgb.reshape(3, -1)
    return torch.quantile(flat[:, :: max(1, flat.shape[1] // 20000)],
                          WHITE_PATCH_PERCENTILE / 100.0, dim=1)


def garment_color_names(rgb: torch.Tensor, garment: torch.Tensor | None = None) -> torch.Tensor:
    """The distribution over :data:`COLOR_NAMES` of a garment's pixels, white-balanced.

    ``rgb``: ``(3, H, W)`` float in [0, 1]; ``garment``: ``(H, W)`` bool, True on the garment
    (from :func:`grader.mask.garment_mask`), or None for the border test. Returns
    ``(len(COLOR_NAMES),)`` summing to 1. Only the garment's pixels are named; the whole photo
    sets the white balance (:data:`WHITE_PATCH_PERCENTILE`)."""
    white = _white_point(rgb).clamp_min(1e-3)
    # Brightness: lift the brightest ordinary pixels towards white, at most MAX_GAIN times.
    # Tint: even out the channels only as far as MAX_TINT, so that a photo with nothing
    # white in it (a garment on a wooden floor) is not recoloured as if the floor were white.
    gain = (1.0 / white.max()).clamp(1.0, MAX_GAIN)
    tint = (white.max() / white).clamp(1.0, MAX_TINT)
    if garment is not None and float(garment.float().mean()) > BALANCE_MAX_GARMENT:
        gain, tint = torch.ones(()), torch.ones(3)  # nothing but garment: no reference to trust
    balanced = (rgb * (gain * tint)[:, None, None]).clamp(0.0, 1.0)[None]
    background = None if garment is None else ~garment.bool()[None]
    return color_features(balanced, background=background)[0, : len(COLOR_NAMES)]


def main_and_secondary(dist: torch.Tensor) -> tuple[tuple[str, float], tuple[str, float] | None]:
    """((main name, share), (second name, share) or None) from a colour-name distribution;
    the second is named only with at least :data:`SECONDARY_SHARE` of the garment."""
    share, order = torch.as_tensor(dist).sort(descending=True)
    main = (COLOR_NAMES[int(order[0])], float(share[0]))
    second = ((COLOR_NAMES[int(order[1])], float(share[1]))
              if float(share[1]) >= SECONDARY_SHARE else None)
    return main, second


def _lab_stats(lab: torch.Tensor) -> list[torch.Tensor]:
    """Eight numbers about (N, 3) Lab pixels: L* at the 10th, 50th and 90th percentiles, median
    a* and b*, median chroma, and the chroma-weighted mean hue as a vector (cos, sin)."""
    if len(lab) == 0:
        return [torch.zeros(())] * 8
    L, a, b = lab.unbind(-1)
    chroma = (a ** 2 + b ** 2).sqrt()
    hue = torch.atan2(b, a)
    q = torch.quantile(L, torch.tensor([0.1, 0.5, 0.9]))
    return [q[0], q[1], q[2], a.median(), b.median(), chroma.median(),
            (chroma * hue.cos()).mean(), (chroma * hue.sin()).mean()]


GARMENT_FEATURE_DIM = 2 * COLOR_DIM + 16 + 3


def garment_color_features(rgb: torch.Tensor, garment: torch.Tensor) -> torch.Tensor:
    """What a learned colour namer reads of a garment: ``(GARMENT_FEATURE_DIM,)``.

    The ``color`` group of the garment's pixels as they are and white-balanced (2 x
    :data:`COLOR_DIM`), :func:`_lab_stats` of the garment's pixels as they are and balanced
    (16), and the median Lab colour of the rest of the photo (3: the light it was taken in).
    ``rgb``: ``(3, H, W)`` in [0, 1]; ``garment``: ``(H, W)`` bool."""
    garment = garment.bool()
    if not garment.any():
        garment = torch.ones_like(garment)
    balanced = (rgb / _white_point(rgb).clamp_min(0.2)[:, None, None]).clamp(0.0, 1.0)
    background = ~garment[None]
    raw = color_features(rgb[None], background=background)[0]
    bal = color_features(balanced[None], background=background)[0]
    pixels = rgb.permute(1, 2, 0)
    lab = rgb_to_lab(pixels[garment])
    lab_bal = rgb_to_lab(balanced.permute(1, 2, 0)[garment])
    rest = rgb_to_lab(pixels[~garment]) if (~garment).any() else lab
    stats = torch.stack([*_lab_stats(lab), *_lab_stats(lab_bal), *rest.median(0).values])
    return torch.cat([raw, bal, stats.float()])
