"""Matching bank entries to invoices: proposals in order of confidence, the automatic match, and what a person
decides in the review queue (confirm, pick another invoice, split, ignore).

Proposals, most confident first:
1. the structured reference the payer quoted (in the bank's field or in the text);
2. an invoice number written in the remittance text (spaces, dashes and case do not matter);
3. the payer's account, already seen on an earlier payment of that member;
4. the amount equal to an open invoice's balance, better still with the payer's name.

Only an exact reference with the exact balance, in the invoice's currency, is applied without a person.
Everything that applies money goes through services/payments.py (record_payment, allocate_payment,
write_off), and every decision is taken under a row lock on the entry: an entry is applied once, also when two
people confirm it at the same moment.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ...common.errors import DomainError, ValidationFailed
from ...common.locks import lock_and_refresh
from ...common.money import format_money, quantize
from ...common.time import utcnow
from ...extensions import db
from ..models import (
    ZERO,
    BankEntry,
    EntryStatus,
    Invoice,
    InvoiceStatus,
    Member,
    Payment,
    PaymentMethod,
    StripePayoutLine,
)
from . import payments as payment_service
from .payment_references import normalize_number, reference_of, references_in_text


class MatchingError(DomainError):
    """A decision on a bank entry was refused."""


class EntryAlreadyResolved(MatchingError):
    """The entry was applied, ignored or matched to a payout already (perhaps by someone else just now)."""


class NotAReceipt(MatchingError):
    """Only money received is matched to invoices."""


class Basis(enum.StrEnum):
    REFERENCE = "reference"
    INVOICE_NUMBER = "invoice_number"
    PAYER_ACCOUNT = "payer_account"
    AMOUNT_AND_NAME = "amount_and_name"
    AMOUNT = "amount"

    @property
    def label(self) -> str:
        return {
            "reference": "Structured reference",
            "invoice_number": "Invoice number in the text",
            "payer_account": "Payer's account known",
            "amount_and_name": "Amount and payer's name",
            "amount": "Amount only",
        }[self.value]


_CONFIDENCE = {
    Basis.REFERENCE: 95,
    Basis.INVOICE_NUMBER: 80,
    Basis.PAYER_ACCOUNT: 60,
    Basis.AMOUNT_AND_NAME: 50,
    Basis.AMOUNT: 30,
}
#: Words of a payer's name too common to say who paid.
_COMMON_WORDS = {
    "MINISTRY",
    "MINISTERE",
    "MINISTERIO",
    "FINANCE",
    "FINANCES",
    "HACIENDA",
    "REPUBLIC",
    "OF",
    "THE",
}


@dataclass(frozen=True)
class Proposal:
    """An open invoice this entry may pay, and why."""

    invoice: Invoice
    basis: Basis
    #: The amount that would be applied to the invoice, in its currency (None across currencies).
    amount: Decimal | None
    #: What the entry brought, in the invoice's currency when they are the same (None across currencies).
    received: Decimal | None

    @property
    def confidence(self) -> int:
        return _CONFIDENCE[self.basis]

    @property
    def exact(self) -> bool:
        """The entry is exactly what the invoice still owes: no less, no more."""
        return self.received is not None and self.received == self.invoice.balance_due


class OpenInvoices:
    """Every open invoice, loaded once and indexed by reference and by normalised number."""

    def __init__(self):
        self.invoices = list(
            db.session.scalars(
                sa.select(Invoice)
                .where(Invoice.status.in_([InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID]))
                .options(joinedload(Invoice.member), joinedload(Invoice.hub))
                .order_by(Invoice.due_on, Invoice.id)
            ).unique()
        )
        self.by_reference: dict[str, list[Invoice]] = {}
        self.by_number: dict[str, Invoice] = {}
        for invoice in self.invoices:
            reference = reference_of(invoice)
            if reference:
                self.by_reference.setdefault(reference, []).append(invoice)
            if invoice.number:
                self.by_number[normalize_number(invoice.number)] = invoice


def _amount_for(entry: BankEntry, invoice: Invoice) -> Decimal | None:
    if entry.currency != invoice.currency:
        return None
    return min(entry.amount, invoice.balance_due)


def _numbers_in(text: str, open_invoices: OpenInvoices) -> list[Invoice]:
    flat = normalize_number(text)
    found = []
    for number, invoice in open_invoices.by_number.items():
        start = flat.find(number)
        while start >= 0:
            after = flat[start + len(number) : start + len(number) + 1]
            if not after.isdigit():  # BE20270001 is not BE202700012
                found.append((start, invoice))
                break
            start = flat.find(number, start + 1)
    return [invoice for _, invoice in sorted(found, key=lambda pair: pair[0])]


def _name_words(text: str) -> set[str]:
    return {word for word in re.findall(r"[A-Z]{4,}", text.upper()) if word not in _COMMON_WORDS}


def proposals_for(
    entry: BankEntry, open_invoices: OpenInvoices | None = None, limit: int = 5
) -> list[Proposal]:
    """Open invoices this credit entry may pay, most confident first (one proposal per invoice)."""
    if not entry.is_credit:
        return []
    open_invoices = open_invoices or OpenInvoices()
    proposals: list[Proposal] = []
    seen: set[int] = set()

    def propose(invoice: Invoice, basis: Basis) -> None:
        if invoice.id not in seen:
            seen.add(invoice.id)
            received = entry.amount if entry.currency == invoice.currency else None
            proposals.append(Proposal(invoice, basis, _amount_for(entry, invoice), received))

    text = " ".join(filter(None, [entry.remittance_text, entry.end_to_end_id]))
    references = [entry.structured_reference] if entry.structured_reference else []
    references += [found for found in references_in_text(text) if found not in references]
    for reference in references:
        for invoice in open_invoices.by_reference.get(reference, []):
            propose(invoice, Basis.REFERENCE)
    for invoice in _numbers_in(text, open_invoices):
        propose(invoice, Basis.INVOICE_NUMBER)
    for member_id in _members_paying_from(entry.counterparty_account):
        for invoice in open_invoices.invoices:
            if invoice.member_id == member_id and invoice.currency == entry.currency:
                propose(invoice, Basis.PAYER_ACCOUNT)
    payer_words = _name_words(f"{entry.counterparty_name} {entry.remittance_text}")
    same_amount = [
        invoice
        for invoice in open_invoices.invoices
        if invoice.currency == entry.currency and invoice.balance_due == entry.amount
    ]
    for invoice in same_amount:
        if payer_words & _name_words(invoice.member.name):
            propose(invoice, Basis.AMOUNT_AND_NAME)
    for invoice in same_amount:
        propose(invoice, Basis.AMOUNT)
    return proposals[:limit]


def _members_paying_from(account: str) -> list[int]:
    """Members an earlier applied entry from this payer account paid for."""
    if not account:
        return []
    return list(
        db.session.scalars(
            sa.select(Payment.member_id)
            .join(BankEntry, BankEntry.payment_id == Payment.id)
            .where(BankEntry.counterparty_account == account, BankEntry.status == EntryStatus.APPLIED)
            .distinct()
        )
    )


# --- Automatic matching at import --------------------------------------------------------------------------


def match_automatically(entry: BankEntry, actor, open_invoices: OpenInvoices | None = None) -> bool:
    """Apply a new credit entry without a person when that is safe: a Stripe payout whose payments add up, or
    one invoice's exact reference with its exact balance. Return whether the entry was resolved."""
    if not entry.is_credit or entry.status != EntryStatus.NEEDS_REVIEW:
        return False
    if looks_like_stripe_payout(entry) and match_stripe_payout(entry, actor):
        return True
    open_invoices = open_invoices or OpenInvoices()
    proposals = proposals_for(entry, open_invoices)
    if not proposals or proposals[0].basis != Basis.REFERENCE or not proposals[0].exact:
        return False
    invoice = proposals[0].invoice
    if len(open_invoices.by_reference.get(reference_of(invoice), [])) != 1:
        return False  # two invoices with one reference: a person decides
    confirm_entry(entry, invoice, actor, resolution="Matched automatically by its structured reference.")
    return True


