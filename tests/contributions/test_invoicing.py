"""Invoicing services: drafts, issuing, credit notes, pro-formas and the invoice's history."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.common.audit import acting_as
from app.common.languages import Language
from app.common.pdf import sha256_hex
from app.common.time import today
from app.contributions.models import (
    Invoice,
    InvoiceEventKind,
    InvoiceKind,
    InvoiceStatus,
    IssuedDocumentIsFrozen,
)
from app.contributions.services.invoicing import (
    CreditExceedsBalance,
    DuplicateAnnualInvoice,
    EmptyInvoice,
    InvalidCreditNote,
    InvalidInvoiceDetails,
    InvalidInvoiceLine,
    InvoiceAlreadyIssued,
    InvoiceNotIssued,
    NothingToBill,
    create_draft_invoice,
    delete_draft_invoice,
    issue_credit_note,
    issue_invoice,
    planned_contribution,
    record_invoice_event,
    render_pro_forma,
    store_credit_note_pdf,
    store_invoice_pdf,
    update_draft_invoice,
)
from app.extensions import db

LINES = [("Annual contribution FY2027", Decimal("10000.00")), ("Conference fee", Decimal("250.50"))]


@pytest.fixture
def operator(make_user):
    return make_user("operations", full_name="Olga Operations")


# --- Drafts ------------------------------------------------------------------------------------------------


def test_a_draft_takes_the_hubs_currency_and_the_members_language(make_member, operator):
    member = make_member(language=Language.FR)
    invoice = create_draft_invoice(member, 2027, LINES, operator)
    assert invoice.is_draft and invoice.number is None
    assert invoice.currency == "EUR" and invoice.language == Language.FR
    assert [line.amount for line in invoice.lines] == [Decimal("10000.00"), Decimal("250.50")]
    assert invoice.total == Decimal("10250.50") and invoice.balance_due == Decimal("10250.50")
    assert invoice.created_by_id == operator.id
    assert [(event.kind, event.actor_label) for event in invoice.events] == [
        (InvoiceEventKind.CREATED, "Olga Operations")
    ]


def test_a_draft_can_be_billed_in_another_currency_and_language(make_member, operator):
    invoice = create_draft_invoice(make_member(), 2027, LINES, operator, currency="usd", language="es")
    assert invoice.currency == "USD" and invoice.language == Language.ES


@pytest.mark.parametrize(
    ("lines", "error", "field"),
    [
        ([], EmptyInvoice, "lines"),
        ([("", None)], EmptyInvoice, "lines"),
        ([("Fee", Decimal("0"))], InvalidInvoiceLine, "lines-0-amount"),
        ([("Fee", Decimal("10.005"))], InvalidInvoiceLine, "lines-0-amount"),
        ([("Fee", Decimal("-5.00"))], InvalidInvoiceLine, "lines-0-amount"),
        ([("", Decimal("5.00"))], InvalidInvoiceLine, "lines-0-description"),
        ([("Fee", "ten")], InvalidInvoiceLine, "lines-0-amount"),
    ],
)
def test_bad_lines_are_refused_with_a_message_for_the_field(make_member, operator, lines, error, field):
    with pytest.raises(error) as refused:
        create_draft_invoice(make_member(), 2027, lines, operator)
    assert refused.value.field_errors[field]


def test_an_unknown_currency_is_refused(make_member, operator):
    with pytest.raises(InvalidInvoiceDetails) as refused:
        create_draft_invoice(make_member(), 2027, LINES, operator, currency="XXQ")
    assert "currency" in refused.value.field_errors


def test_a_member_has_one_annual_invoice_per_fiscal_year(make_member, operator):
    member = make_member()
    create_draft_invoice(member, 2027, LINES, operator, kind=InvoiceKind.ANNUAL_CONTRIBUTION)
    with pytest.raises(DuplicateAnnualInvoice):
        create_draft_invoice(member, 2027, LINES, operator, kind=InvoiceKind.ANNUAL_CONTRIBUTION)
    create_draft_invoice(member, 2028, LINES, operator, kind=InvoiceKind.ANNUAL_CONTRIBUTION)
    create_draft_invoice(member, 2027, LINES, operator, kind=InvoiceKind.OTHER)


def test_a_draft_can_be_edited_and_deleted(make_member, operator):
    invoice = create_draft_invoice(make_member(), 2027, LINES, operator)
    update_draft_invoice(invoice, operator, lines=[("Workshop", Decimal("1200.00"))], notes="Thank you")
    assert [line.description for line in invoice.lines] == ["Workshop"]
    assert invoice.total == Decimal("1200.00") and invoice.notes == "Thank you"
    invoice_id = invoice.id
    delete_draft_invoice(invoice, operator)
    assert db.session.get(Invoice, invoice_id) is None


def test_moving_a_draft_to_another_member_takes_that_members_hub(make_member, make_hub, operator):
    other_hub = make_hub(name="Washington", invoice_prefix="HQ", base_currency="USD")
    invoice = create_draft_invoice(make_member(), 2027, LINES, operator)
    update_draft_invoice(invoice, operator, member=make_member(hub=other_hub), currency="USD")
    assert invoice.hub == other_hub and invoice.currency == "USD"


# --- Issuing -----------------------------------------------------------------------------------------------


def test_issuing_numbers_freezes_and_stores_the_pdf(make_member, operator):
    member = make_member(billing_address="Ministry of Finance\nAvenue 1\nDakar")
    invoice = create_draft_invoice(member, 2027, LINES, operator)
    issue_invoice(invoice, operator, issued_on=date(2026, 11, 2))
    assert invoice.pdf_bytes is None  # rendered after the issuing transaction, which holds the number

    assert store_invoice_pdf(invoice)

    assert invoice.number == "BE-2027-0001" and invoice.status == InvoiceStatus.ISSUED
    assert invoice.issued_on == date(2026, 11, 2) and invoice.due_on == date(2026, 12, 2)
    assert invoice.issued_by_id == operator.id and invoice.issued_at is not None
    assert invoice.bill_to["name"] == member.name
    assert invoice.bill_to["address"] == "Ministry of Finance\nAvenue 1\nDakar"
    assert invoice.bill_to["contact_name"] == member.contacts[0].name
    assert invoice.pdf_bytes.startswith(b"%PDF")
    assert invoice.pdf_sha256 == sha256_hex(invoice.pdf_bytes)
    assert [event.kind for event in invoice.events] == [InvoiceEventKind.CREATED, InvoiceEventKind.ISSUED]


def test_the_pdf_is_stored_once_and_a_second_render_is_dropped(make_member, operator):
    invoice = issue_invoice(create_draft_invoice(make_member(), 2027, LINES, operator), operator)
    assert store_invoice_pdf(invoice)
    first = invoice.pdf_bytes

    assert not store_invoice_pdf(invoice, b"%PDF-1.7 another render")  # a concurrent step came second
    assert invoice.pdf_bytes == first and invoice.pdf_sha256 == sha256_hex(first)


def test_a_draft_has_no_pdf_to_store(make_member, operator):
    with pytest.raises(InvoiceNotIssued):
        store_invoice_pdf(create_draft_invoice(make_member(), 2027, LINES, operator))


def test_the_due_date_follows_the_hubs_payment_terms(make_hub, make_member, operator):
    hub = make_hub(invoice_prefix="PT", payment_terms_days=60)
    invoice = create_draft_invoice(make_member(hub=hub), 2027, LINES, operator)
    issue_invoice(invoice, operator, issued_on=date(2027, 1, 1))
    assert invoice.due_on == date(2027, 1, 1) + timedelta(days=60)


def test_the_number_uses_the_invoices_fiscal_year(make_member, operator):
    invoice = create_draft_invoice(make_member(), 2028, LINES, operator)
    issue_invoice(invoice, operator, issued_on=date(2027, 10, 1))
    assert invoice.number == "BE-2028-0001"


def test_an_issued_invoice_is_not_issued_twice_and_uses_no_second_number(make_member, operator):
    invoice = create_draft_invoice(make_member(), 2027, LINES, operator)
    issue_invoice(invoice, operator)
    with pytest.raises(InvoiceAlreadyIssued):
        issue_invoice(invoice, operator)
    second = create_draft_invoice(make_member(), 2027, LINES, operator)
    assert issue_invoice(second, operator).number == "BE-2027-0002"


def test_an_issued_invoice_cannot_be_edited_deleted_or_changed(make_member, operator):
    invoice = issue_invoice(create_draft_invoice(make_member(), 2027, LINES, operator), operator)
    with pytest.raises(InvoiceAlreadyIssued):
        update_draft_invoice(invoice, operator, notes="changed")
    with pytest.raises(InvoiceAlreadyIssued):
        delete_draft_invoice(invoice, operator)
    invoice.total = Decimal("1.00")
    with pytest.raises(IssuedDocumentIsFrozen):
        db.session.flush()


def test_the_billing_address_is_frozen_at_issue(make_member, operator):
    member = make_member(billing_address="Old address")
    invoice = issue_invoice(create_draft_invoice(member, 2027, LINES, operator), operator)
    member.billing_address = "New address"
    db.session.flush()
    db.session.refresh(invoice)
    assert invoice.bill_to["address"] == "Old address"


def test_a_draft_without_lines_cannot_be_issued(make_draft_invoice, operator):
    invoice = make_draft_invoice()
    for line in invoice.lines:
        db.session.delete(line)
    db.session.flush()
    db.session.expire(invoice, ["lines"])
    invoice.total = invoice.subtotal = Decimal("0.00")
    db.session.flush()
    with pytest.raises(EmptyInvoice):
        issue_invoice(invoice, operator)
    assert invoice.number is None


# --- Credit notes ------------------------------------------------------------------------------------------


@pytest.fixture
def issued(make_member, operator):
    invoice = create_draft_invoice(make_member(), 2027, [("Contribution", Decimal("10000.00"))], operator)
    return issue_invoice(invoice, operator, issued_on=date(2027, 1, 15))


def test_a_credit_note_reduces_the_balance_and_has_its_own_number_and_pdf(issued, operator):
    note = issue_credit_note(issued, Decimal("2500.00"), "Reduced by SC decision", operator)
    assert note.number == "BE-CN-2027-0001"
    assert note.invoice == issued and note.currency == "EUR"
    assert note.balance_after == Decimal("7500.00")  # kept for its PDF, which is rendered after the commit
    assert note.pdf_bytes is None
    assert store_credit_note_pdf(note)
    assert note.pdf_bytes.startswith(b"%PDF") and note.pdf_sha256 == sha256_hex(note.pdf_bytes)
    assert issued.amount_credited == Decimal("2500.00") and issued.balance_due == Decimal("7500.00")
    assert issued.status == InvoiceStatus.ISSUED
    assert issued.events[-1].kind == InvoiceEventKind.CREDITED and note.number in issued.events[-1].detail


def test_crediting_the_whole_balance_marks_the_invoice_credited(issued, operator):
    issue_credit_note(issued, Decimal("10000.00"), "Cancelled: member withdrew", operator)
    assert issued.status == InvoiceStatus.CREDITED and issued.balance_due == Decimal("0.00")


def test_a_credited_annual_invoice_can_be_replaced(make_member, operator):
    member = make_member()
    kind = InvoiceKind.ANNUAL_CONTRIBUTION
    first = issue_invoice(create_draft_invoice(member, 2027, LINES, operator, kind=kind), operator)
    issue_credit_note(first, first.total, "Wrong income group", operator)
    replacement = create_draft_invoice(member, 2027, LINES, operator, kind=kind)
    assert replacement.is_draft


def test_a_credit_note_cannot_exceed_the_balance_due(issued, operator):
    issue_credit_note(issued, Decimal("9000.00"), "First", operator)
    with pytest.raises(CreditExceedsBalance) as refused:
        issue_credit_note(issued, Decimal("1000.01"), "Too much", operator)
    assert "amount" in refused.value.field_errors
    assert issued.amount_credited == Decimal("9000.00")


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1.00"), Decimal("1.001")])
def test_a_credit_note_needs_a_positive_amount_in_cents(issued, operator, amount):
    with pytest.raises(InvalidCreditNote):
        issue_credit_note(issued, amount, "Reason", operator)


def test_a_credit_note_needs_a_reason(issued, operator):
    with pytest.raises(InvalidCreditNote) as refused:
        issue_credit_note(issued, Decimal("10.00"), "  ", operator)
    assert "reason" in refused.value.field_errors


def test_a_draft_cannot_be_credited(make_draft_invoice, operator):
    with pytest.raises(InvoiceNotIssued):
        issue_credit_note(make_draft_invoice(), Decimal("10.00"), "Reason", operator)


def test_credit_notes_are_frozen(issued, operator):
    note = issue_credit_note(issued, Decimal("10.00"), "Reason", operator)
    note.reason = "Something else"
    with pytest.raises(IssuedDocumentIsFrozen):
        db.session.flush()


def test_a_credit_note_pdf_is_stored_once_and_then_frozen(issued, operator):
    note = issue_credit_note(issued, Decimal("10.00"), "Reason", operator)
    assert store_credit_note_pdf(note)
    first = note.pdf_bytes
    assert not store_credit_note_pdf(note, b"%PDF-another")  # a second render is dropped
    assert note.pdf_bytes == first
    note.pdf_bytes = b"%PDF-changed"
    with pytest.raises(IssuedDocumentIsFrozen):
        db.session.flush()


# --- Pro-formas and history --------------------------------------------------------------------------------


def test_a_pro_forma_of_a_draft_changes_nothing_and_is_not_stored(make_draft_invoice):
    invoice = make_draft_invoice()
    events_before = len(invoice.events)
    pdf = render_pro_forma(invoice)
    assert pdf.startswith(b"%PDF")
    assert invoice.pdf_bytes is None and invoice.number is None and invoice.is_draft
    assert len(invoice.events) == events_before


def test_an_issued_invoice_has_no_pro_forma(issued, operator):
    with pytest.raises(InvoiceAlreadyIssued):
        render_pro_forma(issued)


def test_a_planned_contribution_has_a_pro_forma(make_member, make_policy, operator):
    make_policy(fiscal_year=2028, currency="EUR")
    member = make_member(income_group="high", fiscal_year=2028)
    pdf = render_pro_forma(planned_contribution(member, 2028))
    assert pdf.startswith(b"%PDF")
    assert db.session.query(Invoice).filter_by(member_id=member.id).count() == 0


def test_no_pro_forma_without_a_policy(make_member, operator):
    with pytest.raises(NothingToBill):
        render_pro_forma(planned_contribution(make_member(), 2031))


def test_events_name_the_user_or_the_acting_label(make_draft_invoice, operator):
    invoice = make_draft_invoice()
    sent = record_invoice_event(invoice, InvoiceEventKind.SENT, operator, detail="to a@gov.example")
    with acting_as(None, label="reminders"):
        reminded = record_invoice_event(invoice, InvoiceEventKind.REMINDED, None, reminder_level=2)
    assert (sent.actor_id, sent.actor_label, sent.detail) == (
        operator.id,
        "Olga Operations",
        "to a@gov.example",
    )
    assert (reminded.actor_id, reminded.actor_label, reminded.reminder_level) == (None, "reminders", 2)
    assert sent.at is not None


# --- Demo data ---------------------------------------------------------------------------------------------


def test_demo_invoices_are_issued_once(hub, make_hub, make_member, make_policy):
    from app.common.fiscal import current_fiscal_year
    from app.contributions.demo.invoices import seed_invoices
    from app.contributions.models import CreditNote, InvoiceKind, PolicyExchangeRate
    from app.contributions.services.invoice_pdfs import render_missing

    year = current_fiscal_year()
    brussels = hub
    washington = make_hub(name="Washington", invoice_prefix="HQ", base_currency="USD")
    for fiscal_year in (year - 2, year - 1):
        policy = make_policy(fiscal_year=fiscal_year, currency="USD")
        policy.exchange_rates.append(PolicyExchangeRate(currency="EUR", rate=Decimal("0.92")))
    members = [
        make_member(hub=brussels, country_code="SN", language=Language.FR, fiscal_year=year - 1),
        make_member(hub=washington, country_code="MX", language=Language.ES, fiscal_year=year - 1),
        make_member(hub=brussels, country_code="DE", language=Language.EN, fiscal_year=year - 1),
        make_member(hub=washington, country_code="CL", language=Language.ES, income_group=None),
    ]

    added = seed_invoices()
    render_missing()
    invoices = db.session.query(Invoice).all()
    assert added == len(invoices) + 1  # and one credit note
    assert db.session.query(CreditNote).count() == 1
    assert {invoice.member for invoice in invoices} == set(members)
    assert {invoice.language for invoice in invoices} == {Language.EN, Language.FR, Language.ES}
    issued = [invoice for invoice in invoices if not invoice.is_draft]
    assert all(invoice.pdf_bytes.startswith(b"%PDF") for invoice in issued)
    assert [invoice.member.country_code for invoice in invoices if invoice.is_draft] == ["CL"]
    assert all(invoice.issued_on >= today() - timedelta(days=730) for invoice in issued)
    # Brussels bills its annual contributions in euros, at the policy's budget rate, and keeps the rate.
    annual = [invoice for invoice in issued if invoice.kind == InvoiceKind.ANNUAL_CONTRIBUTION]
    assert {(invoice.hub.invoice_prefix, invoice.currency) for invoice in annual} == {
        ("BE", "EUR"),
        ("HQ", "USD"),
    }
    assert all(invoice.exchange_rate == Decimal("0.92") for invoice in annual if invoice.currency == "EUR")
    assert seed_invoices() == 0
