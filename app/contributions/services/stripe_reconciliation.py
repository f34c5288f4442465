"""Reconciling Stripe payments: the events kept for review (attach one to an invoice, or dismiss it with a
note) and the lists of what Stripe paid and refunded.

Functions flush and never commit; the reconciliation views commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, lazyload, load_only, selectinload

from ...common.errors import DomainError, ValidationFailed
from ...common.time import utcnow
from ...extensions import db
from .. import stripe_gateway
from ..models import (
    Invoice,
    Member,
    Payment,
    PaymentAllocation,
    StripeEvent,
    StripeEventStatus,
)
from .stripe_payments import (
    CHARGE_REFUNDED,
    PAID_SESSION_STATUSES,
    SESSION_ASYNC_FAILED,
    SESSION_ASYNC_SUCCEEDED,
    SESSION_COMPLETED,
    lock_invoice,
    payment_for_session,
    record_session_payment,
)


class EventNotReviewable(DomainError):
    """The event is not waiting for review, or cannot be attached to an invoice."""


@dataclass(frozen=True)
class EventSummary:
    """What a person needs to review an event: what it is about and how much, as far as it can be read."""

    record: StripeEvent
    amount: Decimal | None
    currency: str | None
    stripe_object_id: str | None
    named_invoice: str | None
    customer_email: str | None
    attachable: bool


def summarize(record: StripeEvent) -> EventSummary:
    """Read an event's payload for the review page (never fails: unreadable parts are None)."""
    amount = currency = object_id = named = email = None
    attachable = False
    try:
        event = stripe_gateway.event_from_payload(record.payload)
        object_id = event.object.get("id")
        if event.type in (SESSION_COMPLETED, SESSION_ASYNC_SUCCEEDED, SESSION_ASYNC_FAILED):
            session = event.checkout_session()
            amount, currency, email = session.amount, session.currency, session.customer_email
            named = session.metadata.get("invoice_number") or session.client_reference_id
            attachable = event.type == SESSION_ASYNC_SUCCEEDED or (
                event.type == SESSION_COMPLETED and session.payment_status in PAID_SESSION_STATUSES
            )
        elif event.type == CHARGE_REFUNDED:
            charge = event.refunded_charge()
            amount, currency = charge.amount_refunded, charge.currency
    except DomainError:
        pass
    return EventSummary(record, amount, currency, object_id, named, email, attachable)


def review_queue() -> list[EventSummary]:
    """Every event waiting for review, oldest first (they are few and each needs a decision)."""
    records = db.session.scalars(
        sa.select(StripeEvent)
        .where(StripeEvent.status == StripeEventStatus.NEEDS_REVIEW)
        # The page names each event's invoice: its number, not its member and hub.
        .options(
            joinedload(StripeEvent.invoice).options(
                load_only(Invoice.id, Invoice.number), lazyload(Invoice.hub), lazyload(Invoice.member)
            )
        )
        .order_by(StripeEvent.received_at, StripeEvent.id)
    ).all()
    return [summarize(record) for record in records]


def attach_event(record: StripeEvent, invoice_number: str, actor) -> tuple[Payment, bool]:
    """Record a reviewed paid session's money for the invoice operations chose.

    The amount and currency still come from the event. When the amount is more than the invoice owes, nothing
    is allocated and the payment is credit on the member's account. Returns (payment, allocated).
    """
    _refuse_unless_waiting(record)
    event = stripe_gateway.event_from_payload(record.payload)
    summary = summarize(record)
    if not summary.attachable:
        raise EventNotReviewable(
            "Only a paid Checkout Session can be attached to an invoice; dismiss this event with a note."
        )
    session = event.checkout_session()
    number = (invoice_number or "").strip()
    invoice = db.session.scalar(sa.select(Invoice).where(Invoice.number == number)) if number else None
    if invoice is None or invoice.is_draft:
        raise ValidationFailed(
            "Choose an issued invoice.", {"invoice_number": [f"No issued invoice is numbered {number!r}."]}
        )
    if invoice.currency != session.currency:
        message = f"The payment is in {session.currency}; invoice {invoice.number} is in {invoice.currency}."
        raise ValidationFailed("The currencies differ.", {"invoice_number": [message]})
    lock_invoice(invoice)
    existing = payment_for_session(session)
    if existing is not None:
        raise EventNotReviewable(f"This payment is already recorded as payment #{existing.id}.")
    allocate = invoice.status.is_open and session.amount <= invoice.balance_due
    payment = record_session_payment(event, invoice, session, actor, allocate=allocate)
    outcome = (
        f"allocated to invoice {invoice.number}"
        if allocate
        else f"more than invoice {invoice.number} owes: kept as credit on {invoice.member.name}'s account"
    )
    _resolve(record, actor, f"Attached by {_who(actor)}: {outcome}.")
    record.invoice_id = invoice.id
    record.payment_id = payment.id
    db.session.flush()
    return payment, allocate


