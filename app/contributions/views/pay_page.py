"""The public pay page (/pay/<token>): a member pays an invoice online through Stripe Checkout.

No login: the page knows only the invoice its signed token names. Stripe's answer arrives at the webhook
(`stripe_webhook`); what it keeps for review is reconciled on the logged-in pages (`stripe_reconciliation`).
"""

import logging

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext
from flask_wtf import FlaskForm

from ...auth.permissions import public
from .. import paylinks, stripe_gateway
from ..models import Invoice
from ..services import stripe_payments, stripe_reconciliation

log = logging.getLogger(__name__)

public_bp = Blueprint("public", __name__)


class PayForm(FlaskForm):
    """Only the CSRF token: the amount is the invoice's balance, never the browser's."""


@public_bp.app_context_processor
def inject_online_payment_helpers():
    return {
        "pay_url": paylinks.pay_url,
        "online_payment_configured": paylinks.online_payment_configured,
        "invoice_stripe_payments": stripe_reconciliation.invoice_stripe_payments,
    }


def _invoice_or_404(token: str) -> Invoice:
    # A bad, tampered or stale token and a draft look exactly alike: 404, nothing revealed.
    return stripe_payments.invoice_for_token(token) or abort(404)


def _pay_page(invoice: Invoice, token: str, error: str | None = None, status: int = 200):
    language = invoice.language.value
    with force_locale(language):
        html = render_template(
            "public/pay.html",
            invoice=invoice,
            token=token,
            lang=language,
            state=stripe_payments.pay_state(invoice),
            configured=stripe_gateway.is_configured(),
            checkout=request.args.get("checkout"),
            form=PayForm(),
            error=error,
        )
    response = html, status
    return response


@public_bp.route("/pay/<token>")
@public
def pay_invoice(token: str):
    invoice = _invoice_or_404(token)
    return _pay_page(invoice, token)


@public_bp.route("/pay/<token>/checkout", methods=["POST"])
@public
def start_payment(token: str):
    invoice = _invoice_or_404(token)
    with force_locale(invoice.language.value):
        if not PayForm().validate_on_submit():
            return _pay_page(invoice, token, gettext("The page had expired. Please try again."), 400)
        try:
            checkout_url = stripe_payments.start_checkout(invoice)
        except (stripe_payments.NothingToPay, stripe_payments.PaymentInProgress):
            return redirect(url_for("public.pay_invoice", token=token), code=303)
        except stripe_gateway.NotConfigured:
            message = gettext(
                "Online payment is not available for this invoice. Please pay by bank transfer."
            )
            return _pay_page(invoice, token, message, 503)
        except stripe_gateway.GatewayError:
            message = gettext(
                "The payment service could not be reached. Nothing was charged; please try again."
            )
            return _pay_page(invoice, token, message, 503)
    return redirect(checkout_url, code=303)
