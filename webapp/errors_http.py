"""Errors as a person or a program meets them: one place turns every failure into a status code
and a sentence.

Under ``/api/v1`` every error is the same envelope,
``{"error": {"code": "not_found", "message": "...", "hint": "..."}}`` (validation errors add
``fields``: what is wrong with each parameter); elsewhere it is a page in the site's layout.
The project's own exceptions (:class:`~outfit.errors.OutfitError`) carry the message and the
hint; HTTP errors raised by Flask, Werkzeug, webargs (422) and Flask-WTF (CSRF, 400) get
sentences of their own. An unexpected exception is logged with its traceback and answered with
a 500 that shows nothing of the internals.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from closet.errors import DuplicatePhotoError, StorageFullError
from outfit.errors import (
    GrammarError,
    ImageError,
    ItemNotFoundError,
    ModelError,
    OutfitError,
    UnknownCategoryError,
    UnknownSlotError,
)
from usecases.datasets import DatasetError
from usecases.jobs import JobBusyError, JobNotFoundError
from usecases.manage_models import JobLimitError, ModelNotFoundError

__all__ = ["ApiError", "describe", "error_payload", "register_error_handlers", "API_PREFIX"]

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
               413: "too_large", 415: "unsupported_type", 422: "validation_error",
               507: "storage_full",
               500: "internal_error"}


class ApiError:
    """An error as data: status, code, message, hint and any extra fields of the envelope."""

    def __init__(self, status: int, code: str, message: str, hint: str = "",
                 **extra: Any) -> None:
        self.status, self.code, self.message, self.hint, self.extra = (
            status, code, message, hint, extra)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "hint": self.hint, **self.extra}


def _limit_sentence() -> str:
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if not limit:
        return "The upload is too large."
    return f"The upload is larger than the limit of {limit / 2**20:.0f} MiB."


def _field_messages(messages: Any) -> tuple[str, dict[str, Any]]:
    """webargs' ``{"query": {"limit": ["..."]}}`` -> a sentence and ``{field: [messages]}``."""
    fields: dict[str, Any] = {}
    if isinstance(messages, dict):
        for location, errs in messages.items():
            if isinstance(errs, dict):
                fields.update(errs)
            else:
                fields[location] = errs
    parts = []
    for name, errs in fields.items():
        text = " ".join(str(e) for e in errs) if isinstance(errs, list) else str(errs)
        parts.append(f"{name}: {text}" if name != "_schema" else text)
    return "; ".join(parts) or "The request is not valid.", fields


def _from_http(exc: HTTPException) -> ApiError:
    status = exc.code or 500
    code = _HTTP_CODES.get(status, "http_error")
    if isinstance(exc, CSRFError):
        return ApiError(400, "csrf_failed", f"The request was refused: {exc.description}",
                        "reload the page and try again (the form's security token is missing or "
                        "expired)")
    data = getattr(exc, "data", None) or {}
    if "messages" in data:  # webargs: 422 for a schema error, 400 for a malformed body
        message, fields = _field_messages(data["messages"])
        return ApiError(status, code, message, "see the API documentation at /api/docs",
                        fields=fields)
    if status == 413:
        if request.endpoint in ("archive.import_closet", "closet.import_closet"):
            limit = current_app.config.get("MAX_IMPORT_LENGTH") or 0
            return ApiError(413, code, f"The archive is larger than the import limit of "
                            f"{limit / 2**20:.0f} MiB.", "start the server with a larger "
                            "MAX_IMPORT_LENGTH, or import the closet in parts")
        return ApiError(413, code, _limit_sentence(), "send fewer or smaller photos at a time")
    if status == 404:
        return ApiError(404, code, "There is nothing at this address.",
                        "check the address; item ids are 12 lowercase letters and digits")
    if status == 405:
        return ApiError(405, code, f"{request.method} is not allowed at this address.")
    if status >= 500:
        return ApiError(status, code, "Something went wrong on the server.",
                        "try again; if it keeps happening, look at the server's log")
    return ApiError(status, code, str(exc.description or exc.name))


def _from_outfit(exc: OutfitError) -> ApiError:
    from webapp.hosts import HostError

    hint = exc.hint
    if isinstance(exc, HostError):
        return ApiError(400, "host_not_allowed", exc.message, hint)
    if isinstance(exc, ItemNotFoundError | ModelNotFoundError | JobNotFoundError):
        return ApiError(404, "not_found", exc.message, hint)
    if isinstance(exc, StorageFullError):
        return ApiError(507, "storage_full", exc.message, hint)
    if isinstance(exc, JobBusyError):
        return ApiError(409, "busy", exc.message, hint)
    if isinstance(exc, DatasetError):
        return ApiError(422, "bad_dataset", exc.message, hint)
    if isinstance(exc, JobLimitError):
        return ApiError(422, "out_of_range", exc.message, hint)
    if isinstance(exc, DuplicatePhotoError):
        return ApiError(409, "duplicate_photo", exc.message, hint, existing_id=exc.existing_id)
    if isinstance(exc, ImageError):
        return ApiError(400, "bad_image", exc.message, hint or "upload a JPEG, PNG or WebP photo")
    if isinstance(exc, (UnknownCategoryError, UnknownSlotError)):
        return ApiError(400, "bad_value", exc.message, hint)
    if isinstance(exc, GrammarError):
        return ApiError(400, "not_wearable", exc.message, hint)
    if isinstance(exc, ModelError):
        return ApiError(503, "model_unavailable", exc.message, hint)
    return ApiError(400, "bad_request", exc.message, hint)


def describe(exc: BaseException) -> ApiError:
    """The status, code and sentences for any exception (unexpected ones become a bare 500)."""
    if isinstance(exc, HTTPException):
        return _from_http(exc)
    if isinstance(exc, OutfitError):
        return _from_outfit(exc)
    return _from_http(InternalServerError())


def error_payload(error: ApiError) -> dict[str, Any]:
    return {"error": error.to_dict()}


def _is_api() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def _respond(exc: BaseException) -> Response | tuple[str, int]:
    error = describe(exc)
    if error.status >= 500 and isinstance(exc, OutfitError):  # e.g. no model: not a crash
        log.warning("%s %s: %s", request.method, request.path, error.message)
    elif error.status >= 500:
        log.error("%s %s failed", request.method, request.path, exc_info=exc)
    if _is_api():
        response = jsonify(error_payload(error))
        response.status_code = error.status
        return response
    return render_template("error.html", error=error), error.status


def register_error_handlers(app: Flask) -> None:
    """Answer HTTP errors, the project's errors and unexpected exceptions (API or page)."""
    app.register_error_handler(HTTPException, _respond)
    app.register_error_handler(OutfitError, _respond)
    app.register_error_handler(Exception, _respond)
