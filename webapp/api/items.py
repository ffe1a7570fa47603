"""``/api/v1``: the closet's items (list, upload, read, tag, wash, delete, photos) and health.

Views are thin: the schemas in :mod:`webapp.api.schemas` validate what comes in, the store does
the work, and errors travel as exceptions to :mod:`webapp.errors_http`. Item ids reach a view
only through the ``item_id`` converter (:mod:`webapp.converters`), so nothing but a well-formed
id ever gets this far, and photos are served from the store's own paths, never from a name a
client sent.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, send_file

from webapp.api.blueprint import ApiBlueprint
from webapp.api.schemas import (
    ErrorSchema,
    HealthSchema,
    ItemListQuery,
    ItemListSchema,
    ItemPatchSchema,
    ItemSchema,
    UploadFailedSchema,
    UploadFilesSchema,
    UploadListSchema,
    item_json,
)
from webapp.errors_http import ApiError
from webapp.services import services
from webapp.uploads import add_uploads

__all__ = ["blp"]

blp = ApiBlueprint("items", __name__, url_prefix="/api/v1",
                   description="The closet's items, their photos and tags.")

PHOTO_MAX_AGE = 24 * 3600  # s; an item's photo never changes (a new photo is a new item)


@blp.route("/health")
@blp.response(200, HealthSchema)
def health() -> dict[str, Any]:
    """Is the server up: the number of items and the active model's state."""
    svc = services()
    return {"status": "ok", "items": svc.store.count(), "model": svc.describe()}


@blp.route("/items", methods=["GET"])
@blp.arguments(ItemListQuery, location="query", as_kwargs=True)
@blp.response(200, ItemListSchema)
@blp.alt_response(422, schema=ErrorSchema, description="A filter or paging value is not valid")
def list_items(limit: int, offset: int, **filters: Any) -> dict[str, Any]:
    """Items, newest first, filtered by slot, colour, pattern, availability and search words."""
    store = services().store
    query = {"slot": filters.get("slot"), "color": filters.get("color"),
             "pattern": filters.get("pattern"), "available": filters.get("available"),
             "search": filters.get("q")}
    records = store.list(**query, limit=limit, offset=offset)
    return {"items": [item_json(r) for r in records], "total": store.count(**query),
            "limit": limit, "offset": offset}


@blp.route("/items", methods=["POST"])
@blp.arguments(UploadFilesSchema, location="files")
@blp.response(201, UploadListSchema, description="At least one photo became an item")
@blp.alt_response(400, schema=UploadFailedSchema, description="No photo could be added")
@blp.alt_response(409, schema=UploadFailedSchema,
                  description="Every photo is already in the closet")
@blp.alt_response(413, schema=ErrorSchema, description="The request is over the size limit")
@blp.alt_response(507, schema=ErrorSchema, description="The server's disk is full; nothing was "
                  "saved")
def upload_items(files: dict[str, Any]) -> dict[str, Any] | Response:
    """Add photos (multipart, field ``photos``, one or more files); each is stored and
    auto-tagged. The answer has a status per file: one bad file never fails the others. When
    no file was added the status is the error's (409 if all were duplicates, else 400) and the
    envelope sits beside the per-file results."""
    results = add_uploads(services(), files["photos"])
    out = []
    for r in results:
        entry = {k: v for k, v in r.items() if k != "status"}
        if r["ok"]:
            entry["item"] = item_json(r["item"])
        out.append(entry)
    created = sum(r["ok"] for r in results)
    body = {"results": out, "created": created, "failed": len(results) - created}
    if created:
        return body
    statuses = {r["status"] for r in results}
    status = statuses.pop() if len(statuses) == 1 else 400
    if len(results) == 1:
        error = results[0]["error"]
    else:
        error = ApiError(status, "upload_failed", f"None of the {len(results)} files was added.",
                         "see each file's error in results").to_dict()
    response = jsonify({"error": error, **body})
    response.status_code = status
    return response


