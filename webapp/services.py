"""The app's :class:`~usecases.services.Services` (closet store, active model, jobs) as a view
reaches it during a request."""

from __future__ import annotations

from flask import current_app

from usecases.services import Services

__all__ = ["services"]


def services() -> Services:
    """The services of the app handling the current request."""
    return current_app.extensions["outfit"]
