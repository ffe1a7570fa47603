"""The "Worn" page (the latest outfits worn with their photos and days, wear counts per item,
the items not worn for a while) and the two POST forms that the recommend page, the builder
and the item page use without JavaScript: "Wore this today" and thumbs up or down.

Forms carry the CSRF token (Flask-WTF checks it), flash what happened and redirect, so a reload
never logs a wear twice. They return to the page they came from when ``next`` is a path of
this site (``/recommend?...``), never to another host; else to ``/wears``.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from closet.records import item_title
from outfit.errors import ItemNotFoundError, OutfitError
from usecases.explain_outfit import parse_ids
from usecases.wear_log import (
    DEFAULT_UNWORN_DAYS,
    MAX_OUTFIT_ITEMS,
    UNWORN_CHOICES,
    add_feedback,
    log_wear,
    wear_rows,
)
from webapp.services import services

__all__ = ["bp", "safe_next"]

bp = Blueprint("wears_page", __name__)

RECENT = 30  # wears on the page


def safe_next(value: str | None, default: str) -> str:
    """``value`` when it is a path on this site (``/recommend?k=3``), else ``default``. Control
    characters are refused too: a browser drops the tab from ``/<tab>/evil.example``, which
    leaves ``//evil.example``, another site."""
    if not value or len(value) > 2000 or "\\" in value or not value.startswith("/") \
            or value.startswith("//") or any(c < " " or c == "\x7f" for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def _days() -> int:
    try:
        return max(0, min(int(request.args.get("days", DEFAULT_UNWORN_DAYS)), 36500))
    except ValueError:
        return DEFAULT_UNWORN_DAYS


@bp.get("/wears")
def wears() -> str:
    svc = services()
    days = _days()
    counts = svc.store.wear_counts()
    records = {r.id: r for r in svc.store.list()}
    table = sorted(({"item": records[i], "count": n} for i, n in counts.items() if i in records),
                   key=lambda row: (-row["count"], item_title(row["item"]).lower()))
    choices = sorted({*UNWORN_CHOICES, days})
    return render_template("wears.html", wears=wear_rows(svc, RECENT), total=svc.store.wear_total(),
                           table=table, unworn=svc.store.unworn_since(days), days=days,
                           choices=choices, today=dt.date.today().isoformat(),
                           ups=sum(fb.up for fb in svc.store.feedback()))


def _items() -> list[str]:
    return list(dict.fromkeys(parse_ids(request.form.getlist("items"))))[:MAX_OUTFIT_ITEMS]


@bp.post("/wears")
def wear_post() -> Response:
    """Log the form's ``items`` as worn on ``date`` (default today)."""
    back = safe_next(request.form.get("next"), url_for(".wears"))
    raw_date = request.form.get("date", "").strip()
    try:
        day = dt.date.fromisoformat(raw_date) if raw_date else None
    except ValueError:
        flash(f"Not logged: {raw_date[:40]!r} is not a date (YYYY-MM-DD).", "error")
        return redirect(back)
    try:
        _wear_id, ids = log_wear(services(), _items(), day)
    except ItemNotFoundError:
        raise
    except OutfitError as exc:
        flash(f"Not logged: {exc.message}", "error")
        return redirect(back)
    when = "today" if day is None or day == dt.date.today() else f"on {day.isoformat()}"
    flash(f"Logged {len(ids)} item{'s' if len(ids) != 1 else ''} as worn {when}.", "ok")
    return redirect(back)


@bp.post("/feedback")
def feedback_post() -> Response:
    """A thumbs up (``up=1``) or down (``up=0``) on the form's ``items``."""
    back = safe_next(request.form.get("next"), url_for(".wears"))
    up = request.form.get("up") == "1"
    try:
        add_feedback(services(), _items(), up)
    except ItemNotFoundError:
        raise
    except OutfitError as exc:
        flash(f"Not saved: {exc.message}", "error")
        return redirect(back)
    flash("Thumbs up saved." if up else "Thumbs down saved.", "ok")
    return redirect(back)
