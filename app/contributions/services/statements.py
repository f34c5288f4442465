"""Statement of account: every invoice, credit note, payment, write-off and refund of a member, per currency,
in date order, with the running balance. A statement is a snapshot: its PDF is rendered on demand, not stored.

Lines are in the currency of the account they move. A payment appears in its own currency; when part of it
pays an invoice in another currency, that part leaves the payment's currency (a debit there) and reaches the
invoice's currency (a credit there) at the rate stored on the allocation, so both balances stay true.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import force_locale, gettext
from sqlalchemy.orm import selectinload

from ...common.documents import render_document
from ...common.money import format_money, format_rate
from ...common.time import today
from ...extensions import db
from ..models import ZERO, Invoice, InvoiceStatus, Member, Payment, PaymentAllocation
from .documents import bill_to_for

#: Order of lines on one day: what is owed first, then what settles it.
_ORDER = {
    "invoice": 0,
    "payment": 1,
    "conversion_out": 2,
    "conversion_in": 3,
    "credit_note": 4,
    "write_off": 5,
    "refund": 6,
}


@dataclass
class StatementLine:
    on: date
    kind: str  # invoice, credit_note, payment, conversion_in, conversion_out, write_off, refund
    reference: str
    description: str
    debit: Decimal = ZERO  # increases what the member owes
    credit: Decimal = ZERO  # decreases it
    balance: Decimal = ZERO  # running, after this line
    invoice_id: int | None = None
    payment_id: int | None = None


@dataclass
class CurrencyAccount:
    currency: str
    lines: list[StatementLine] = field(default_factory=list)

    @property
    def balance(self) -> Decimal:
        """Positive: the member owes this; negative: credit on account."""
        return self.lines[-1].balance if self.lines else ZERO

    @property
    def total_debits(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def total_credits(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)


@dataclass
class Statement:
    member: Member
    as_of: date
    accounts: list[CurrencyAccount]
    open_invoices: list[Invoice]

    @property
    def is_empty(self) -> bool:
        return not self.accounts


def build_statement(member: Member, as_of: date | None = None, lang: str = "en") -> Statement:
    """The member's account up to `as_of` (today by default), per currency; descriptions in `lang`."""
    as_of = as_of or today()
    invoices = db.session.scalars(
        sa.select(Invoice)
        .where(
            Invoice.member_id == member.id, Invoice.status != InvoiceStatus.DRAFT, Invoice.issued_on <= as_of
        )
        .options(selectinload(Invoice.credit_notes), selectinload(Invoice.write_offs))
        .order_by(Invoice.issued_on, Invoice.id)
    ).all()
    payments = db.session.scalars(
        sa.select(Payment)
        .where(Payment.member_id == member.id, Payment.received_on <= as_of)
        .options(
            selectinload(Payment.allocations).joinedload(PaymentAllocation.invoice),
            selectinload(Payment.refunds),
        )
        .order_by(Payment.received_on, Payment.id)
    ).all()

    lines: dict[str, list[StatementLine]] = {}

    def add(currency: str, line: StatementLine) -> None:
        lines.setdefault(currency, []).append(line)

    with force_locale(lang):
        for invoice in invoices:
            add(
                invoice.currency,
                StatementLine(
                    invoice.issued_on,
                    "invoice",
                    invoice.number,
                    gettext("Invoice, fiscal year %(year)s", year=str(invoice.fiscal_year)),
                    debit=invoice.total,
                    invoice_id=invoice.id,
                ),
            )
            for note in invoice.credit_notes:
                if note.issued_on <= as_of:
                    add(
                        invoice.currency,
                        StatementLine(
                            note.issued_on,
                            "credit_note",
                            note.number,
                            gettext("Credit note on invoice %(number)s", number=invoice.number),
                            credit=note.amount,
                            invoice_id=invoice.id,
                        ),
                    )
            for entry in invoice.write_offs:
                if entry.written_off_on <= as_of:
                    add(
                        invoice.currency,
                        StatementLine(
                            entry.written_off_on,
                            "write_off",
                            invoice.number,
                            gettext("Written off: %(reason)s", reason=entry.reason),
                            credit=entry.amount,
                            invoice_id=invoice.id,
                        ),
                    )
        for payment in payments:
            same = [a for a in payment.allocations if a.invoice.currency == payment.currency]
            numbers = ", ".join(a.invoice.number for a in same)
            description = gettext("Payment received")
            if payment.reference:
                description += f" ({payment.reference})"
            if numbers:
                description += " · " + gettext("applied to %(numbers)s", numbers=numbers)
            add(
                payment.currency,
                StatementLine(
                    payment.received_on,
                    "payment",
                    gettext("Payment #%(id)s", id=payment.id),
                    description,
                    credit=payment.amount,
                    payment_id=payment.id,
                ),
            )
            for allocation in payment.allocations:
                invoice = allocation.invoice
                if invoice.currency == payment.currency:
                    continue
                on = _applied_on(payment, allocation)
                if on > as_of:
                    continue
                rate = _rate(allocation.exchange_rate, lang)
                add(
                    payment.currency,
                    StatementLine(
                        on,
                        "conversion_out",
                        gettext("Payment #%(id)s", id=payment.id),
                        gettext(
                            "Converted to %(currency)s at %(rate)s for invoice %(number)s",
                            currency=invoice.currency,
                            rate=rate,
                            number=invoice.number,
                        ),
                        debit=allocation.payment_amount,
                        payment_id=payment.id,
                    ),
                )
                add(
                    invoice.currency,
                    StatementLine(
                        on,
                        "conversion_in",
                        gettext("Payment #%(id)s", id=payment.id),
                        gettext(
                            "Payment of %(amount)s at %(rate)s applied to %(number)s",
                            amount=format_money(allocation.payment_amount, payment.currency, lang),
                            rate=rate,
                            number=invoice.number,
                        ),
                        credit=allocation.amount,
                        payment_id=payment.id,
                        invoice_id=invoice.id,
                    ),
                )
            for refund in payment.refunds:
                if refund.refunded_on <= as_of:
                    add(
                        payment.currency,
                        StatementLine(
                            refund.refunded_on,
                            "refund",
                            gettext("Payment #%(id)s", id=payment.id),
                            gettext("Refund") + (f": {refund.reason}" if refund.reason else ""),
                            debit=refund.amount,
                            payment_id=payment.id,
                        ),
                    )

    accounts = []
    for currency in sorted(lines):
        ordered = sorted(lines[currency], key=lambda line: (line.on, _ORDER[line.kind]))
        balance = ZERO
        for line in ordered:
            balance += line.debit - line.credit
            line.balance = balance
        accounts.append(CurrencyAccount(currency, ordered))
    # Balances are today's: the list of open invoices only belongs on a statement as of today.
    open_invoices = (
        [invoice for invoice in invoices if invoice.status.is_open and invoice.balance_due > ZERO]
        if as_of >= today()
        else []
    )
    return Statement(member, as_of, accounts, open_invoices)


