"""The Stripe webhook (/stripe/webhook): Stripe reports payments and refunds; each event is applied once.

No login: only bodies whose Stripe-Signature checks out against STRIPE_WEBHOOK_SECRET are trusted. What cannot
be applied safely is kept for review on the reconciliation pages (`stripe_reconciliation`).
"""

import logging

from flask import Blueprint, jsonify, request
from sqlalchemy.exc import IntegrityError

from ...auth.permissions import public
from ...common.audit import acting_as
from ...extensions import csrf, db
from .. import stripe_gateway
from ..models import StripeEvent
from ..services import stripe_payments

log = logging.getLogger(__name__)

stripe_bp = Blueprint("stripe", __name__)


@stripe_bp.route("/webhook", methods=["POST"])
@csrf.exempt
@public
def webhook():
    try:
        event = stripe_gateway.construct_event(request.get_data(), request.headers.get("Stripe-Signature"))
    except stripe_gateway.NotConfigured:
        return jsonify({"error": "Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET is empty)."}), 503
    except (stripe_gateway.InvalidSignature, stripe_gateway.NotAnEvent) as error:
        return jsonify({"error": str(error)}), 400
    # Two tries: a concurrent delivery of another event about the same session can win a unique constraint;
    # the second try then sees its payment and records this event as already applied.
    for _attempt in range(2):
        try:
            with acting_as(None, label="stripe"):
                record = stripe_payments.handle_event(event)
                status = record.status.value
                db.session.commit()
        except stripe_payments.DuplicateStripeEvent:
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
