"""Online payment through Stripe Checkout: the pay page's checkout, and applying the webhook's events (what is
kept for review is reviewed in `stripe_reconciliation`).

Rules the webhook keeps (DESIGN.md rule 4):
- every event id is stored once (StripeEvent's primary key); a repeated delivery changes nothing;
- money is recorded only from a signed event, with the amount and currency the event carries, and only when
  they match what Tributary asked for (the session's metadata) and what the invoice still owes; anything else
  is kept for review, never applied blindly;
- a Checkout Session or payment intent pays at most once (unique columns on Payment back this up);
- events may come late or out of order and reach the same end state: a payment is never undone by a later
  "processing" or "failed" event, a failure that came first keeps a late "processing" from being shown, and a
  refund that arrives before its payment waits (needs review, with that reason) and is applied as soon as the
  payment is recorded.

Functions flush and never commit; the webhook view commits the event row and its effect in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import force_locale, gettext

from ...common.decimals import AMOUNT_OR_ZERO, DecimalRefused, parse_decimal
from ...common.errors import DomainError
from ...common.locks import lock_and_refresh
from ...common.money import format_money
from ...common.time import today, utcnow
from ...common.urls import bounded_int
from ...extensions import db
from .. import paylinks, stripe_gateway
from ..models import (
    ZERO,
    Invoice,
    InvoiceEventKind,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    Refund,
    StripeEvent,
    StripeEventStatus,
)
from .payments import record_event, record_payment, record_refund

log = logging.getLogger(__name__)

#: A double click, a reload or a second tab within this window reuse the same Checkout Session: the
#: idempotency key names the invoice, its balance and the window.
CHECKOUT_WINDOW_SECONDS = 15 * 60

SESSION_COMPLETED = "checkout.session.completed"
SESSION_ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
SESSION_ASYNC_FAILED = "checkout.session.async_payment_failed"
CHARGE_REFUNDED = "charge.refunded"
PAID_SESSION_STATUSES = {"paid", "no_payment_required"}


class OnlinePaymentError(DomainError):
    """Online payment cannot start for this invoice."""


class NothingToPay(OnlinePaymentError):
    """The invoice owes nothing (paid, credited or written off)."""


class PaymentInProgress(OnlinePaymentError):
    """A bank payment was started and is waiting for the bank."""


class DuplicateStripeEvent(DomainError):
    """This Stripe event was received before; nothing changes."""


class _NeedsReview(DomainError):
    """Internal: the event is kept for a person to look at, with this problem."""


# --- The public pay page -----------------------------------------------------------------------------------


def invoice_for_token(token: str) -> Invoice | None:
    """The issued invoice a pay token names, or None for a tampered, unknown or stale token."""
    decoded = paylinks.invoice_id_from_token(token)
    if decoded is None:
        return None
    invoice_id, number = decoded
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.is_draft or invoice.number != number:
        return None
    return invoice


def pay_state(invoice: Invoice) -> str:
    """What the pay page says: "paid", "settled" (credited or written off), "processing" or "due"."""
    if invoice.status == InvoiceStatus.PAID:
        return "paid"
    if not invoice.status.is_open or invoice.balance_due <= ZERO:
        return "settled"
    if invoice.payment_processing_since is not None:
        return "processing"
    return "due"


def checkout_idempotency_key(invoice: Invoice, now: datetime) -> str:
    """Same invoice, same balance, same 15-minute window: same key, so Stripe returns the same session."""
    window = int(now.timestamp()) // CHECKOUT_WINDOW_SECONDS
    return f"tributary-invoice-{invoice.id}-{invoice.currency}-{invoice.balance_due}-{window}"


def start_checkout(invoice: Invoice, now: datetime | None = None) -> str:
    """Create (or reuse) the Checkout Session for the balance; returns the page to send the payer to."""
    if not stripe_gateway.is_configured():
        raise stripe_gateway.NotConfigured("Online payment is not configured.")
    state = pay_state(invoice)
    if state in ("paid", "settled"):
        raise NothingToPay(f"Invoice {invoice.number} has nothing left to pay.")
    if state == "processing":
        raise PaymentInProgress(f"A payment for invoice {invoice.number} is being processed.")
    amount = invoice.balance_due
    metadata = {
        "invoice_id": str(invoice.id),
        "invoice_number": invoice.number,
        "expected_amount": str(amount),
        "currency": invoice.currency,
    }
    pay_page = paylinks.pay_url(invoice)
    language = invoice.language.value
    with force_locale(language):
        description = gettext("Invoice %(number)s", number=invoice.number)
    session = stripe_gateway.create_checkout_session(
        amount=amount,
        currency=invoice.currency,
        description=description,
        client_reference_id=invoice.number,
        metadata=metadata,
        success_url=f"{pay_page}?checkout=success",
        cancel_url=f"{pay_page}?checkout=cancelled",
        idempotency_key=checkout_idempotency_key(invoice, now or utcnow()),
        locale=language,
        customer_email=(invoice.bill_to or {}).get("email") or None,
    )
    return session.url


# --- Webhook events ----------------------------------------------------------------------------------------


@dataclass
class _Context:
    invoice_id: int | None = None
    payment_id: int | None = None


def handle_event(event: stripe_gateway.WebhookEvent) -> StripeEvent:
    """Store a verified event once and apply what it says; raises DuplicateStripeEvent on a repeat.

    Two deliveries at once: the second insert of the same id fails with IntegrityError at flush; the caller
    rolls back and answers 200.
    """
    if already_received(event.id):
        raise DuplicateStripeEvent(f"Stripe event {event.id} was already received.")
    record = StripeEvent(
        id=event.id,
        type=event.type,
        status=StripeEventStatus.IGNORED,
        stripe_created_at=event.created,
        payload=event.payload,
        problem="",
    )
    db.session.add(record)
    db.session.flush()
    handler = _HANDLERS.get(event.type)
    if handler is not None:
        _apply(handler, event, record)
    db.session.flush()
    return record


def already_received(event_id: str) -> bool:
    """True when this event id is stored (the first, cheap check; the primary key is the real guard)."""
    return db.session.get(StripeEvent, event_id) is not None


def _apply(handler, event: stripe_gateway.WebhookEvent, record: StripeEvent) -> None:
    context = _Context()
    try:
        # A savepoint: a refused effect is undone, the event row stays with its problem.
        with db.session.begin_nested():
            handler(event, record, context)
    except DomainError as error:
        record.status = StripeEventStatus.NEEDS_REVIEW
        record.problem = str(error)[:2000]
        record.invoice_id = context.invoice_id
        record.payment_id = context.payment_id


def _handle_session(event: stripe_gateway.WebhookEvent, record: StripeEvent, context: _Context) -> None:
    session = event.checkout_session()
    invoice = _invoice_named_by(session)
    context.invoice_id = invoice.id
    # Lock first, then point the event row at the invoice: the foreign key takes a share lock on the invoice
    # row, and two deliveries that each held one while waiting for the update lock would deadlock.
    lock_invoice(invoice)
    record.invoice_id = invoice.id
    existing = payment_for_session(session)
    if event.type == SESSION_ASYNC_FAILED:
        _apply_failure(event, record, invoice, session, existing, context)
    elif event.type == SESSION_ASYNC_SUCCEEDED or session.payment_status in PAID_SESSION_STATUSES:
        _apply_payment(event, record, invoice, session, existing)
    else:
        _apply_processing(event, record, invoice, session, existing)


def _apply_payment(event, record, invoice, session, existing: Payment | None) -> None:
    if existing is not None:
        record.payment_id = existing.id
        record.status = StripeEventStatus.IGNORED
        record.problem = f"Already recorded as payment #{existing.id}."
        return
    _check_amount(session, invoice)
    payment = record_session_payment(event, invoice, session, actor=None, allocate=True)
    record.payment_id = payment.id
    record.status = StripeEventStatus.APPLIED


def _apply_processing(event, record, invoice, session, existing: Payment | None) -> None:
    if existing is not None:
        record.payment_id = existing.id
        record.problem = f"Already paid (payment #{existing.id}); not marked as processing."
        return
    if _failure_received_for(invoice, session.id):
        record.problem = "Stripe already reported this payment as failed; not marked as processing."
        return
    _check_amount(session, invoice)
    invoice.payment_processing_since = event.created or utcnow()
    invoice.online_payment_note = "Bank payment started online; waiting for the bank to confirm it."
    record_event(
        invoice,
        InvoiceEventKind.PAYMENT_PROCESSING,
        None,
        f"Online payment of {format_money(session.amount, session.currency)} started (Stripe {session.id}); "
        "not paid until the bank confirms it.",
    )
    record.status = StripeEventStatus.APPLIED


def _apply_failure(event, record, invoice, session, existing: Payment | None, context: _Context) -> None:
    if existing is not None:
        context.payment_id = existing.id
        raise _NeedsReview(
            f"Stripe reported a failed payment for session {session.id}, which is already recorded as "
            f"payment #{existing.id}. Nothing was undone; check the payment in Stripe."
        )
    when = (event.created or utcnow()).date()
    invoice.payment_processing_since = None
    invoice.online_payment_note = (
        f"Online bank payment failed on {when.isoformat()}; the invoice is still due."
    )
    record_event(
        invoice,
        InvoiceEventKind.PAYMENT_FAILED,
        None,
        f"Online payment of {format_money(session.amount, session.currency)} failed (Stripe {session.id}).",
    )
    record.status = StripeEventStatus.APPLIED


def _handle_refund(event: stripe_gateway.WebhookEvent, record: StripeEvent, context: _Context) -> None:
    charge = event.refunded_charge()
    payment = (
        db.session.scalar(
            sa.select(Payment).where(Payment.stripe_payment_intent_id == charge.payment_intent_id)
        )
        if charge.payment_intent_id
        else None
    )
    if payment is None:
        raise _NeedsReview(
            f"No payment is recorded for Stripe payment {charge.payment_intent_id or charge.charge_id} yet. "
            "The refund is kept and applied when that payment arrives."
        )
    context.payment_id = payment.id
    first_allocation = min(payment.allocations, key=lambda a: a.id, default=None)
    if first_allocation is not None:
        context.invoice_id = first_allocation.invoice_id
    if charge.currency != payment.currency:
        raise _NeedsReview(
            f"The refund is in {charge.currency} but payment #{payment.id} is in {payment.currency}."
        )
    # Lock the payment before reading what is refunded so far (two refund events at once cannot both apply),
    # and before the event row points at it (see _handle_session).
    lock_and_refresh(payment)
    record.payment_id = context.payment_id
    still_to_record = charge.amount_refunded - payment.refunded_amount
    if still_to_record <= ZERO:
        record.invoice_id = context.invoice_id
        record.status = StripeEventStatus.IGNORED
        record.problem = (
            f"Already recorded: {format_money(payment.refunded_amount, payment.currency)} refunded so far."
        )
        return
    refunded_on = (event.created or utcnow()).date()
    for amount, refund_id in _refunds_to_record(charge, still_to_record):
        record_refund(
            payment, amount, refunded_on, None, reason="Refunded through Stripe", stripe_refund_id=refund_id
        )
    record.invoice_id = context.invoice_id
    record.status = StripeEventStatus.APPLIED


def _refunds_to_record(charge: stripe_gateway.ChargeRefundedData, still_to_record: Decimal):
    """One refund per refund the event lists and we lack when they add up; else one for the difference."""
    listed_ids = [r.id for r in charge.refunds]
    known = (
        set(
            db.session.scalars(
                sa.select(Refund.stripe_refund_id).where(Refund.stripe_refund_id.in_(listed_ids))
            )
        )
        if listed_ids
        else set()
    )
    new = [r for r in charge.refunds if r.id not in known and r.status in ("succeeded", "pending", "")]
    if new and sum((r.amount for r in new), ZERO) == still_to_record:
        return [(r.amount, r.id) for r in new]
    newest = new[-1].id if len(new) == 1 else None
    return [(still_to_record, newest)]


_HANDLERS = {
    SESSION_COMPLETED: _handle_session,
    SESSION_ASYNC_SUCCEEDED: _handle_session,
    SESSION_ASYNC_FAILED: _handle_session,
    CHARGE_REFUNDED: _handle_refund,
}


# --- Checks ------------------------------------------------------------------------------------------------


def _invoice_named_by(session: stripe_gateway.CheckoutSessionData) -> Invoice:
    raw_id = session.metadata.get("invoice_id")
    invoice = None
    if raw_id is not None:
        # Beyond the id column's range (or not a number) names no invoice: PostgreSQL would refuse the lookup.
        invoice_id = bounded_int(raw_id)
        invoice = db.session.get(Invoice, invoice_id) if invoice_id is not None else None
    elif session.client_reference_id:
        invoice = db.session.scalar(sa.select(Invoice).where(Invoice.number == session.client_reference_id))
    if invoice is None or invoice.is_draft:
        named = raw_id or session.client_reference_id or "none"
        raise _NeedsReview(f"The payment names an invoice that is not known here ({named}).")
    for label, value in (
        ("reference", session.client_reference_id),
        ("invoice number", session.metadata.get("invoice_number")),
    ):
        if value and value != invoice.number:
            raise _NeedsReview(
                f"The payment names invoice #{invoice.id} ({invoice.number}) but its {label} is {value}."
            )
    return invoice


def _check_amount(session: stripe_gateway.CheckoutSessionData, invoice: Invoice) -> None:
    paid = format_money(session.amount, session.currency)
    if session.currency != invoice.currency:
        raise _NeedsReview(f"Paid {paid}, but invoice {invoice.number} is in {invoice.currency}.")
    asked_currency = session.metadata.get("currency")
    if asked_currency and asked_currency != session.currency:
        raise _NeedsReview(f"Paid {paid}, but the payment was started in {asked_currency}.")
    try:
        expected = parse_decimal(session.metadata["expected_amount"], AMOUNT_OR_ZERO, session.currency)
    except (KeyError, DecimalRefused):
        raise _NeedsReview(
            f"Paid {paid}, but the payment carries no expected amount: it was not started from Tributary."
        ) from None
    if expected != session.amount:
        raise _NeedsReview(
            f"Paid {paid}, but the payment was started for {format_money(expected, session.currency)}."
        )
    if not invoice.status.is_open:
        raise _NeedsReview(f"Paid {paid}, but invoice {invoice.number} is {invoice.status.label.lower()}.")
    if session.amount > invoice.balance_due:
        raise _NeedsReview(
            f"Paid {paid}, more than invoice {invoice.number} still owes "
            f"({format_money(invoice.balance_due, invoice.currency)}); it may have been paid another way."
        )


def lock_invoice(invoice: Invoice) -> None:
    """Events about one invoice are applied one at a time (a row lock on PostgreSQL)."""
    lock_and_refresh(invoice)


def payment_for_session(session: stripe_gateway.CheckoutSessionData) -> Payment | None:
    """The payment already recorded for this Checkout Session or its payment intent, if any."""
    condition = Payment.stripe_checkout_session_id == session.id
    if session.payment_intent_id:
        condition = sa.or_(condition, Payment.stripe_payment_intent_id == session.payment_intent_id)
    return db.session.scalar(sa.select(Payment).where(condition).limit(1))


def _failure_received_for(invoice: Invoice, session_id: str) -> bool:
    failures = db.session.scalars(
        sa.select(StripeEvent).where(
            StripeEvent.invoice_id == invoice.id,
            StripeEvent.type == SESSION_ASYNC_FAILED,
            StripeEvent.status == StripeEventStatus.APPLIED,
        )
    )
    return any(_session_id_of(failure.payload) == session_id for failure in failures)


def _session_id_of(payload: dict) -> str | None:
    obj = ((payload or {}).get("data") or {}).get("object") or {}
    return obj.get("id") if isinstance(obj, dict) else None


# --- Recording ---------------------------------------------------------------------------------------------


def record_session_payment(event, invoice: Invoice, session, actor, allocate: bool) -> Payment:
    """Record a paid session's money with Stripe's fee and net, allocated to the invoice when `allocate`."""
    details = session.charge
    if details is None and session.payment_intent_id:
        try:
            details = stripe_gateway.fetch_charge_details(session.payment_intent_id)
        except stripe_gateway.GatewayError as error:
            # Fees are a courtesy for the books; the payment itself is certain.
            log.warning("Recording %s without Stripe fees: %s", session.id, error)
            details = None
    fee = net = None
    if details is not None and details.fee is not None and details.fee_currency == session.currency:
        fee, net = details.fee, details.net
    payment = record_payment(
        invoice.member,
        session.amount,
        session.currency,
        (event.created or utcnow()).date() if event is not None else today(),
        _method(event.type if event is not None else "", session, details),
        actor,
        reference=session.payment_intent_id or session.id,
        notes=f"Paid online through Stripe Checkout ({session.id}).",
        allocations=[(invoice, session.amount, None)] if allocate else [],
        fee_amount=fee,
        net_amount=net,
        stripe_payment_intent_id=session.payment_intent_id,
        stripe_checkout_session_id=session.id,
    )
    if allocate:
        invoice.payment_processing_since = None
        invoice.online_payment_note = ""
    _apply_waiting_refunds(payment)
    return payment


def _method(event_type: str, session, details) -> PaymentMethod:
    """Card or bank, from what Stripe says was used (or, failing that, what was offered)."""
    used = details.payment_method_type if details is not None else None
    if used:
        return (
            PaymentMethod.STRIPE_CARD
            if used in stripe_gateway.CARD_METHOD_TYPES
            else PaymentMethod.STRIPE_BANK
        )
    if event_type == SESSION_ASYNC_SUCCEEDED:
        return PaymentMethod.STRIPE_BANK  # only delayed (bank) methods succeed asynchronously
    offered = set(session.payment_method_types)
    if not offered or offered & stripe_gateway.CARD_METHOD_TYPES:
        return PaymentMethod.STRIPE_CARD
    return PaymentMethod.STRIPE_BANK


def _apply_waiting_refunds(payment: Payment) -> None:
    """Refund events that arrived before their payment are applied now that it exists."""
    if not payment.stripe_payment_intent_id:
        return
    waiting = db.session.scalars(
        sa.select(StripeEvent)
        .where(
            StripeEvent.type == CHARGE_REFUNDED,
            StripeEvent.status == StripeEventStatus.NEEDS_REVIEW,
            StripeEvent.payment_id.is_(None),
        )
        .order_by(StripeEvent.stripe_created_at, StripeEvent.received_at)
    ).all()
    for record in waiting:
        event = stripe_gateway.event_from_payload(record.payload)
        intent = event.object.get("payment_intent")
        if intent != payment.stripe_payment_intent_id:
            continue
        record.status = StripeEventStatus.IGNORED
        record.problem = ""
        _apply(_handle_refund, event, record)
