"""Checks made once for every request, before any view reads it.

PostgreSQL refuses a NUL character in text, so a NUL byte typed into a search box or slipped into a URL would
reach the database as an error. No field anywhere has a use for it: the request is refused as a whole with a
400, before a view runs, on both databases alike.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import BadRequest

NUL = "\x00"
#: Bodies Werkzeug parses into request.form (others, such as the Stripe webhook's JSON, are left alone).
FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class NulByteInRequest(BadRequest):
    description = (
        "The request contained a NUL character, which cannot be stored. Remove it and try again; "
        "nothing was saved."
    )


def request_has_nul_byte() -> bool:
    """True when the path, a query argument, a form field or an uploaded file's name holds a NUL character."""
    if NUL in request.path:
        return True
    if any(NUL in key or NUL in value for key, value in request.args.items(multi=True)):
        return True
    if request.mimetype not in FORM_MIMETYPES:
        return False
    if any(NUL in key or NUL in value for key, value in request.form.items(multi=True)):
        return True
    return any(
        NUL in key or NUL in (upload.filename or "") for key, upload in request.files.items(multi=True)
    )


def refuse_nul_bytes() -> None:
    """A before_request hook: 400 for a request with a NUL character anywhere a view could read text from."""
    if request_has_nul_byte():
        raise NulByteInRequest()


def register(app: Flask) -> None:
    # First among the hooks, so that no other hook (CSRF, the login) reads the request before it is checked.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul_bytes)
