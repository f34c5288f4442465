"""Payments: recording money received, allocating it to a member's invoices, credit on account, write-offs and
refunds. The invoice status always follows from these through `Invoice.refresh_balance()`.

Every function flushes and never commits; the caller (a view, the CLI, the Stripe webhook) commits once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from babel.numbers import format_percent

from ...common import search
from ...common.decimals import AMOUNT, RATE, decimal_problem
from ...common.errors import DomainError, ValidationFailed
from ...common.locks import lock_and_refresh
from ...common.money import convert, format_money, is_currency, quantize
from ...common.time import today
from ...extensions import db
from ..models import (
    ZERO,
    Invoice,
    InvoiceEvent,
    InvoiceEventKind,
    InvoiceStatus,
    Member,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    Refund,
    WriteOff,
)
from .invoicing import record_invoice_event

#: A write-off is for a small remainder (bank fees): at most this share of the invoice total.
WRITE_OFF_SHARE = Decimal("0.05")
#: The share as the pages and messages quote it ("5%").
WRITE_OFF_SHARE_TEXT = format_percent(WRITE_OFF_SHARE, format="#,##0.##%", locale="en")


class PaymentError(DomainError):
    """A payment, allocation, write-off or refund was refused."""


class AllocationExceedsBalance(PaymentError):
    """More was allocated to an invoice than it still owes."""


class AllocationExceedsPayment(PaymentError):
    """More was allocated than the payment has left unallocated."""


class WrongMember(PaymentError):
    """A payment was allocated to another member's invoice."""


class CurrencyNeedsRate(PaymentError):
    """Payment and invoice currencies differ and no exchange rate was given."""


class InvoiceNotOpen(PaymentError):
    """The invoice is a draft, or already paid, credited or written off."""


class WriteOffTooLarge(PaymentError):
    """A write-off is only for a small remainder."""


class RefundExceedsPayment(PaymentError):
    """More was refunded than the payment has left."""


# --- Recording and allocating ------------------------------------------------------------------------------


def record_payment(
    member: Member,
    amount: Decimal,
    currency: str,
    received_on: date,
    method: PaymentMethod,
    actor,
    *,
    reference: str = "",
    notes: str = "",
    allocations: Iterable[tuple[Invoice, Decimal, Decimal | None]] = (),
    fee_amount: Decimal | None = None,
    net_amount: Decimal | None = None,
    stripe_payment_intent_id: str | None = None,
    stripe_checkout_session_id: str | None = None,
) -> Payment:
    """Record money received from a member and allocate it; what is not allocated stays as credit on account.

    `allocations` are (invoice, amount in the invoice's currency, exchange rate or None).
    """
    errors: dict[str, list[str]] = {}
    if not is_currency(currency):
        errors["currency"] = [f"{currency!r} is not a currency code."]
    if amount is None or amount <= ZERO:
        errors["amount"] = ["The amount must be more than zero."]
    elif (problem := decimal_problem(Decimal(amount), AMOUNT, currency)) is not None:
        errors["amount"] = [problem]
    if received_on is None:
        errors["received_on"] = ["Give the date the money was received."]
    if errors:
        raise ValidationFailed("The payment could not be recorded.", errors)
    payment = Payment(
        member=member,
        member_id=member.id,
        amount=quantize(amount, currency),
        currency=currency,
        received_on=received_on,
        method=PaymentMethod(method),
        reference=(reference or "").strip(),
        notes=(notes or "").strip(),
        fee_amount=quantize(fee_amount, currency) if fee_amount is not None else None,
        net_amount=quantize(net_amount, currency) if net_amount is not None else None,
        stripe_payment_intent_id=stripe_payment_intent_id,
        stripe_checkout_session_id=stripe_checkout_session_id,
        recorded_by_id=getattr(actor, "id", None),
    )
    db.session.add(payment)
    db.session.flush()
    for invoice, invoice_amount, rate in allocations:
        if invoice_amount is None or invoice_amount == ZERO:
            continue
        allocate_payment(payment, invoice, invoice_amount, actor, exchange_rate=rate)
    return payment