# --- Decisions ---------------------------------------------------------------------------------------------


def _lock_entry(entry: BankEntry) -> None:
    """Take the entry's row lock and reload it; refuse when someone resolved it meanwhile."""
    lock_and_refresh(entry)
    if entry.status != EntryStatus.NEEDS_REVIEW:
        who = f" by {entry.resolved_by.full_name or entry.resolved_by.email}" if entry.resolved_by else ""
        raise EntryAlreadyResolved(
            f"This entry is already {entry.status.label.lower()}{who}; nothing was changed."
        )
    if not entry.is_credit:
        raise NotAReceipt("This entry is money leaving the account; only money received is matched.")


def _parse_rate(entry: BankEntry, invoice: Invoice, exchange_rate) -> Decimal | None:
    if invoice.currency == entry.currency:
        return None
    if exchange_rate is None or exchange_rate <= ZERO:
        raise ValidationFailed(
            f"The entry is in {entry.currency} and invoice {invoice.number} in {invoice.currency}: "
            f"give the rate used ({invoice.currency} for 1 {entry.currency}).",
            {"exchange_rate": [f"{invoice.currency} for 1 {entry.currency}, e.g. 0.92."]},
        )
    return Decimal(exchange_rate)


def _record(entry: BankEntry, member: Member, actor, allocations) -> Payment:
    text = " ".join(filter(None, [entry.counterparty_name, entry.remittance_text]))
    return payment_service.record_payment(
        member,
        entry.amount,
        entry.currency,
        entry.booked_on,
        PaymentMethod.WIRE,
        actor,
        reference=(entry.bank_reference or entry.end_to_end_id)[:200],
        notes=f"Bank statement entry #{entry.id}: {text}"[:2000],
        allocations=allocations,
    )