@blp.route("/items/<item_id:item_id>", methods=["GET"])
@blp.response(200, ItemSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such item")
def get_item(item_id: str) -> dict[str, Any]:
    """One item with its tags and their confidences."""
    return item_json(services().store.get(item_id))


@blp.route("/items/<item_id:item_id>", methods=["PATCH"])
@blp.arguments(ItemPatchSchema)
@blp.response(200, ItemSchema)
@blp.alt_response(400, schema=ErrorSchema,
                  description="The body is not valid JSON, or the CSRF token is missing or wrong")
@blp.alt_response(404, schema=ErrorSchema, description="No such item")
@blp.alt_response(422, schema=ErrorSchema, description="A value is not valid")
@blp.alt_response(507, schema=ErrorSchema, description="The server's disk is full; nothing was "
                  "changed")
def patch_item(changes: dict[str, Any], item_id: str) -> dict[str, Any]:
    """Correct tags (they are marked edited; auto-tagging leaves them alone from then on), set
    the season and formality the recommender's filters read (null clears one: unknown) and set
    or clear the in-the-wash flag."""
    store = services().store
    if not changes:
        return item_json(store.get(item_id))
    return item_json(store.update_tags(item_id, **changes))  # one transaction: all or nothing


@blp.route("/items/<item_id:item_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(400, schema=ErrorSchema, description="The CSRF token is missing or wrong")
@blp.alt_response(404, schema=ErrorSchema, description="No such item")
def delete_item(item_id: str) -> None:
    """Remove the item, its photo, its wear entries and the feedback on outfits it was in."""
    services().store.delete(item_id)


def _jpeg(path: Any) -> Response:
    return send_file(path, mimetype="image/jpeg", max_age=PHOTO_MAX_AGE, conditional=True)


@blp.route("/items/<item_id:item_id>/photo", methods=["GET"])
@blp.response(200, {"type": "string", "format": "binary"}, content_type="image/jpeg")
@blp.alt_response(404, schema=ErrorSchema, description="No such item")
def item_photo(item_id: str) -> Response:
    """The stored photo (JPEG, upright, without the upload's metadata)."""
    return _jpeg(services().store.photo_path(item_id))


@blp.route("/items/<item_id:item_id>/thumb", methods=["GET"])
@blp.response(200, {"type": "string", "format": "binary"}, content_type="image/jpeg")
@blp.alt_response(404, schema=ErrorSchema, description="No such item")
def item_thumb(item_id: str) -> Response:
    """The thumbnail (JPEG, at most 256 px on its longest side)."""
    return _jpeg(services().store.thumb_path(item_id))


@blp.route("/items/<item_id:item_id>/cutout", methods=["GET"])
@blp.response(200, {"type": "string", "format": "binary"}, content_type="image/png")
@blp.alt_response(404, schema=ErrorSchema, description="No such item")
def item_cutout(item_id: str) -> Response:
    """The garment alone: the thumbnail with its background transparent (PNG), cut out by the
    item's garment mask; a photo stored before masks existed gets its mask now."""
    import io

    from PIL import Image

    from grader.mask import cutout, garment_mask, mask_from_png, mask_to_png

    store = services().store
    with Image.open(store.thumb_path(item_id)) as im:
        thumb = im.convert("RGB")
    path = store.mask_path(item_id)
    if path is None:
        mask = garment_mask(thumb)
        store.set_mask(item_id, mask_to_png(mask))
    else:
        mask = mask_from_png(path.read_bytes(), thumb.size)
    buf = io.BytesIO()
    cutout(thumb, mask).save(buf, "PNG", optimize=True)
    response = send_file(io.BytesIO(buf.getvalue()), mimetype="image/png", max_age=PHOTO_MAX_AGE)
    response.headers["Cache-Control"] = "private, max-age=3600"  # a re-tag may change the mask
    return response
