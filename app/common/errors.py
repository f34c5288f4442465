"""Domain errors shared by every area, and the HTTP error pages."""

from flask import Flask, jsonify, render_template, request

from ..extensions import db


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


def register(app: Flask) -> None:
    def page(code: int, title: str, message: str):
        if _wants_json():
            return jsonify({"error": title}), code
        return render_template("errors/error.html", code=code, title=title, message=message), code

    @app.errorhandler(400)
    def bad_request(error):
        description = getattr(error, "description", "") or ""
        message = (
            "The form had expired or was not sent from this site. Go back, reload the page and try again."
            if "CSRF" in description
            else "The request could not be understood."
        )
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
