"""Demo payments on the demo invoices: paid in full, partly paid, overpaid (credit on account), paid in
another currency at a recorded rate, settled with a small write-off, and some left unpaid, so that two members
have two consecutive unpaid years in the arrears matrix. Runs after the demo invoices; twice adds nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_UP, Decimal

import sqlalchemy as sa

from ...common.audit import acting_as
from ...common.fiscal import current_fiscal_year
from ...common.money import quantize
from ...common.time import today
from ...extensions import db
from ..models import Invoice, InvoiceKind, Payment, PaymentMethod
from ..services.payments import record_payment, write_off

#: Invoice-currency units for one unit of the payment currency, as a bank would have applied them.
DEMO_RATES = {("USD", "EUR"): Decimal("0.92"), ("EUR", "USD"): Decimal("1.08")}
#: Members (by order among those invoiced two years ago) that paid neither of the last two years.
UNPAID_BOTH_YEARS = 2


def _received(invoice: Invoice, days: int) -> date:
    return min(invoice.issued_on + timedelta(days=days), today())


def _annual(fiscal_year: int) -> list[Invoice]:
    return list(
        db.session.scalars(
            sa.select(Invoice)
            .where(Invoice.fiscal_year == fiscal_year, Invoice.kind == InvoiceKind.ANNUAL_CONTRIBUTION)
            .order_by(Invoice.member_id, Invoice.id)
        )
    )


def _pay(
    reference: str,
    invoice: Invoice,
    amount: Decimal,
    days: int,
    *,
    allocate: Decimal | None = None,
    currency: str | None = None,
    rate: Decimal | None = None,
    method=PaymentMethod.WIRE,
) -> int:
    """One payment with its demo reference; skipped when a payment with that reference exists."""
    if db.session.scalar(sa.select(Payment.id).where(Payment.reference == reference)):
        return 0
    if not invoice.status.is_open:
        return 0
    currency = currency or invoice.currency
    if allocate is None:
        allocate = min(amount, invoice.balance_due) if currency == invoice.currency else invoice.balance_due
    allocate = min(allocate, invoice.balance_due)
    record_payment(
        invoice.member,
        amount,
        currency,
        _received(invoice, days),
        method,
        None,
        reference=reference,
        notes="Demo payment",
        allocations=[(invoice, allocate, rate)],
    )
    return 1


def seed_payments() -> int:
    """Record the demo payments (idempotent); returns how many were added."""
    current = current_fiscal_year()
    older, recent = _annual(current - 2), _annual(current - 1)
    added = 0
    with acting_as(None, label="seed-demo"):
        in_arrears = {invoice.member_id for invoice in older[:UNPAID_BOTH_YEARS]}
        for number, invoice in enumerate(older[UNPAID_BOTH_YEARS:], start=1):
            method = PaymentMethod.CHEQUE if number % 5 == 0 else PaymentMethod.WIRE
            added += _pay(f"DEMO-{current - 2}-{number:03d}", invoice, invoice.balance_due, 35, method=method)
        payable = [
            invoice for invoice in recent if invoice.member_id not in in_arrears and invoice.status.is_open
        ]
        for number, invoice in enumerate(payable, start=1):
            reference = f"DEMO-{current - 1}-{number:03d}"
            balance = invoice.balance_due
            if number == 1:  # partly paid
                added += _pay(reference, invoice, quantize(balance * Decimal("0.6"), invoice.currency), 30)
            elif number == 2:  # overpaid: the rest stays as credit on account
                added += _pay(reference, invoice, balance + Decimal("750.00"), 20)
            elif number == 3:  # paid from an account in another currency, at the bank's rate
                other = "USD" if invoice.currency == "EUR" else "EUR"
                rate = DEMO_RATES[(other, invoice.currency)]
                amount = (balance / rate).quantize(Decimal("0.01"), rounding=ROUND_UP)
                added += _pay(reference, invoice, amount, 40, currency=other, rate=rate)
            elif number == 4:  # the bank kept its charges: the small remainder is written off
                charges = min(Decimal("35.00"), quantize(invoice.total * Decimal("0.04"), invoice.currency))
                paid = _pay(reference, invoice, balance - charges, 25, allocate=balance - charges)
                if paid and invoice.status.is_open:
                    reason = "Bank charges deducted by the intermediary bank"
                    write_off(
                        invoice, invoice.balance_due, reason, None, written_off_on=_received(invoice, 30)
                    )
                added += paid
            elif number % 3 != 0:  # most others pay in full; every third one is still open
                added += _pay(reference, invoice, balance, 45)
        db.session.flush()
    return added
