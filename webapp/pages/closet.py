"""The closet's pages: the grid with filters and search, bulk upload, the item page (tags
with their confidences, corrections, the in-the-wash flag, delete with a confirmation step),
and the whole closet as a zip (an export link to the API, an import form).

Pages render their content on the server (no blank first load) and work without JavaScript:
every change is a POST form (CSRF-protected by the app) that calls the store, flashes what
happened and redirects, so a reload never submits twice. ``static/upload.js`` improves the
upload page with a live status per file through the API.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from closet.records import item_title
from closet.schema import CHOICE_TAGS
from outfit.errors import ItemNotFoundError, OutfitError
from outfit.vocab import SEMANTIC_CATEGORIES, SLOTS
from webapp.closet_zip import import_summary, import_upload
from webapp.services import services
from webapp.uploads import add_uploads, tag_note

__all__ = ["bp", "SLOT_LABELS", "PAGE_SIZE"]

bp = Blueprint("closet", __name__)

PAGE_SIZE = 48
SLOT_LABELS = {"outer": "Outerwear", "upper": "Tops", "lower": "Bottoms", "full": "One-pieces",
               "shoes": "Shoes", "accessory": "Accessories"}
_TAG_LABELS = {"semantic_category": "Kind", "category": "Category", "color": "Colour",
               "pattern": "Pattern"}
_CHOICE_LABELS = {"season": "Season", "formality": "Formality"}  # the keys of CHOICE_TAGS
_AVAILABLE = {"": None, "yes": True, "no": False}


@bp.app_template_filter("percent")
def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.0f} %"


def _filters() -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """The closet page's filters from the query string: store arguments, the form's values
    (to show them again) and notes on values that were ignored."""
    args, notes = request.args, []
    form = {k: args.get(k, "").strip()[:200] for k in ("slot", "color", "pattern", "available", "q")}
    if form["slot"] and form["slot"] not in SLOTS:
        notes.append(f"There is no slot called {form['slot']!r}; showing every slot.")
        form["slot"] = ""
    if form["available"] not in _AVAILABLE:
        form["available"] = ""
    query = {"slot": form["slot"] or None, "color": form["color"][:64] or None,
             "pattern": form["pattern"][:64] or None, "available": _AVAILABLE[form["available"]],
             "search": form["q"] or None}
    return query, form, notes


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 10**6))
    except ValueError:
        return 1


@bp.get("/")
def index() -> str:
    svc = services()
    query, form, notes = _filters()
    page = _page_number()
    total = svc.store.count(**query)
    items = svc.store.list(**query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    everything = svc.store.list()  # the values people actually use, for the filter suggestions
    colors = sorted({i.color for i in everything if i.color})
    patterns = sorted({i.pattern for i in everything if i.pattern})
    filtered = any(form.values())
    args = {k: v for k, v in form.items() if v}
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template(
        "closet.html", items=items, total=total, closet_size=len(everything), form=form,
        notes=notes, filtered=filtered, colors=colors, patterns=patterns, slots=SLOT_LABELS,
        page=page, pages=pages,
        prev_url=url_for(".index", **args, page=page - 1) if page > 1 else None,
        next_url=url_for(".index", **args, page=page + 1) if page < pages else None)


@bp.get("/upload")
def upload() -> str:
    return render_template("upload.html", model_status=services().model.status())


@bp.post("/upload")
def upload_post() -> Response | tuple[str, int]:
    """The upload form without JavaScript: every file at once, then the upload page again with
    a line per file. The report is the page itself, not flashed messages: a large batch's
    report would overflow the session cookie (browsers drop cookies over 4 KB)."""
    files = [f for f in request.files.getlist("photos") if f.filename]
    if not files:
        flash("Choose at least one photo to upload.", "error")
        return redirect(url_for(".upload"))
    results = []
    for r in add_uploads(services(), files):
        if r["ok"]:
            note = tag_note(r["item"].to_dict()) if r.get("tagging") == "tagged" else r["tagging"]
            results.append({"ok": True, "file": r["file"], "state": f"added ({note})",
                            "item_id": r["item"].id})
        else:
            message = r["error"]["message"].removeprefix(f"{r['file']}: ")
            results.append({"ok": False, "file": r["file"], "state": f"refused: {message}"})
    added = sum(r["ok"] for r in results)
    return render_template("upload.html", model_status=services().model.status(),
                           results=results, added=added), 200


@bp.post("/closet/import")
def import_closet() -> Response:
    """The import form: merge an exported closet zip, then say on the closet page what was
    added and skipped, or why nothing was (the closet is then unchanged)."""
    upload = request.files.get("archive")
    if upload is None or not upload.filename:
        flash("Choose a zip file made by Export closet to import.", "error")
        return redirect(url_for(".index"))
    try:
        report = import_upload(services().store, upload)
    except OutfitError as exc:
        flash(f"Nothing was imported: {exc}", "error")
    else:
        flash(f"Closet imported: {import_summary(report)}", "ok")
    return redirect(url_for(".index"))


@bp.get("/items/<item_id:item_id>")
def item(item_id: str) -> str:
    svc = services()
    record = svc.store.get(item_id)
    tags = [{"key": k, "label": label, "value": getattr(record, k),
             "confidence": getattr(record, f"{k}_confidence"),
             "edited": getattr(record, f"{k}_edited")} for k, label in _TAG_LABELS.items()]
    untagged = all(t["confidence"] is None for t in tags)  # nothing came from a model
    tags += [{"key": k, "label": label, "value": getattr(record, k), "confidence": None,
              "edited": getattr(record, k) is not None} for k, label in _CHOICE_LABELS.items()]
    choices = [{"key": k, "label": label, "values": CHOICE_TAGS[k], "value": getattr(record, k)}
               for k, label in _CHOICE_LABELS.items()]  # the form's selects
    last = svc.store.wears(limit=1, item_id=item_id)
    return render_template("item.html", item=record, title=item_title(record), tags=tags,
                           categories=SEMANTIC_CATEGORIES, choices=choices,
                           slots=SLOT_LABELS, untagged=untagged,
                           model_status=svc.model.status(),
                           wear_count=svc.store.wear_counts().get(item_id, 0),
                           last_worn=last[0].worn_on if last else None)


@bp.post("/items/<item_id:item_id>/tags")
def item_tags(item_id: str) -> Response:
    """Tag corrections: a field left empty clears that tag (a season or formality left at
    "unknown" clears it)."""
    form = request.form
    changes = {k: form.get(k, "").strip() or None for k in (*_TAG_LABELS, *_CHOICE_LABELS)
               if k in form}
    if "name" in form:
        changes["name"] = form.get("name", "").strip()
    # The form sends every field: only those the person changed become theirs ("set by you");
    # an auto-tag left as it was keeps its confidence.
    record = services().store.get(item_id)
    changes = {k: v for k, v in changes.items() if v != getattr(record, k)}
    try:
        if changes:
            services().store.update_tags(item_id, **changes)
    except ItemNotFoundError:
        raise
    except OutfitError as exc:  # a bad value: say so on the item's page
        flash(f"Not saved: {exc}", "error")
    else:
        flash("Tags saved." if changes else "Nothing changed.", "ok")
    return redirect(url_for(".item", item_id=item_id))


@bp.post("/items/<item_id:item_id>/wash")
def item_wash(item_id: str) -> Response:
    in_wash = request.form.get("in_wash") == "1"
    services().store.set_in_wash(item_id, in_wash)
    flash("Marked as in the wash." if in_wash else "Marked as available.", "ok")
    return redirect(url_for(".item", item_id=item_id))


@bp.get("/items/<item_id:item_id>/delete")
def item_delete_confirm(item_id: str) -> str:
    record = services().store.get(item_id)
    return render_template("item_delete.html", item=record, title=item_title(record))


@bp.post("/items/<item_id:item_id>/delete")
def item_delete(item_id: str) -> Response:
    record = services().store.get(item_id)
    services().store.delete(item_id)
    flash(f"Deleted {item_title(record)}.", "ok")
    return redirect(url_for(".index"))
