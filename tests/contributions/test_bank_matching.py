"""Importing statements and matching their entries: what is certain is applied, the rest waits for a person,
and every decision records money through the payment services, once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.common.errors import ValidationFailed
from app.contributions.models import (
    BankEntry,
    BankStatement,
    EntryStatus,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    StripePayoutLine,
)
from app.contributions.services import bank_matching
from app.contributions.services.bank_import import (
    NothingNewInStatement,
    StatementAlreadyImported,
    import_statement_file,
)
from app.contributions.services.bank_matching import (
    Basis,
    EntryAlreadyResolved,
    confirm_entry,
    ignore_entry,
    proposals_for,
    split_entry,
)
from app.contributions.services.bank_statements import StatementRefused
from app.contributions.services.payments import WriteOffTooLarge
from app.extensions import db
from tests.conftest import count
from tests.helpers import at_once

FILES = Path(__file__).parent / "bank_files"


def file_bytes(name: str) -> bytes:
    return (FILES / name).read_bytes()


@pytest.fixture
def operator(make_user):
    return make_user("operations")


@pytest.fixture
def make_open_invoice(make_draft_invoice):
    """An issued invoice with the number (and reference) the test files quote."""

    def build(number: str, amount: str = "10000.00", reference: str | None = None, **overrides):
        invoice = make_draft_invoice(amount=amount, **overrides)
        invoice.number = number
        invoice.payment_reference = reference
        invoice.status = InvoiceStatus.ISSUED
        invoice.issued_on = date(2027, 1, 15)
        invoice.due_on = date(2027, 2, 14)
        invoice.bill_to = {"name": invoice.member.name}
        invoice.pdf_bytes = b"%PDF-1.7 test"
        invoice.pdf_sha256 = "0" * 64
        db.session.flush()
        return invoice

    return build


@pytest.fixture
def us_hub(make_hub):
    return make_hub(
        name="Washington DC", base_currency="USD", country_code="US", invoice_prefix="US", iban="", bic="",
        account_number="000123456789", routing_number="021000021",
    )  # fmt: skip


def entries(status=None):
    query = sa.select(BankEntry).order_by(BankEntry.id)
    if status is not None:
        query = query.where(BankEntry.status == status)
    return list(db.session.scalars(query))


# --- Import ------------------------------------------------------------------------------------------------


def test_an_exact_reference_with_the_exact_balance_is_applied_and_the_rest_waits(
    hub, make_member, make_open_invoice, operator
):
    france = make_open_invoice("BE-2027-0012", reference="270010001258")
    spain = make_open_invoice("BE-2027-0013", amount="7500.00")

    result = import_statement_file(file_bytes("belfius_camt053_v02_eur.xml"), "statement.xml", operator)

    assert (len(result.new_entries), result.applied, result.queued) == (4, 1, 2)
    assert "1 matched and applied automatically" in result.summary()
    assert france.status == InvoiceStatus.PAID
    applied = entries(EntryStatus.APPLIED)[0]
    assert applied.payment.reference == "B7B11CI0A1B2C3D4"
    assert applied.payment.method == PaymentMethod.WIRE
    assert applied.resolution == "Matched automatically by its structured reference."
    # "be 2027 0013" in the text is a strong proposal, but only a person applies it.
    assert spain.status == InvoiceStatus.ISSUED
    assert [entry.status for entry in entries(EntryStatus.DEBIT)] == [EntryStatus.DEBIT]


def test_a_reference_with_more_than_the_balance_waits_for_a_person(hub, make_open_invoice, operator):
    france = make_open_invoice("BE-2027-0012", amount="9000.00", reference="270010001258")

    result = import_statement_file(file_bytes("belfius_camt053_v02_eur.xml"), "statement.xml", operator)

    assert result.applied == 0 and france.status == InvoiceStatus.ISSUED
    entry = next(entry for entry in entries(EntryStatus.NEEDS_REVIEW) if entry.structured_reference)
    (proposal,) = proposals_for(entry)
    assert (proposal.basis, proposal.amount, proposal.exact) == (Basis.REFERENCE, Decimal("9000.00"), False)


def test_reimporting_the_same_file_adds_nothing(hub, make_open_invoice, operator):
    make_open_invoice("BE-2027-0012", reference="270010001258")
    import_statement_file(file_bytes("belfius_camt053_v02_eur.xml"), "statement.xml", operator)
    before = (count(BankStatement), count(BankEntry), count(Payment))

    with pytest.raises(StatementAlreadyImported, match="already imported"):
        import_statement_file(file_bytes("belfius_camt053_v02_eur.xml"), "again.xml", operator)

    assert (count(BankStatement), count(BankEntry), count(Payment)) == before


def test_an_overlapping_statement_adds_only_its_new_entries(hub, operator):
    original = file_bytes("belfius_camt053_v02_eur.xml")
    import_statement_file(original, "day1.xml", operator)
    extra = (
        b'<Ntry><Amt Ccy="EUR">300.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
        b"<BookgDt><Dt>2027-02-12</Dt></BookgDt><AcctSvcrRef>NEW-ONE</AcctSvcrRef></Ntry></Stmt>"
    )
    overlapping = original.replace(b"<Id>2027-00043</Id>", b"<Id>2027-00044</Id>").replace(b"</Stmt>", extra)

    result = import_statement_file(overlapping, "day1-and-2.xml", operator)

    assert (len(result.new_entries), result.duplicates) == (1, 4)
    assert count(BankEntry) == 5


def test_a_statement_with_nothing_new_stores_nothing(hub, operator):
    original = file_bytes("deutsche_bank_mt940_eur.sta")
    hub.iban = "DE89370400440532013000"
    import_statement_file(original, "a.sta", operator)

    with pytest.raises(NothingNewInStatement, match="imported before"):
        import_statement_file(original.replace(b":28C:00021/001", b":28C:00021/002"), "b.sta", operator)
    assert count(BankStatement) == 1


def test_an_account_number_inside_the_hubs_iban_finds_the_hub(hub, operator):
    hub.iban = "DE89370400440532013000"

    result = import_statement_file(file_bytes("deutsche_bank_mt940_eur.sta"), "db.sta", operator)

    assert result.statement.hub_id == hub.id


def test_a_file_for_an_unknown_account_is_refused_and_imports_nothing(hub, operator):
    with pytest.raises(StatementRefused, match="000123456789, which is not the bank account of any hub"):
        import_statement_file(file_bytes("jpmorgan_camt053_v08_usd.xml"), "usd.xml", operator)
    assert count(BankStatement) == 0 and count(BankEntry) == 0


def test_a_statement_in_another_currency_than_the_account_is_refused(hub, operator):
    hub.account_number = "000123456789"

    with pytest.raises(StatementRefused, match="in USD, but Brussels hub's account is in EUR"):
        import_statement_file(file_bytes("citi_mt940_usd.sta"), "usd.sta", operator)
    assert count(BankEntry) == 0


def test_a_dollar_statement_of_the_us_hub_matches_a_creditor_reference(
    us_hub, make_member, make_open_invoice, operator
):
    mexico = make_open_invoice(
        "US-2027-0007", amount="25000.00", reference="RF65US20270007", member=make_member(hub=us_hub)
    )

    result = import_statement_file(file_bytes("jpmorgan_camt053_v08_usd.xml"), "usd.xml", operator)

    assert result.applied == 1 and mexico.status == InvoiceStatus.PAID


# --- Proposals ---------------------------------------------------------------------------------------------


def queued_entry(hub, operator, payer: str, name="belfius_camt053_v02_eur.xml"):
    import_statement_file(file_bytes(name), name, operator)
    return next(entry for entry in entries(EntryStatus.NEEDS_REVIEW) if payer in entry.counterparty_name)


def test_an_invoice_number_in_the_text_is_found_whatever_its_spacing_and_case(
    hub, make_open_invoice, operator
):
    spain = make_open_invoice("BE-2027-0013", amount="9000.00")
    make_open_invoice("BE-2027-00131", amount="9000.00")  # a longer number that starts the same

    entry = queued_entry(hub, operator, "HACIENDA")  # "CONTRIBUCION ANUAL FACTURA be 2027 0013", 7,500.00

    (proposal, *others) = proposals_for(entry)
    assert (proposal.invoice, proposal.basis, proposal.amount) == (
        spain,
        Basis.INVOICE_NUMBER,
        Decimal("7500.00"),
    )
    assert not proposal.exact
    assert all(other.basis != Basis.INVOICE_NUMBER for other in others)


def test_a_payer_account_seen_before_proposes_that_members_open_invoices(
    hub, make_member, make_open_invoice, operator
):
    ghana = make_member()
    earlier = make_open_invoice("BE-2026-0099", amount="1000.00", member=ghana)
    later = make_open_invoice("BE-2027-0050", amount="20000.00", member=ghana)
    entry = queued_entry(hub, operator, "GHANA")  # GB29NWBK60161331926819, 15,000.00
    confirm_entry(entry, earlier, operator)
    assert earlier.status == InvoiceStatus.PAID

    original = file_bytes("belfius_camt053_v02_eur.xml").replace(b"J9K0L1M2", b"J9K0L1M3")
    original = original.replace(b"<Id>2027-00043</Id>", b"<Id>2027-00050</Id>")
    import_statement_file(original, "next.xml", operator)
    again = next(
        entry for entry in entries(EntryStatus.NEEDS_REVIEW) if entry.bank_reference == "B7B11CI0J9K0L1M3"
    )

    assert [(p.invoice, p.basis) for p in proposals_for(again)][:1] == [(later, Basis.PAYER_ACCOUNT)]


def test_the_amount_and_the_payers_name_propose_an_invoice(hub, make_member, make_open_invoice, operator):
    ghana = make_member(name="Ghana")
    other = make_open_invoice("BE-2027-0060", amount="15000.00")
    named = make_open_invoice("BE-2027-0061", amount="15000.00", member=ghana)

    entry = queued_entry(hub, operator, "GHANA")  # "REPUBLIC OF GHANA MOF", 15,000.00

    assert [(p.invoice, p.basis) for p in proposals_for(entry)] == [
        (named, Basis.AMOUNT_AND_NAME),
        (other, Basis.AMOUNT),
    ]


# --- Decisions ---------------------------------------------------------------------------------------------


@pytest.fixture
def spain_entry(hub, make_member, make_open_invoice, operator):
    """The queued 7,500.00 EUR entry from the Spanish ministry, and its member."""
    member = make_member(name="Spain")
    entry = queued_entry(hub, operator, "HACIENDA")
    return entry, member


def test_confirming_a_smaller_amount_records_a_partial_payment(spain_entry, make_open_invoice, operator):
    entry, member = spain_entry
    invoice = make_open_invoice("BE-2027-0013", amount="10000.00", member=member)

    payment = confirm_entry(entry, invoice, operator)

    assert entry.status == EntryStatus.APPLIED and entry.payment == payment
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID and invoice.balance_due == Decimal("2500.00")
    assert entry.resolution == "Confirmed for BE-2027-0013; €2,500.00 still owed."


def test_an_overpayment_becomes_credit_on_account(spain_entry, make_open_invoice, operator):
    entry, member = spain_entry
    invoice = make_open_invoice("BE-2027-0013", amount="7000.00", member=member)

    payment = confirm_entry(entry, invoice, operator)

    assert invoice.status == InvoiceStatus.PAID
    assert payment.unallocated_amount == Decimal("500.00")
    assert "€500.00 kept as credit on account" in entry.resolution


def test_bank_charges_are_written_off_within_the_cap(spain_entry, make_open_invoice, operator):
    entry, member = spain_entry
    invoice = make_open_invoice("BE-2027-0013", amount="7520.00", member=member)

    confirm_entry(entry, invoice, operator, write_off_difference=True)

    assert invoice.balance_due == Decimal("0.00") and not invoice.status.is_open
    assert invoice.amount_written_off == Decimal("20.00")
    assert invoice.write_offs[0].reason == "Bank charges deducted from the transfer"


def test_a_difference_beyond_the_cap_is_not_written_off_and_nothing_is_recorded(
    spain_entry, make_open_invoice, operator
):
    entry, member = spain_entry
    invoice = make_open_invoice("BE-2027-0013", amount="9000.00", member=member)

    with pytest.raises(WriteOffTooLarge, match="record it as a partial payment"):
        confirm_entry(entry, invoice, operator, write_off_difference=True)
    assert count(Payment) == 0 and entry.status == EntryStatus.NEEDS_REVIEW


def test_an_invoice_in_another_currency_needs_the_rate_and_keeps_it(spain_entry, make_open_invoice, operator):
    entry, member = spain_entry
    invoice = make_open_invoice("BE-2027-0013", amount="8250.00", member=member, currency="USD")

    with pytest.raises(ValidationFailed, match="give the rate"):
        confirm_entry(entry, invoice, operator)
    payment = confirm_entry(entry, invoice, operator, exchange_rate=Decimal("1.10"))

    assert invoice.status == InvoiceStatus.PAID
    (allocation,) = payment.allocations
    assert (allocation.amount, allocation.payment_amount, allocation.exchange_rate) == (
        Decimal("8250.00"),
        Decimal("7500.00"),
        Decimal("1.10"),
    )


def test_one_entry_split_across_two_invoices(spain_entry, make_open_invoice, operator):
    entry, member = spain_entry
    first = make_open_invoice("BE-2026-0013", amount="5000.00", member=member)
    second = make_open_invoice("BE-2027-0013", amount="5000.00", member=member)

    payment = split_entry(entry, [(first, Decimal("5000.00")), (second, Decimal("2500.00"))], operator)

    assert first.status == InvoiceStatus.PAID and second.balance_due == Decimal("2500.00")
    assert len(payment.allocations) == 2
    assert entry.resolution == "Split over BE-2026-0013, BE-2027-0013."


def test_ignoring_needs_a_note(spain_entry, operator):
    entry, _ = spain_entry

    with pytest.raises(ValidationFailed, match="Say why"):
        ignore_entry(entry, "  ", operator)
    ignore_entry(entry, "Refund of an overpaid conference fee", operator)

    assert entry.status == EntryStatus.IGNORED and count(Payment) == 0


def test_an_entry_is_never_applied_twice(spain_entry, make_open_invoice, operator, make_user):
    entry, member = spain_entry
    invoice = make_open_invoice("BE-2027-0013", amount="20000.00", member=member)
    confirm_entry(entry, invoice, operator)

    with pytest.raises(EntryAlreadyResolved, match="already applied by"):
        confirm_entry(entry, invoice, make_user("operations"))
    with pytest.raises(EntryAlreadyResolved):
        ignore_entry(entry, "oops", operator)
    assert count(Payment) == 1 and invoice.amount_paid == Decimal("7500.00")


# --- Stripe payouts ----------------------------------------------------------------------------------------


def stripe_payment(member, gross: str, fee: str, received_on: date, intent: str) -> Payment:
    payment = Payment(
        member=member,
        amount=Decimal(gross),
        currency="USD",
        received_on=received_on,
        method=PaymentMethod.STRIPE_CARD,
        fee_amount=Decimal(fee),
        net_amount=Decimal(gross) - Decimal(fee),
        stripe_payment_intent_id=intent,
    )
    db.session.add(payment)
    db.session.flush()
    return payment


def test_a_stripe_payout_is_matched_to_the_payments_it_pays_out(us_hub, make_member, operator):
    member = make_member(hub=us_hub)
    first = stripe_payment(member, "300.00", "9.00", date(2027, 2, 25), "pi_1")
    second = stripe_payment(member, "196.00", "6.50", date(2027, 2, 26), "pi_2")
    later = stripe_payment(member, "50.00", "1.75", date(2027, 3, 2), "pi_3")  # after the payout

    result = import_statement_file(file_bytes("jpmorgan_camt053_v08_usd.xml"), "usd.xml", operator)

    assert result.payouts == 1
    (payout,) = entries(EntryStatus.STRIPE_PAYOUT)
    assert [line.payment for line in payout.payout_lines] == [first, second]
    assert payout.resolution == ("Stripe payout of 2 payments: gross $496.00, fees $15.50, net $480.50.")
    assert (
        db.session.scalar(sa.select(StripePayoutLine).where(StripePayoutLine.payment_id == later.id)) is None
    )


def test_a_stripe_payout_that_adds_up_to_nothing_waits_for_review(us_hub, make_member, operator):
    stripe_payment(make_member(hub=us_hub), "100.00", "3.20", date(2027, 2, 25), "pi_1")

    import_statement_file(file_bytes("jpmorgan_camt053_v08_usd.xml"), "usd.xml", operator)

    assert [entry.remittance_text for entry in entries(EntryStatus.NEEDS_REVIEW)][-1].startswith("STRIPE")


# --- Two people at once (PostgreSQL) -----------------------------------------------------------------------


@pytest.mark.real_commits
def test_two_people_confirming_one_entry_at_once_apply_it_once(
    app, hub, make_member, make_open_invoice, make_user
):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL; in-memory SQLite has one connection per thread")
    operator = make_user("operations")
    member = make_member(name="Spain")
    invoice = make_open_invoice("BE-2027-0013", amount="20000.00", member=member)
    import_statement_file(file_bytes("belfius_camt053_v02_eur.xml"), "statement.xml", operator)
    entry_id = next(
        entry.id for entry in entries(EntryStatus.NEEDS_REVIEW) if "HACIENDA" in entry.counterparty_name
    )
    invoice_id, people = invoice.id, [make_user("operations").id for _ in range(4)]
    db.session.commit()
    db.session.remove()

    def confirm(user_id: int):
        from app.auth.models import User
        from app.contributions.models import BankEntry as Entry
        from app.contributions.models import Invoice

        user = db.session.get(User, user_id)
        entry, target = db.session.get(Entry, entry_id), db.session.get(Invoice, invoice_id)
        return lambda: bank_matching.confirm_entry(entry, target, user)

    outcomes = at_once(
        app, [lambda user_id=user_id: confirm(user_id) for user_id in people], refused=(EntryAlreadyResolved,)
    )

    assert sorted(outcome.split(":")[0] for outcome in outcomes) == ["done", "refused", "refused", "refused"]
    assert count(Payment) == 1
    paid = db.session.get(type(invoice), invoice_id)
    assert paid.amount_paid == Decimal("7500.00")
    assert paid.status == InvoiceStatus.PARTIALLY_PAID


def test_the_reconciliation_page_shows_which_stripe_payments_reached_the_bank(
    us_hub, make_member, operator, login_as
):
    member = make_member(hub=us_hub)
    stripe_payment(member, "300.00", "9.00", date(2027, 2, 25), "pi_1")
    stripe_payment(member, "196.00", "6.50", date(2027, 2, 26), "pi_2")
    waiting = stripe_payment(member, "50.00", "1.75", date(2027, 3, 2), "pi_3")
    import_statement_file(file_bytes("jpmorgan_camt053_v08_usd.xml"), "usd.xml", operator)

    page = login_as("board").get("/contributions/online-payments/").text

    assert page.count("Paid out Mar 1, 2027") == 2
    assert "payout of $480.50" in page
    assert bank_matching.payouts_of([waiting]) == {}
