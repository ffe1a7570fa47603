"""The API's blueprint class: flask-smorest's, with a request parser that refuses what webargs
would let through.

webargs reads a JSON body with ``json.loads`` and turns only a ``JSONDecodeError`` into a 400,
so a body nested thousands of levels deep (``RecursionError``) or holding a number of more than
4,300 digits (``ValueError``) reached the server's 500 handler; and a body sent with another
content type (a form, plain text) was silently ignored, so ``POST /recommend`` answered as if
nothing had been asked. Here the first two are a 400 and the last a 415, each in the error
envelope with a sentence saying what is wrong.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Request
from flask_smorest import Blueprint
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request

from webapp.api.schemas import ErrorSchema

__all__ = ["ApiBlueprint", "ApiParser", "UNAUTHORIZED"]


class ApiParser(FlaskParser):
    """webargs' Flask parser; a JSON body is JSON or an error, never ignored or a crash."""

    def _raw_load_json(self, req: Request) -> Any:
        data = req.get_data(cache=True)
        if not is_json_request(req):
            # Content-Length too: a form body may have been read already (by the CSRF check)
            if data or req.content_length:
                sent = f"this one is {req.mimetype}" if req.mimetype else "this one has none"
                abort(415, messages={"json": [
                    f"The body must be JSON, with Content-Type: application/json ({sent})."]})
            return core.missing
        try:
            return core.parse_json(data)
        except json.JSONDecodeError:
            raise  # webargs answers it: 400 "Invalid JSON body"
        except RecursionError:
            abort(400, messages={"json": ["Invalid JSON body: it is nested too deeply."]})
        except ValueError:  # e.g. an integer of more than sys.get_int_max_str_digits() digits
            abort(400, messages={"json": ["Invalid JSON body: a number in it is too long."]})


UNAUTHORIZED = ("This server has a password and the request carries neither a logged-in "
                "session nor HTTP Basic auth with the password (any user name)")


class ApiBlueprint(Blueprint):
    """Every operation also documents the 401 that :mod:`webapp.access` answers on a server with
    a password (a server without one never sends it)."""

    ARGUMENTS_PARSER = ApiParser()

    def add_url_rule(self, rule: str, endpoint: str | None = None, view_func: Any = None,
                     provide_automatic_options: bool | None = None, **options: Any) -> None:
        if view_func is not None:
            view_func = self.alt_response(401, schema=ErrorSchema,
                                          description=UNAUTHORIZED)(view_func)
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)