def _resolve(entry: BankEntry, status: EntryStatus, actor, resolution: str, payment: Payment | None = None):
    entry.status = status
    entry.payment = payment
    entry.resolution = resolution
    entry.resolved_at = utcnow()
    entry.resolved_by_id = getattr(actor, "id", None)
    db.session.flush()


def confirm_entry(
    entry: BankEntry,
    invoice: Invoice,
    actor,
    *,
    exchange_rate: Decimal | None = None,
    write_off_difference: bool = False,
    resolution: str = "",
) -> Payment:
    """Record the entry as a payment for this invoice: a partial payment, the exact balance, or more (the rest
    is credit on account). A small shortfall can be written off as bank charges, within the write-off cap."""
    _lock_entry(entry)
    if not invoice.status.is_open:
        raise payment_service.InvoiceNotOpen(
            f"Invoice {invoice.number} is {invoice.status.label.lower()}; pick another invoice."
        )
    rate = _parse_rate(entry, invoice, exchange_rate)
    available = entry.amount if rate is None else quantize(entry.amount * rate, invoice.currency)
    applied = min(available, invoice.balance_due)
    shortfall = invoice.balance_due - applied
    if write_off_difference and shortfall > ZERO:
        limit = payment_service.write_off_limit(invoice)
        if shortfall > limit:
            raise payment_service.WriteOffTooLarge(
                f"The difference ({format_money(shortfall, invoice.currency)}) is more than can be written "
                "off "
                f"as bank charges ({format_money(limit, invoice.currency)}); record it as a partial payment."
            )
    payment = _record(entry, invoice.member, actor, [(invoice, applied, rate)])
    if write_off_difference and shortfall > ZERO:
        payment_service.write_off(
            invoice,
            shortfall,
            "Bank charges deducted from the transfer",
            actor,
            written_off_on=entry.booked_on,
        )
    _resolve(entry, EntryStatus.APPLIED, actor, resolution or _describe(payment, invoice, shortfall), payment)
    return payment


def _describe(payment: Payment, invoice: Invoice, shortfall: Decimal) -> str:
    text = f"Confirmed for {invoice.number}"
    if invoice.status == InvoiceStatus.PARTIALLY_PAID:
        text += f"; {format_money(invoice.balance_due, invoice.currency)} still owed"
    elif shortfall > ZERO and invoice.amount_written_off > ZERO:
        text += f"; {format_money(shortfall, invoice.currency)} bank charges written off"
    if payment.unallocated_amount > ZERO:
        text += f"; {format_money(payment.unallocated_amount, payment.currency)} kept as credit on account"
    return text + "."


def split_entry(
    entry: BankEntry, parts: list[tuple[Invoice, Decimal]], actor, *, exchange_rate: Decimal | None = None
) -> Payment:
    """Record the entry as one payment spread over several invoices of one member (amounts in each invoice's
    currency); what is not spread stays as credit on account."""
    _lock_entry(entry)
    parts = [(invoice, amount) for invoice, amount in parts if amount is not None and amount > ZERO]
    if not parts:
        raise ValidationFailed(
            "Give at least one invoice and the amount it receives.", {"rows": ["Add a row."]}
        )
    members = {invoice.member_id for invoice, _ in parts}
    if len(members) != 1:
        raise payment_service.WrongMember("A split covers invoices of one member only.")
    allocations = [(invoice, amount, _parse_rate(entry, invoice, exchange_rate)) for invoice, amount in parts]
    payment = _record(entry, parts[0][0].member, actor, allocations)
    numbers = ", ".join(invoice.number for invoice, _ in parts)
    text = f"Split over {numbers}"
    if payment.unallocated_amount > ZERO:
        text += f"; {format_money(payment.unallocated_amount, payment.currency)} kept as credit on account"
    _resolve(entry, EntryStatus.APPLIED, actor, text + ".", payment)
    return payment


