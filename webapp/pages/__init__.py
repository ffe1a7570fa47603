"""The server-rendered pages (Jinja templates in ``webapp/templates``)."""

from webapp.pages.closet import bp as closet_bp

__all__ = ["closet_bp"]
