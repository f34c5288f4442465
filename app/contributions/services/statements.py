"""Statement of account: every invoice, credit note, payment, write-off and refund of a member, per currency,
in date order, with the running balance. A statement is a snapshot: its PDF is rendered on demand, not stored.

Lines are in the currency of the account they move. A payment appears in its own currency; when part of it
pays an invoice in another currency, that part leaves the payment's currency (a debit there) and reaches the
invoice's currency (a credit there) at the rate stored on the allocation, so both balances stay true.

A long history is not read whole: the latest STATEMENT_RECORDS records are listed, and each account opens
with the balance brought forward from the earlier ones: the member's balance kept per currency
(app/contributions/totals.py, `member_balances`) less what the listed records and any later ones moved, so
that its cost follows the listed period, not the history. The few allocations across currencies are read
whole, through an index of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

import sqlalchemy as sa
from flask_babel import force_locale, gettext
from sqlalchemy.orm import contains_eager, lazyload, load_only, selectinload

from ...common.documents import render_document
from ...common.money import format_money, format_rate
from ...common.time import today
from ...extensions import db
from ..models import (
    ZERO,
    CreditNote,
    Invoice,
    InvoiceStatus,
    Member,
    Payment,
    PaymentAllocation,
    Refund,
    WriteOff,
)
from ..totals import OPEN_INVOICE, member_balances
from .documents import bill_to_for

#: Order of lines on one day: what is owed first, then what settles it.
_ORDER = {
    "opening": -1,
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
    kind: str  # opening, invoice, credit_note, payment, conversion_in, conversion_out, write_off, refund
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
    #: The last day whose records are carried into each account's opening line; None when all are listed.
    brought_forward_until: date | None = None

    @property
    def is_empty(self) -> bool:
        return not self.accounts


#: At most this many records (invoices, credit notes, write-offs, payments, refunds) are listed; earlier
#: ones are carried, per currency, into the balance brought forward, so that a statement costs the same
#: whatever the length of the member's history.
STATEMENT_RECORDS = 100


#: What a statement reads of an invoice: its figures, not its hub, member, bill-to or PDF.
_INVOICE_FIGURES = (
    load_only(
        Invoice.id,
        Invoice.number,
        Invoice.status,
        Invoice.member_id,
        Invoice.fiscal_year,
        Invoice.currency,
        Invoice.issued_on,
        Invoice.due_on,
        Invoice.total,
        Invoice.amount_paid,
        Invoice.amount_credited,
        Invoice.amount_written_off,
    ),
    lazyload(Invoice.hub),
    lazyload(Invoice.member),
)


DAY = timedelta(days=1)


@cache
def _listed_queries() -> dict[str, sa.Select]:
    """The queries of a statement's listed records, built once with parameters (member_id; start and as_of,
    the listed period's first and last days), each kind in its order; and the member's allocations across
    currencies up to as_of, whatever their day (listed or carried forward by the day they were applied)."""
    member_id, start, as_of = sa.bindparam("member_id"), sa.bindparam("start"), sa.bindparam("as_of")
    member_invoice = sa.and_(Invoice.member_id == member_id, Invoice.status != InvoiceStatus.DRAFT)
    return {
        "invoices": (
            sa.select(Invoice)
            .where(member_invoice, Invoice.issued_on.between(start, as_of))
            .options(*_INVOICE_FIGURES)
            .order_by(Invoice.issued_on, Invoice.id)
        ),
        "credit_notes": (
            sa.select(CreditNote)
            .join(Invoice)
            .where(member_invoice, Invoice.issued_on <= as_of, CreditNote.issued_on.between(start, as_of))
            .options(contains_eager(CreditNote.invoice).options(*_INVOICE_FIGURES))
            .order_by(CreditNote.id)
        ),
        "write_offs": (
            sa.select(WriteOff)
            .join(Invoice)
            .where(member_invoice, Invoice.issued_on <= as_of, WriteOff.written_off_on.between(start, as_of))
            .options(contains_eager(WriteOff.invoice).options(*_INVOICE_FIGURES))
            .order_by(WriteOff.id)
        ),
        "payments": (
            sa.select(Payment)
            .where(Payment.member_id == member_id, Payment.received_on.between(start, as_of))
            .options(
                lazyload(Payment.member),
                selectinload(Payment.allocations)
                .joinedload(PaymentAllocation.invoice)
                .options(*_INVOICE_FIGURES),
            )
            .order_by(Payment.received_on, Payment.id)
        ),
        "refunds": (
            sa.select(Refund)
            .join(Payment)
            .where(
                Payment.member_id == member_id,
                Payment.received_on <= as_of,
                Refund.refunded_on.between(start, as_of),
            )
            .options(contains_eager(Refund.payment).lazyload(Payment.member))
            .order_by(Refund.id)
        ),
        "conversions": (
            sa.select(PaymentAllocation)
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
            .where(
                Payment.member_id == member_id,
                Payment.received_on <= as_of,
                PaymentAllocation.exchange_rate.is_not(None),  # only these cross currencies: their own index
                Invoice.currency != Payment.currency,
            )
            .options(
                contains_eager(PaymentAllocation.payment).lazyload(Payment.member),
                contains_eager(PaymentAllocation.invoice).options(*_INVOICE_FIGURES),
            )
            .order_by(PaymentAllocation.id)
        ),
    }


def _record_days(member_id: int, as_of: date) -> list[tuple]:
    """Per kind of record (invoices, credit notes, write-offs, payments, refunds): its day column and the
    select of the member's records of that kind up to `as_of`, each read through the member's date indexes.
    (A draft has no issue date, so the index alone tells issued invoices.)"""
    invoices = sa.and_(Invoice.member_id == member_id, Invoice.issued_on <= as_of)
    payments = sa.and_(Payment.member_id == member_id, Payment.received_on <= as_of)
    return [
        (Invoice.issued_on, lambda *columns: sa.select(*columns).where(invoices)),
        (
            CreditNote.issued_on,
            lambda *columns: (
                sa.select(*columns)
                .select_from(CreditNote)
                .join(Invoice)
                .where(invoices, CreditNote.issued_on <= as_of)
            ),
        ),
        (
            WriteOff.written_off_on,
            lambda *columns: (
                sa.select(*columns)
                .select_from(WriteOff)
                .join(Invoice)
                .where(invoices, WriteOff.written_off_on <= as_of)
            ),
        ),
        (Payment.received_on, lambda *columns: sa.select(*columns).where(payments)),
        (
            Refund.refunded_on,
            lambda *columns: (
                sa.select(*columns)
                .select_from(Refund)
                .join(Payment)
                .where(payments, Refund.refunded_on <= as_of)
            ),
        ),
    ]


@cache
def _latest_days_query() -> sa.CompoundSelect:
    """The query of `_brought_forward_until`, built once with parameters (member_id, as_of, limit): a union
    of ten selects costs more to build and to key for the compiled cache than to run."""
    parts = []
    for day, records_of in _record_days(sa.bindparam("member_id"), sa.bindparam("as_of")):
        latest = records_of(day.label("day")).order_by(day.desc()).limit(sa.bindparam("limit")).subquery()
        parts.append(sa.select(sa.literal(True).label("listed"), latest.c.day))
        own_latest = records_of(sa.func.max(day)).scalar_subquery()
        parts.append(records_of(sa.literal(False), sa.func.max(day)).where(day < own_latest))
    return sa.union_all(*parts)


def _brought_forward_until(member_id: int, as_of: date, records: int) -> date | None:
    """The last day whose records are carried forward rather than listed (the day of the record just before
    the latest `records`), or None when every record fits; never the latest day, which is listed whole
    however many records it has (else a busy day would leave nothing listed). One query: the days of the
    latest `records + 1` records of each kind (the latest of all are among them), and each kind's latest
    day before its own latest."""
    rows = db.session.execute(
        _latest_days_query(), {"member_id": member_id, "as_of": as_of, "limit": records + 1}
    ).all()
    days = sorted((day for listed, day in rows if listed), reverse=True)
    if len(days) <= records:
        return None
    cut, latest = days[records], days[0]
    if cut < latest:
        return cut
    earlier = [day for _listed, day in rows if day is not None and day < latest]
    return max(earlier, default=None)


def _movements(member_id: int, invoices, credit_notes, write_offs, payments, refunds) -> sa.Select:
    """Per currency, what the member's records that meet each condition move (invoices less credit notes and
    write-offs, less payments, plus refunds; across currencies aside) and how many invoices and payments
    they are. One aggregate query."""
    issued = sa.and_(Invoice.member_id == member_id, Invoice.status != InvoiceStatus.DRAFT)
    received = Payment.member_id == member_id
    movements = sa.union_all(
        sa.select(
            Invoice.currency.label("currency"), Invoice.total.label("amount"), sa.literal(1).label("records")
        ).where(issued, invoices),
        sa.select(Invoice.currency, -CreditNote.amount, sa.literal(0))
        .join(Invoice)
        .where(issued, credit_notes),
        sa.select(Invoice.currency, -WriteOff.amount, sa.literal(0)).join(Invoice).where(issued, write_offs),
        sa.select(Payment.currency, -Payment.amount, sa.literal(1)).where(received, payments),
        sa.select(Payment.currency, Refund.amount, sa.literal(0)).join(Payment).where(received, refunds),
    ).subquery()
    return sa.select(
        movements.c.currency, sa.func.sum(movements.c.amount), sa.func.sum(movements.c.records)
    ).group_by(movements.c.currency)


def _money(amount) -> Decimal:
    return Decimal(amount or 0).quantize(Decimal("0.01"))


def balances_until_from_records(member_id: int, until: date) -> dict[str, Decimal]:
    """Per currency, what the records dated up to `until` leave owed (conversions across currencies aside),
    added up from the records of the member's whole history: what `_opening_balances` must equal (the
    tests compare them)."""
    rows = db.session.execute(
        _movements(
            member_id,
            Invoice.issued_on <= until,
            sa.and_(Invoice.issued_on <= until, CreditNote.issued_on <= until),
            sa.and_(Invoice.issued_on <= until, WriteOff.written_off_on <= until),
            Payment.received_on <= until,
            sa.and_(Payment.received_on <= until, Refund.refunded_on <= until),
        )
    )
    return {currency: _money(amount) for currency, amount, _records in rows}


def _latest_record_day() -> date | None:
    """The latest day any invoice, credit note, write-off, payment or refund is dated: one query of index
    lookups."""
    days = db.session.execute(
        sa.select(
            *(
                sa.select(sa.func.max(day)).scalar_subquery()
                for day in (
                    Invoice.issued_on,
                    CreditNote.issued_on,
                    WriteOff.written_off_on,
                    Payment.received_on,
                    Refund.refunded_on,
                )
            )
        )
    ).one()
    return max((day for day in days if day is not None), default=None)


def _opening_balances(
    member_id: int,
    kept: dict[str, tuple[Decimal, int]],
    as_of: date,
    until: date,
    listed: list[tuple[str, StatementLine]],
) -> dict[str, Decimal]:
    """Per currency, what the records dated up to `until` leave owed (conversions across currencies aside):
    the member's `kept` balance less what the `listed` lines (the days after `until` up to `as_of`) and the
    records dated after `as_of` moved (none on a statement as of today, unless a record is dated later: then
    summed from the member's records). A currency with no invoice or payment up to `until` has none."""
    opening = dict(kept)
    latest = _latest_record_day()
    later = []
    if latest is not None and latest > as_of:
        later = db.session.execute(
            _movements(
                member_id,
                Invoice.issued_on > as_of,
                CreditNote.issued_on > as_of,
                WriteOff.written_off_on > as_of,
                Payment.received_on > as_of,
                Refund.refunded_on > as_of,
            )
        )
    for currency, amount, records in later:
        balance, count = opening.get(currency, (ZERO, 0))
        opening[currency] = (balance - _money(amount), count - int(records or 0))
    for currency, line in listed:
        balance, count = opening.get(currency, (ZERO, 0))
        opening[currency] = (
            balance - line.debit + line.credit,
            count - (line.kind in ("invoice", "payment")),
        )
    return {currency: _money(balance) for currency, (balance, count) in opening.items() if count > 0}


def open_invoices_query(member_id: int, as_of: date) -> sa.Select:
    """The member's issued invoices up to `as_of` that still owe something, oldest first: what a statement
    as of today lists under its accounts (the page a page at a time, the PDF whole)."""
    return (
        sa.select(Invoice)
        .where(
            Invoice.member_id == member_id,
            OPEN_INVOICE,
            Invoice.balance_due > ZERO,
            Invoice.issued_on <= as_of,
        )
        .options(*_INVOICE_FIGURES)
        .order_by(Invoice.issued_on, Invoice.id)
    )


def lists_open_invoices(as_of: date) -> bool:
    """Balances are today's: the list of open invoices only belongs on a statement as of today."""
    return as_of >= today()


def build_statement(
    member: Member,
    as_of: date | None = None,
    lang: str = "en",
    records: int | None = None,
    with_open_invoices: bool = True,
) -> Statement:
    """The member's account up to `as_of` (today by default), per currency; descriptions in `lang`.

    The latest `records` records are listed; when there are more, each account opens with the balance the
    earlier ones leave (from the member's kept balances), and only the listed period's rows are read. The
    open invoices are read whole unless `with_open_invoices` is false (the page reads them a page at a
    time)."""
    as_of = as_of or today()
    until = _brought_forward_until(member.id, as_of, records or STATEMENT_RECORDS)
    kept = member_balances(member.id)

    queries = _listed_queries()
    period = {"member_id": member.id, "as_of": as_of, "start": date.min if until is None else until + DAY}
    invoices = db.session.scalars(queries["invoices"], period).all()
    credit_notes = db.session.scalars(queries["credit_notes"], period).all()
    write_offs = db.session.scalars(queries["write_offs"], period).all()
    payments = db.session.scalars(queries["payments"], period).all()
    refunds = db.session.scalars(queries["refunds"], period).all()
    # Money applied across currencies is dated by when it was applied (`_applied_on`): read apart, every
    # such allocation of the member (they are few), listed or carried forward by that day. A member whose
    # invoices and payments are all in one currency has none (an allocation stays within one member).
    conversions = [] if len(kept) < 2 else db.session.scalars(queries["conversions"], period).all()

    lines: dict[str, list[StatementLine]] = {}
    listed_lines: list[tuple[str, StatementLine]] = []

    def add(currency: str, line: StatementLine) -> None:
        lines.setdefault(currency, []).append(line)
        listed_lines.append((currency, line))

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
        for note in credit_notes:
            invoice = note.invoice
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
        for entry in write_offs:
            invoice = entry.invoice
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
        for refund in refunds:
            payment = refund.payment
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
        opening: dict[str, Decimal] = {}
        if until is not None:
            opening = _opening_balances(member.id, kept, as_of, until, listed_lines)
        for allocation in conversions:
            payment, invoice = allocation.payment, allocation.invoice
            on = _applied_on(payment, allocation)
            if on > as_of:
                continue
            if until is not None and on <= until:
                opening[payment.currency] = opening.get(payment.currency, ZERO) + allocation.payment_amount
                opening[invoice.currency] = opening.get(invoice.currency, ZERO) - allocation.amount
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
        for currency, balance in opening.items():
            lines.setdefault(currency, []).insert(
                0, StatementLine(until, "opening", "", gettext("Balance brought forward"), balance=balance)
            )

    accounts = []
    for currency in sorted(lines):
        ordered = sorted(lines[currency], key=lambda line: (line.on, _ORDER[line.kind]))
        balance = ZERO
        for line in ordered:
            balance = line.balance if line.kind == "opening" else balance + line.debit - line.credit
            line.balance = balance
        accounts.append(CurrencyAccount(currency, ordered))
    open_invoices = (
        db.session.scalars(open_invoices_query(member.id, as_of)).all()
        if with_open_invoices and lists_open_invoices(as_of)
        else []
    )
    return Statement(member, as_of, accounts, open_invoices, brought_forward_until=until)


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
