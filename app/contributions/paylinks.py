"""Signed, unguessable links to the public "pay this invoice" page (itsdangerous, keyed by SECRET_KEY)."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

_SALT = "tributary.pay-invoice"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def pay_token(invoice) -> str:
    """The token for an invoice's pay page; it names the invoice by id and number, so it cannot be reused."""
    return _serializer().dumps({"i": invoice.id, "n": invoice.number})


def invoice_id_from_token(token: str) -> tuple[int, str] | None:
    """(invoice id, number) from a token, or None when the token is tampered with or malformed."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("i"), int) or not isinstance(data.get("n"), str):
        return None
    return data["i"], data["n"]


def pay_url(invoice) -> str:
    """The absolute address of an issued invoice's pay page, for documents and e-mails."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/pay/{pay_token(invoice)}"


def online_payment_configured() -> bool:
    """True when Stripe keys are set, so that pay links are worth printing."""
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_WEBHOOK_SECRET"))
