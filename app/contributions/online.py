"""Public blueprints of the contributions area: the pay page (/pay/<token>) and the Stripe webhook.

Neither needs a login. The pay page knows only the invoice its signed token names; the webhook trusts only
bodies whose Stripe-Signature checks out against STRIPE_WEBHOOK_SECRET.
"""

import logging

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError

from ..auth.permissions import public
from ..common.audit import acting_as
from ..extensions import csrf, db
from . import paylinks, stripe_gateway
from .models import Invoice, StripeEvent
from .services import online_payments

log = logging.getLogger(__name__)

public_bp = Blueprint("public", __name__)
stripe_bp = Blueprint("stripe", __name__)


class PayForm(FlaskForm):
    """Only the CSRF token: the amount is the invoice's balance, never the browser's."""


@public_bp.app_context_processor
def inject_online_payment_helpers():
    return {
        "pay_url": paylinks.pay_url,
        "online_payment_configured": paylinks.online_payment_configured,
        "invoice_stripe_payments": online_payments.invoice_stripe_payments,
    }


def _invoice_or_404(token: str) -> Invoice:
    # A bad, tampered or stale token and a draft look exactly alike: 404, nothing revealed.
    return online_payments.invoice_for_token(token) or abort(404)


def _pay_page(invoice: Invoice, token: str, error: str | None = None, status: int = 200):
    language = invoice.language.value
    with force_locale(language):
        html = render_template(
            "public/pay.html",
            invoice=invoice,
            token=token,
            lang=language,
            state=online_payments.pay_state(invoice),
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
            checkout_url = online_payments.start_checkout(invoice)
        except (online_payments.NothingToPay, online_payments.PaymentInProgress):
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


@stripe_bp.route("/webhook", methods=["POST"])
@csrf.exempt
@public
def webhook():
    try:
        event = stripe_gateway.construct_event(request.get_data(), request.headers.get("Stripe-Signature"))
    except stripe_gateway.NotConfigured:
        return jsonify({"error": "Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET is empty)."}), 503
    except stripe_gateway.InvalidSignature as error:
        return jsonify({"error": str(error)}), 400
    # Two tries: a concurrent delivery of another event about the same session can win a unique constraint;
    # the second try then sees its payment and records this event as already applied.
    for _attempt in range(2):
        try:
            with acting_as(None, label="stripe"):
                record = online_payments.handle_event(event)
                status = record.status.value
                db.session.commit()
        except online_payments.DuplicateStripeEvent:
            db.session.rollback()
            return jsonify({"received": True, "duplicate": True}), 200
        except IntegrityError:
            db.session.rollback()
            if db.session.get(StripeEvent, event.id) is not None:
                return jsonify({"received": True, "duplicate": True}), 200
            continue
        return jsonify({"received": True, "status": status}), 200
    log.warning("Stripe event %s could not be stored; Stripe will deliver it again.", event.id)
    return jsonify({"error": "The event could not be stored now; deliver it again."}), 503