def ignore_entry(entry: BankEntry, note: str, actor) -> None:
    """Take an entry out of the queue without recording money (a refund, a transfer between own accounts)."""
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("Say why this entry is ignored.", {"note": ["Say why this entry is ignored."]})
    _lock_entry(entry)
    _resolve(entry, EntryStatus.IGNORED, actor, note)


# --- Stripe payouts ----------------------------------------------------------------------------------------

STRIPE_METHODS = (PaymentMethod.STRIPE_CARD, PaymentMethod.STRIPE_BANK)


def looks_like_stripe_payout(entry: BankEntry) -> bool:
    return "STRIPE" in f"{entry.counterparty_name} {entry.remittance_text}".upper()


def _unpaid_out_stripe_payments(entry: BankEntry) -> list[Payment]:
    return list(
        db.session.scalars(
            sa.select(Payment)
            .outerjoin(StripePayoutLine, StripePayoutLine.payment_id == Payment.id)
            .where(
                Payment.method.in_(STRIPE_METHODS),
                Payment.currency == entry.currency,
                Payment.net_amount.is_not(None),
                Payment.received_on <= entry.booked_on,
                StripePayoutLine.id.is_(None),
            )
            .order_by(Payment.received_on, Payment.id)
        )
    )


def payout_candidates(entry: BankEntry) -> list[Payment] | None:
    """The Stripe payments this payout pays out: the oldest run of not-yet-paid-out payments whose net amounts
    (less what was refunded) add up to it, or None."""
    payments = _unpaid_out_stripe_payments(entry)
    for start in range(len(payments)):
        total = ZERO
        for end in range(start, len(payments)):
            total += payments[end].net_amount - payments[end].refunded_amount
            if total == entry.amount:
                return payments[start : end + 1]
            if total > entry.amount:
                break
    return None


def match_stripe_payout(entry: BankEntry, actor) -> bool:
    """Tie a payout entry to the Stripe payments it pays out (gross, fees, net); False when none add up."""
    payments = payout_candidates(entry)
    if not payments:
        return False
    _lock_entry(entry)
    for payment in payments:
        db.session.add(StripePayoutLine(entry=entry, payment=payment))
    gross = sum((payment.amount for payment in payments), ZERO)
    fees = sum((payment.fee_amount or ZERO for payment in payments), ZERO)
    refunded = sum((payment.refunded_amount for payment in payments), ZERO)
    text = (
        f"Stripe payout of {len(payments)} payment{'s' if len(payments) != 1 else ''}: "
        f"gross {format_money(gross, entry.currency)}, fees {format_money(fees, entry.currency)}"
    )
    if refunded:
        text += f", refunds {format_money(refunded, entry.currency)}"
    text += f", net {format_money(entry.amount, entry.currency)}."
    _resolve(entry, EntryStatus.STRIPE_PAYOUT, actor, text)
    return True


def payouts_of(payments) -> dict[int, BankEntry]:
    """The bank entry that paid out each of these Stripe payments, when one did: {payment id: entry}."""
    ids = [payment.id for payment in payments]
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(StripePayoutLine.payment_id, BankEntry)
        .join(BankEntry, BankEntry.id == StripePayoutLine.entry_id)
        .where(StripePayoutLine.payment_id.in_(ids))
    ).all()
    return {payment_id: entry for payment_id, entry in rows}


# --- Reading -----------------------------------------------------------------------------------------------


def review_queue_query(hub_id: int | None = None) -> sa.Select:
    """Credit entries waiting for a person, oldest first."""
    query = (
        sa.select(BankEntry)
        .where(BankEntry.status == EntryStatus.NEEDS_REVIEW)
        .options(joinedload(BankEntry.statement), joinedload(BankEntry.hub))
        .order_by(BankEntry.booked_on, BankEntry.id)
    )
    if hub_id is not None:
        query = query.where(BankEntry.hub_id == hub_id)
    return query


def waiting_count() -> int:
    """How many entries wait for review."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(BankEntry).where(BankEntry.status == EntryStatus.NEEDS_REVIEW)
    )