def allocate_payment(
    payment: Payment, invoice: Invoice, amount: Decimal, actor, exchange_rate: Decimal | None = None
) -> PaymentAllocation:
    """Apply part of a payment (or of its credit on account) to one open invoice of the same member.

    `amount` is in the invoice's currency; across currencies `exchange_rate` is invoice-currency units per one
    payment-currency unit, and the part taken from the payment is amount / rate, rounded to its currency.
    """
    if invoice.member_id != payment.member_id:
        raise WrongMember(
            f"Invoice {invoice.number or invoice.id} belongs to another member; "
            f"this payment came from {payment.member.name}."
        )
    _lock(payment, invoice)
    if not invoice.status.is_open:
        raise InvoiceNotOpen(f"Invoice {invoice.number or invoice.id} is {invoice.status.label.lower()}.")
    if amount is None or amount <= ZERO:
        raise ValidationFailed(
            "The amount to allocate must be more than zero.", {"amount": ["More than zero."]}
        )
    if (problem := decimal_problem(Decimal(amount), AMOUNT, invoice.currency)) is not None:
        raise ValidationFailed(problem, {"amount": [problem]})
    if exchange_rate is not None and (problem := decimal_problem(Decimal(exchange_rate), RATE)) is not None:
        raise ValidationFailed(problem, {"rate": [problem]})
    amount = quantize(Decimal(amount), invoice.currency)
    if amount > invoice.balance_due:
        raise AllocationExceedsBalance(
            f"{_fmt(amount, invoice.currency)} is more than invoice {invoice.number} still owes "
            f"({_fmt(invoice.balance_due, invoice.currency)})."
        )
    unallocated = payment.unallocated_amount
    if invoice.currency == payment.currency:
        exchange_rate = None
        if amount > unallocated:
            raise AllocationExceedsPayment(
                f"{_fmt(amount, payment.currency)} is more than this payment has left to allocate "
                f"({_fmt(unallocated, payment.currency)})."
            )
        payment_amount = amount
    else:
        if exchange_rate is None or exchange_rate <= ZERO:
            raise CurrencyNeedsRate(
                f"The payment is in {payment.currency} and invoice {invoice.number} in {invoice.currency}: "
                f"give the exchange rate used ({invoice.currency} for 1 {payment.currency})."
            )
        exchange_rate = Decimal(exchange_rate)
        available = convert(unallocated, payment.currency, invoice.currency, exchange_rate).amount
        if amount > available:
            raise AllocationExceedsPayment(
                f"{_fmt(amount, invoice.currency)} is more than this payment has left to allocate "
                f"({_fmt(unallocated, payment.currency)}, that is {_fmt(available, invoice.currency)} "
                f"at {exchange_rate.normalize():f})."
            )
        # Rounding both ways can overshoot by a cent: never take more than the payment has left.
        payment_amount = min(quantize(amount / exchange_rate, payment.currency), unallocated)
    allocation = PaymentAllocation(
        payment=payment,
        invoice=invoice,
        amount=amount,
        payment_amount=payment_amount,
        exchange_rate=exchange_rate,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(allocation)
    db.session.flush()
    invoice.refresh_balance()
    detail = f"Payment #{payment.id} ({payment.method.label}"
    detail += f", {payment.reference})" if payment.reference else ")"
    detail += f": {_fmt(amount, invoice.currency)}"
    if exchange_rate is not None:
        detail += f" from {_fmt(payment_amount, payment.currency)} at {exchange_rate.normalize():f}"
    record_event(invoice, InvoiceEventKind.PAYMENT, actor, detail)
    db.session.flush()
    return allocation


#: What settles a payment and an invoice: reloaded with them under their row locks.
PAYMENT_SETTLEMENTS = ("allocations", "refunds")
INVOICE_SETTLEMENTS = ("allocations", "credit_notes", "write_offs")


def _lock(payment: Payment, invoice: Invoice) -> None:
    """Reload the payment and the invoice under a row lock: two allocations at once cannot overshoot."""
    lock_and_refresh(payment, also=PAYMENT_SETTLEMENTS)
    lock_and_refresh(invoice, also=INVOICE_SETTLEMENTS)


# --- Write-offs and refunds --------------------------------------------------------------------------------


def write_off_cap(invoice: Invoice) -> Decimal:
    """WRITE_OFF_SHARE of the invoice total, in its currency: the most any write-off on it may be."""
    return quantize(invoice.total * WRITE_OFF_SHARE, invoice.currency)


def write_off_limit(invoice: Invoice) -> Decimal:
    """The largest write-off allowed on this invoice now: its cap, and never more than it still owes."""
    return max(min(write_off_cap(invoice), invoice.balance_due), ZERO)


def write_off(
    invoice: Invoice, amount: Decimal, reason: str, actor, written_off_on: date | None = None
) -> WriteOff:
    """Write a small remainder (bank fees, rounding) off an open invoice, with a reason."""
    lock_and_refresh(invoice, also=INVOICE_SETTLEMENTS)
    if not invoice.status.is_open:
        raise InvoiceNotOpen(f"Invoice {invoice.number or invoice.id} is {invoice.status.label.lower()}.")
    errors: dict[str, list[str]] = {}
    if amount is None or amount <= ZERO:
        errors["amount"] = ["The amount must be more than zero."]
    elif (problem := decimal_problem(Decimal(amount), AMOUNT, invoice.currency)) is not None:
        errors["amount"] = [problem]
    if not (reason or "").strip():
        errors["reason"] = ["Say why the remainder is written off (e.g. bank charges deducted)."]
    if errors:
        raise ValidationFailed("The write-off could not be recorded.", errors)
    amount = quantize(Decimal(amount), invoice.currency)
    if amount > invoice.balance_due:
        raise WriteOffTooLarge(
            f"{_fmt(amount, invoice.currency)} is more than invoice {invoice.number} still owes "
            f"({_fmt(invoice.balance_due, invoice.currency)})."
        )
    cap = write_off_cap(invoice)
    if amount > cap:
        raise WriteOffTooLarge(
            f"A write-off is for a small remainder: at most {WRITE_OFF_SHARE_TEXT} of the invoice total "
            f"({_fmt(cap, invoice.currency)}). To reduce the invoice by more, issue a credit note."
        )
    entry = WriteOff(
        invoice=invoice,
        amount=amount,
        reason=reason.strip(),
        written_off_on=written_off_on or today(),
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(entry)
    db.session.flush()
    invoice.refresh_balance()
    record_event(
        invoice,
        InvoiceEventKind.WRITTEN_OFF,
        actor,
        f"{_fmt(amount, invoice.currency)} written off: {entry.reason}",
    )
    db.session.flush()
    return entry


def record_refund(
    payment: Payment,
    amount: Decimal,
    refunded_on: date,
    actor,
    *,
    reason: str = "",
    stripe_refund_id: str | None = None,
) -> Refund:
    """Record money given back on a payment.

    The refund comes first out of the payment's credit on account; beyond that, the payment's allocations are
    reduced (newest first), so the invoices they paid owe that money again.
    """
    lock_and_refresh(payment, also=PAYMENT_SETTLEMENTS)
    if amount is None or amount <= ZERO:
        raise ValidationFailed("The refund must be more than zero.", {"amount": ["More than zero."]})
    amount = quantize(Decimal(amount), payment.currency)
    refundable = payment.amount - payment.refunded_amount
    if amount > refundable:
        raise RefundExceedsPayment(
            f"{_fmt(amount, payment.currency)} is more than payment #{payment.id} has left to refund "
            f"({_fmt(refundable, payment.currency)})."
        )
    refund = Refund(
        payment=payment,
        amount=amount,
        currency=payment.currency,
        refunded_on=refunded_on or today(),
        reason=(reason or "").strip(),
        stripe_refund_id=stripe_refund_id,
    )
    db.session.add(refund)
    to_take_back = amount - max(payment.unallocated_amount, ZERO)
    payment.refunded_amount = payment.refunded_amount + amount
    touched: list[tuple[Invoice, Decimal]] = []
    for allocation in sorted(payment.allocations, key=lambda a: a.id, reverse=True):
        if to_take_back <= ZERO:
            break
        invoice = allocation.invoice
        taken = min(allocation.payment_amount, to_take_back)
        to_take_back -= taken
        if taken == allocation.payment_amount:
            invoice_amount = allocation.amount
            payment.allocations.remove(allocation)
            invoice.allocations.remove(allocation)
            db.session.delete(allocation)
        else:
            allocation.payment_amount = allocation.payment_amount - taken
            before = allocation.amount
            if allocation.exchange_rate is None:
                allocation.amount = allocation.payment_amount
            else:
                allocation.amount = convert(
                    allocation.payment_amount, payment.currency, invoice.currency, allocation.exchange_rate
                ).amount
            invoice_amount = before - allocation.amount
        touched.append((invoice, invoice_amount))
    db.session.flush()
    for invoice, invoice_amount in touched:
        invoice.refresh_balance()
        record_event(
            invoice,
            InvoiceEventKind.REFUNDED,
            actor,
            f"Refund on payment #{payment.id}: {_fmt(invoice_amount, invoice.currency)} owed again"
            + (f" ({refund.reason})" if refund.reason else ""),
        )
    db.session.flush()
    return refund


# --- Reading -----------------------------------------------------------------------------------------------


def matching_payments(text: str) -> sa.ColumnElement[bool]:
    """Payments whose reference, or whose member's name, contains `text` (accents and case aside)."""
    return search.matches(Payment.__table__, text, related=[(Payment.member_id, Member.__table__)])


def matching_payment_ids(text: str) -> sa.Select:
    """Ids of payments whose reference, or whose member's name, contains `text` (accents and case aside)."""
    return sa.select(Payment.id).where(matching_payments(text))


def open_invoices(member: Member) -> list[Invoice]:
    """The member's issued invoices that still owe something, oldest first (the order payments settle)."""
    return list(
        db.session.scalars(
            sa.select(Invoice)
            .where(
                Invoice.member_id == member.id,
                Invoice.status.in_([InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID]),
            )
            .order_by(Invoice.due_on, Invoice.issued_on, Invoice.id)
        )
    )


def suggest_allocations(invoices: Iterable[Invoice], amount: Decimal, currency: str) -> dict[int, Decimal]:
    """Spread an amount over invoices in the payment's currency, oldest first: {invoice id: amount}."""
    left = amount or ZERO
    suggestion: dict[int, Decimal] = {}
    for invoice in invoices:
        if invoice.currency != currency or left <= ZERO:
            continue
        share = min(invoice.balance_due, left)
        if share > ZERO:
            suggestion[invoice.id] = share
            left -= share
    return suggestion


@dataclass(frozen=True)
class Credit:
    """Credit on a member's account in one currency, and the payments it comes from."""

    currency: str
    amount: Decimal
    payments: list[Payment]


def credit_on_account(member: Member) -> list[Credit]:
    """The member's unallocated payment money, per currency."""
    payments = db.session.scalars(
        sa.select(Payment)
        .where(Payment.member_id == member.id)
        .options(sa.orm.selectinload(Payment.allocations))
        .order_by(Payment.received_on, Payment.id)
    ).all()
    by_currency: dict[str, list[Payment]] = {}
    for payment in payments:
        if payment.unallocated_amount > ZERO:
            by_currency.setdefault(payment.currency, []).append(payment)
    return [
        Credit(currency, sum((p.unallocated_amount for p in items), ZERO), items)
        for currency, items in sorted(by_currency.items())
    ]


# --- Events ------------------------------------------------------------------------------------------------


def record_event(
    invoice: Invoice, kind: InvoiceEventKind, actor, detail: str = "", reminder_level: int | None = None
) -> InvoiceEvent:
    """Add a line to the invoice's history (through the invoicing service, which owns the history)."""
    return record_invoice_event(invoice, kind, actor, detail=detail, reminder_level=reminder_level)


def _fmt(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency)
