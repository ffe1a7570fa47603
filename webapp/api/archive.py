"""``/api/v1/closet``: the whole closet as one zip, out (export) and back in (import).

The work is in :mod:`webapp.closet_zip` and the store (:mod:`closet.archive`): an import is
checked member by member and merged, all or nothing; nothing already here is overwritten.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from flask_smorest.fields import Upload
from marshmallow import fields

from webapp.api.blueprint import ApiBlueprint
from webapp.api.schemas import ErrorSchema
from webapp.closet_zip import SKIPPED_REASON, export_response, import_summary, import_upload
from webapp.services import services

__all__ = ["blp"]

blp = ApiBlueprint("archive", __name__, url_prefix="/api/v1",
                   description="The whole closet as one zip: export and import.")


class ArchiveFileSchema(ma.Schema):
    archive = Upload(required=True, metadata={
        "description": "A zip written by GET /api/v1/closet/export"})


class ImportReportSchema(ma.Schema):
    added = fields.List(fields.String(), required=True,
                        metadata={"description": "Ids of the items added"})
    skipped = fields.Integer(required=True, metadata={
        "description": "Items of the archive that were already here, kept as they are"})
    skipped_reason = fields.String(required=True, metadata={"description": "Why they were"})
    wears_added = fields.Integer(required=True)
    feedback_added = fields.Integer(required=True, metadata={
        "description": "Thumbs up or down added (an outfit judged here keeps its judgement)"})
    summary = fields.String(required=True, metadata={"description": "All of it in a sentence"})


_EXPORT_HEADERS = {
    "X-Closet-Items": {"description": "Items in the zip", "schema": {"type": "integer"}},
    "X-Closet-Left-Out": {"description": "Items left out because their photo file is missing "
                                         "(ids, comma-separated; empty when none)",
                          "schema": {"type": "string"}},
}


@blp.route("/closet/export", methods=["GET"])
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/zip",
              description="The zip, as closet-YYYY-MM-DD.zip", headers=_EXPORT_HEADERS)
def export_closet() -> Response:
    """The whole closet as one zip.

    The zip holds ``manifest.json``, ``closet.db`` (items, tags, wear log, thumbs up and down)
    and ``photos/<id>.jpg``; import it here or in another closet."""
    return export_response(services().store)


@blp.route("/closet/import", methods=["POST"])
@blp.arguments(ArchiveFileSchema, location="files")
@blp.response(200, ImportReportSchema, description="The archive was merged into the closet")
@blp.alt_response(400, schema=ErrorSchema, description=(
    "Not a zip, a damaged one, or not a closet export (e.g. a member outside the closet's own "
    "names); nothing was imported"))
@blp.alt_response(413, schema=ErrorSchema, description="The request is over the size limit")
@blp.alt_response(422, schema=ErrorSchema, description="No archive field")
def import_closet(files: dict[str, Any]) -> dict[str, Any]:
    """Merge a closet zip into this closet, all or nothing.

    Multipart, field ``archive``. Every member is checked before anything is written. Items
    already here (same id, or the same photo) are skipped and kept as they are; the archive's
    wears and thumbs on them are attached to the item here."""
    report = import_upload(services().store, files["archive"])
    return {"added": list(report.added), "skipped": report.already_present,
            "skipped_reason": SKIPPED_REASON if report.already_present else "",
            "wears_added": report.wears_added, "feedback_added": report.feedback_added,
            "summary": import_summary(report)}
