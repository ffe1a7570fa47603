"""The web app over HTTP: :func:`create_app`, the Flask app factory (closet pages and the JSON
API under ``/api/v1``), access control, templates and static files. The closet itself is the
:mod:`closet` library; what a view asks of it and of the models goes through :mod:`usecases`.

    app = create_app({"OUTFIT_HOME": "instance"})     # served by `outfit serve`
"""

from .app import create_app

__all__ = ["create_app"]
