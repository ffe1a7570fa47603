"""The server-rendered pages (Jinja templates in ``webapp/templates``)."""

from webapp.pages.builder import bp as builder_bp
from webapp.pages.closet import bp as closet_bp
from webapp.pages.models import bp as models_bp
from webapp.pages.recommend import bp as recommend_bp
from webapp.pages.wears import bp as wears_bp

__all__ = ["closet_bp", "builder_bp", "recommend_bp", "wears_bp", "models_bp"]