def dismiss_event(record: StripeEvent, note: str, actor) -> None:
    """Close a reviewed event without applying it; the note says why."""
    _refuse_unless_waiting(record)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("Say why.", {"note": ["Say why this event is dismissed."]})
    _resolve(record, actor, f"Dismissed by {_who(actor)}: {note}")
    db.session.flush()


def _refuse_unless_waiting(record: StripeEvent) -> None:
    if record.status != StripeEventStatus.NEEDS_REVIEW:
        raise EventNotReviewable(
            f"Event {record.id} is {record.status.value.replace('_', ' ')}, not waiting."
        )


def _resolve(record: StripeEvent, actor, line: str) -> None:
    record.status = StripeEventStatus.RESOLVED
    record.resolved_at = utcnow()
    record.resolved_by_id = getattr(actor, "id", None)
    record.problem = f"{record.problem}\n{line}".strip()[:4000]


def _who(actor) -> str:
    return getattr(actor, "full_name", None) or getattr(actor, "email", None) or "system"


# --- Lists -------------------------------------------------------------------------------------------------


#: A payment that came through Stripe (a Checkout Session or a payment intent), the list's own filter.
STRIPE_PAYMENT = sa.or_(
    Payment.stripe_checkout_session_id.is_not(None), Payment.stripe_payment_intent_id.is_not(None)
)
#: The Stripe payments in the list's order: the list, its count and its totals read them alone, instead of
#: every payment (the condition has no bound value, so SQLite matches the partial index to the query).
sa.Index(
    "ix_payments_stripe_list_order",
    Payment.received_on,
    Payment.id,
    sqlite_where=STRIPE_PAYMENT,
    postgresql_where=STRIPE_PAYMENT,
)


def _stripe_payment_filters(text: str | None) -> list:
    filters = [STRIPE_PAYMENT]
    if text and text.strip():
        pattern = f"%{text.strip()}%"
        invoice_match = (
            sa.select(PaymentAllocation.id)
            .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
            .where(PaymentAllocation.payment_id == Payment.id, Invoice.number.ilike(pattern))
            .exists()
        )
        filters.append(
            sa.or_(
                Payment.member.has(Member.name.ilike(pattern)),
                Payment.reference.ilike(pattern),
                Payment.stripe_checkout_session_id.ilike(pattern),
                invoice_match,
            )
        )
    return filters


def stripe_payments_query(text: str | None = None):
    """Stripe payments, newest first, with their allocations, invoices and refunds loaded."""
    return (
        sa.select(Payment)
        .where(*_stripe_payment_filters(text))
        .options(
            selectinload(Payment.allocations).joinedload(PaymentAllocation.invoice),
            selectinload(Payment.refunds),
        )
        .order_by(Payment.received_on.desc(), Payment.id.desc())
    )


def stripe_totals(text: str | None = None) -> list[tuple]:
    """Per currency for the same list: (currency, received, fees, net, refunded)."""
    return [
        tuple(row)
        for row in db.session.execute(
            sa.select(
                Payment.currency,
                sa.func.sum(Payment.amount),
                sa.func.sum(Payment.fee_amount),
                sa.func.sum(Payment.net_amount),
                sa.func.sum(Payment.refunded_amount),
            )
            .where(*_stripe_payment_filters(text))
            .group_by(Payment.currency)
            .order_by(Payment.currency)
        )
    ]


def last_event_received_at() -> datetime | None:
    """When Stripe last reached the webhook (to see at a glance that it is connected)."""
    return db.session.scalar(sa.select(sa.func.max(StripeEvent.received_at)))


def invoice_stripe_payments(invoice: Invoice) -> list[PaymentAllocation]:
    """This invoice's allocations that come from Stripe payments."""
    return list(
        db.session.scalars(
            sa.select(PaymentAllocation)
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(
                PaymentAllocation.invoice_id == invoice.id,
                sa.or_(
                    Payment.stripe_checkout_session_id.is_not(None),
                    Payment.stripe_payment_intent_id.is_not(None),
                ),
            )
            .options(joinedload(PaymentAllocation.payment))
            .order_by(PaymentAllocation.id)
        )
    )