def _rate(rate: Decimal | None, lang: str) -> str:
    """An exchange rate as the reader writes numbers (1.08, or 1,08 in French), with all its digits."""
    return format_rate(rate, lang, min_decimals=0) if rate is not None else ""


def _applied_on(payment: Payment, allocation: PaymentAllocation) -> date:
    """The day money applied across currencies moved: the day received when it was applied as the payment was
    recorded, otherwise the day credit on account was applied."""
    recorded = payment.created_at.date() if payment.created_at else None
    applied = allocation.created_at.date() if allocation.created_at else None
    if applied is None or applied == recorded:
        return payment.received_on
    return max(payment.received_on, applied)


def statement_filename(member: Member, as_of: date) -> str:
    slug = (
        "".join(ch if ch.isalnum() else "-" for ch in member.name).strip("-").lower() or f"member-{member.id}"
    )
    return f"statement-{slug}-{as_of.isoformat()}.pdf"


def render_statement_pdf(member: Member, as_of: date | None = None) -> bytes:
    """The statement as a PDF in the member's language, with the member's hub as issuer."""
    lang = member.language.value
    return render_document(
        "pdf/statement.html",
        issuer=member.hub,
        lang=lang,
        recipient=bill_to_for(member),
        statement=build_statement(member, as_of, lang),
    )
