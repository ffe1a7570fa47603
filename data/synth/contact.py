"""A contact sheet: a grid of a world's photos with their kind, colour and pattern underneath.

For looking at a world (is a sneaker told from a boot, a striped shirt from a dotted one?) and
for the docs. Picks items round-robin over the kinds so that every kind shows up.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from outfit.errors import MissingFileError

__all__ = ["contact_sheet"]


def contact_sheet(root: str | Path, out_png: str | Path, n: int = 48, *, columns: int = 8,
                  cell: int = 128) -> Path:
    """Write a grid of ``n`` photos of the world at ``root`` to ``out_png``; returns its path."""
    root, out_png = Path(root), Path(out_png)
    meta_path = root / "polyvore_item_metadata.json"
    if not meta_path.is_file():
        raise MissingFileError(meta_path, "item metadata")
    meta = json.loads(meta_path.read_text())
    by_kind: dict[str, list[str]] = defaultdict(list)
    for item_id, rec in meta.items():
        by_kind[str(rec.get("kind") or rec.get("semantic_category"))].append(item_id)
    picked: list[str] = []
    queues = [list(v) for _, v in sorted(by_kind.items())]
    while len(picked) < n and any(queues):
        for q in queues:
            if q and len(picked) < n:
                picked.append(q.pop(0))
    rows = max(1, -(-len(picked) // columns))
    caption = 26
    sheet = Image.new("RGB", (columns * cell, rows * (cell + caption)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(11)
    for k, item_id in enumerate(picked):
        rec = meta[item_id]
        x, y = (k % columns) * cell, (k // columns) * (cell + caption)
        with Image.open(root / "images" / f"{item_id}.jpg") as im:
            sheet.paste(im.convert("RGB").resize((cell, cell)), (x, y))
        draw.text((x + 3, y + cell + 1), str(rec.get("style") or rec.get("kind", ""))[:21],
                  fill="black", font=font)
        draw.text((x + 3, y + cell + 13), f"{rec.get('color', '')} {rec.get('pattern', '')}",
                  fill=(90, 90, 90), font=font)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out_png)
    return out_png
