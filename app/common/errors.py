"""Domain errors shared by every area, and the HTTP error pages."""

import logging

import sqlalchemy as sa
from flask import Flask, g, jsonify, render_template, request

from ..extensions import db, login_manager
from .request_guards import NulByteInRequest

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule refused an action; the message is safe to show to the user."""


class NotFound(DomainError):
    """The record asked for does not exist."""


class ValidationFailed(DomainError):
    """Input broke a rule; `field_errors` maps a form field name to its messages."""

    def __init__(self, message: str, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.field_errors = field_errors or {}


def _wants_json() -> bool:
    return (
        request.path.startswith(("/healthz", "/stripe/"))
        or request.accept_mimetypes.best == "application/json"
    )


def _database_unreachable() -> bool:
    """True when a fresh connection cannot run a query: the database is down, not the query wrong."""
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return True
    return False


def register(app: Flask) -> None:
    def page(code: int, title: str, message: str):
        if _wants_json():
            return jsonify({"error": title}), code
        return render_template("errors/error.html", code=code, title=title, message=message), code

    @app.errorhandler(400)
    def bad_request(error):
        description = getattr(error, "description", "") or ""
        if isinstance(error, NulByteInRequest):
            message = error.description
        elif "CSRF" in description:
            message = (
                "The form had expired or was not sent from this site. Go back, reload the page and try again."
            )
        else:
            message = "The request could not be understood."
        return page(400, "Bad request", message)

    @app.errorhandler(403)
    def forbidden(error):
        return page(403, "Not allowed", "Your role does not allow this. Nothing was changed.")

    @app.errorhandler(404)
    def not_found(error):
        return page(404, "Not found", "There is nothing at this address.")

    @app.errorhandler(405)
    def method_not_allowed(error):
        return page(405, "Not allowed", "This address does not accept that kind of request.")

    @app.errorhandler(413)
    def too_large(error):
        return page(413, "Too large", "The upload is larger than this site accepts.")

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return page(500, "Something went wrong", "The error was logged. Nothing was saved.")

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    @app.errorhandler(sa.exc.TimeoutError)
    def database_unavailable(error):
        # Only a database that cannot be reached is "unavailable"; a broken query stays the bug it is (a 500).
        if not _database_unreachable():
            raise error
        log.error("The database cannot be reached: %s", error)
        db.session.remove()
        # The signed-in user cannot be loaded either: the page is drawn as for a visitor.
        g._login_user = login_manager.anonymous_user()
        body, code = page(
            503,
            "Temporarily unavailable",
            "The database is not answering. Nothing was saved; please try again in a minute.",
        )
        return body, code, {"Retry-After": "60"}
