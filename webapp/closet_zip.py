"""The whole closet as one zip over HTTP: a download of :meth:`Store.export_zip`, and an
uploaded zip merged by :meth:`Store.import_zip`. The API and the closet page share this.

Both go through a temporary folder in the instance folder (the zip can be as large as the
closet's photos, more than a RAM-backed ``/tmp`` may hold). An export is removed from the disk
as soon as it is open, and streamed from that handle, so nothing is left behind when the client
disconnects halfway or the process dies; where an open file cannot be removed (Windows), it
goes when the file is closed, which a WSGI server does on a disconnect too. An import's copy
of the upload is removed when the import ends, refused or not.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import tempfile
from pathlib import Path

from flask import Response, send_file
from werkzeug.datastructures import FileStorage

from closet.errors import ArchiveError
from closet.records import ImportReport, clean_original_name
from closet.store import Store

__all__ = ["export_response", "import_upload", "import_summary", "download_name",
           "SKIPPED_REASON"]

SKIPPED_REASON = ("already in this closet (the same item, or the same photo under another "
                  "id): kept as it is here, never overwritten")
_HINT = "choose a zip made by Export closet"


def download_name(day: dt.date | None = None) -> str:
    """``closet-YYYY-MM-DD.zip`` for ``day`` (default today)."""
    return f"closet-{(day or dt.date.today()).isoformat()}.zip"


class _TempReader(io.BufferedReader):
    """Reads a temporary file; closing it removes the file's folder (if still there)."""

    def __init__(self, path: Path, folder: Path) -> None:
        super().__init__(io.FileIO(path, "rb"))
        self.folder = folder

    def close(self) -> None:
        try:
            super().close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def export_response(store: Store) -> Response:
    """The closet's zip as a download (``Content-Disposition: attachment``), streamed from a
    temporary file that is gone from the disk before the first byte is sent. Headers
    ``X-Closet-Items`` (items in the zip) and ``X-Closet-Left-Out`` (ids of items whose photo
    file is missing, comma-separated, empty when none) say what it holds."""
    tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=store.folder))
    try:
        report = store.export_zip(tmp / "closet.zip")
        size = report.path.stat().st_size
        fh = _TempReader(report.path, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # POSIX: the open handle reads on. Elsewhere this fails quietly and closing the handle
    # (the WSGI server does, on a disconnect too) removes it.
    shutil.rmtree(tmp, ignore_errors=True)
    response = send_file(fh, mimetype="application/zip", conditional=False)
    response.content_length = size
    response.headers["Content-Disposition"] = f'attachment; filename="{download_name()}"'
    response.headers["Cache-Control"] = "no-store"  # the whole closet: no copy in any cache
    response.headers["X-Closet-Items"] = str(report.items)
    response.headers["X-Closet-Left-Out"] = ",".join(report.left_out)
    return response


def import_upload(store: Store, upload: FileStorage) -> ImportReport:
    """Merge an uploaded closet zip into ``store``, all or nothing (see
    :func:`closet.archive.import_zip`). Errors name the file as it was sent, never the path of
    the server's temporary copy. The request's size limit (413) is checked by Flask before this
    runs.

    Raises:
        ArchiveError: the file is empty, not a zip, damaged, not a closet export, or holds
            anything but the closet's own members (e.g. a ``../`` name).
        StoreError: the closet changed during the import (import it again).
    """
    name = clean_original_name(upload.filename) or "the archive"
    tmp = Path(tempfile.mkdtemp(prefix=".upload-", dir=store.folder))
    try:
        path = tmp / "closet.zip"
        with path.open("wb") as out:
            shutil.copyfileobj(upload.stream, out, 1 << 20)
        if path.stat().st_size == 0:
            raise ArchiveError(f"{name}: the file is empty", hint=_HINT)
        try:
            return store.import_zip(path)
        except ArchiveError as exc:
            raise ArchiveError(exc.message.replace(str(path), name), hint=exc.hint) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def import_summary(report: ImportReport) -> str:
    """A sentence for a person: '3 items added; 2 items skipped, already in this closet (...);
    1 wear and 0 outfit judgements added.'"""

    def count(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    added = len(report.added)
    text = f"{count(added, 'item')} added"
    if report.already_present:
        text += f"; {count(report.already_present, 'item')} skipped, {SKIPPED_REASON}"
    return (f"{text}; {count(report.wears_added, 'wear')} and "
            f"{count(report.feedback_added, 'outfit judgement')} added.")
