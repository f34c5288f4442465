"""Payments: allocation, credit on account, exchange rates, write-offs, refunds, and the pages."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.common.audit import AuditEntry
from app.common.time import today
from app.contributions.models import (
    Invoice,
    InvoiceEventKind,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    WriteOff,
)
from app.contributions.services.payments import (
    AllocationExceedsBalance,
    AllocationExceedsPayment,
    CurrencyNeedsRate,
    InvoiceNotOpen,
    RefundExceedsPayment,
    WriteOffTooLarge,
    WrongMember,
    allocate_payment,
    credit_on_account,
    record_payment,
    record_refund,
    write_off,
)
from app.extensions import db
from tests.conftest import count
from tests.helpers import get_counting_queries

D = Decimal
RECEIVED = date(2027, 2, 20)
TODAY = today().isoformat()


@pytest.fixture
def actor(make_user):
    return make_user("operations")


def pay(member, amount, actor, currency="EUR", allocations=(), **extra):
    return record_payment(
        member, D(amount), currency, RECEIVED, PaymentMethod.WIRE, actor, allocations=allocations, **extra
    )


# --- Services ----------------------------------------------------------------------------------------------


def test_a_partial_payment_leaves_the_invoice_partially_paid(make_issued_invoice, actor):
    invoice = make_issued_invoice(amount="10000.00")

    pay(invoice.member, "4000.00", actor, allocations=[(invoice, D("4000.00"), None)])

    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert invoice.amount_paid == D("4000.00")
    assert invoice.balance_due == D("6000.00")
    assert [e.kind for e in invoice.events] == [InvoiceEventKind.PAYMENT]


def test_one_payment_settles_several_invoices(make_member, make_issued_invoice, actor):
    member = make_member()
    first = make_issued_invoice(member=member, amount="1000.00")
    second = make_issued_invoice(member=member, amount="500.00", fiscal_year=2026)

    payment = pay(
        member, "1500.00", actor, allocations=[(first, D("1000.00"), None), (second, D("500.00"), None)]
    )

    assert first.status == second.status == InvoiceStatus.PAID
    assert payment.unallocated_amount == D("0.00")


def test_an_overpayment_stays_as_credit_and_can_be_allocated_later(make_member, make_issued_invoice, actor):
    member = make_member()
    first = make_issued_invoice(member=member, amount="1000.00")
    payment = pay(member, "1200.00", actor, allocations=[(first, D("1000.00"), None)])
    assert payment.unallocated_amount == D("200.00")
    assert [(c.currency, c.amount) for c in credit_on_account(member)] == [("EUR", D("200.00"))]

    later = make_issued_invoice(member=member, amount="300.00", fiscal_year=2028)
    allocate_payment(payment, later, D("200.00"), actor)

    assert later.status == InvoiceStatus.PARTIALLY_PAID
    assert later.balance_due == D("100.00")
    assert credit_on_account(member) == []


def test_allocation_never_exceeds_the_balance_or_the_payment(make_member, make_issued_invoice, actor):
    member = make_member()
    invoice = make_issued_invoice(member=member, amount="100.00")
    payment = pay(member, "50.00", actor)
    with pytest.raises(AllocationExceedsBalance):
        allocate_payment(payment, invoice, D("100.01"), actor)
    with pytest.raises(AllocationExceedsPayment):
        allocate_payment(payment, invoice, D("50.01"), actor)
    assert invoice.status == InvoiceStatus.ISSUED


def test_allocating_to_another_members_invoice_is_refused(make_member, make_issued_invoice, actor):
    invoice = make_issued_invoice(amount="100.00")
    payment = pay(make_member(), "100.00", actor)

    with pytest.raises(WrongMember):
        allocate_payment(payment, invoice, D("100.00"), actor)
    assert invoice.status == InvoiceStatus.ISSUED


def test_a_paid_or_draft_invoice_takes_no_allocation(
    make_member, make_draft_invoice, make_issued_invoice, actor
):
    member = make_member()
    draft = make_draft_invoice(member=member)
    payment = pay(member, "100.00", actor)
    with pytest.raises(InvoiceNotOpen):
        allocate_payment(payment, draft, D("10.00"), actor)


def test_another_currency_needs_a_rate_and_keeps_it(make_member, make_issued_invoice, actor):
    member = make_member()
    invoice = make_issued_invoice(member=member, amount="920.00", currency="EUR")
    payment = pay(member, "1000.00", actor, currency="USD")
    with pytest.raises(CurrencyNeedsRate):
        allocate_payment(payment, invoice, D("920.00"), actor)

    allocation = allocate_payment(payment, invoice, D("920.00"), actor, exchange_rate=D("0.92"))

    assert allocation.amount == D("920.00")
    assert allocation.payment_amount == D("1000.00")
    assert allocation.exchange_rate == D("0.92")
    assert invoice.status == InvoiceStatus.PAID
    assert payment.unallocated_amount == D("0.00")


def test_rounding_across_currencies_never_takes_more_than_the_payment_has(
    make_member, make_issued_invoice, actor
):
    member = make_member()
    invoice = make_issued_invoice(member=member, amount="50.00", currency="EUR")
    payment = pay(member, "100.05", actor, currency="USD")

    # 100.05 x 0.1 = 10.005, rounded to 10.01 EUR; 10.01 / 0.1 would be 100.10 USD.
    allocation = allocate_payment(payment, invoice, D("10.01"), actor, exchange_rate=D("0.1"))

    assert allocation.payment_amount == D("100.05")
    with pytest.raises(AllocationExceedsPayment):
        allocate_payment(payment, invoice, D("0.01"), actor, exchange_rate=D("0.1"))


def test_a_small_remainder_is_written_off_with_a_reason(make_issued_invoice, actor):
    invoice = make_issued_invoice(amount="10000.00")
    pay(invoice.member, "9975.00", actor, allocations=[(invoice, D("9975.00"), None)])

    write_off(invoice, D("25.00"), "Bank charges deducted by the intermediary bank", actor)

    assert invoice.balance_due == D("0.00")
    assert invoice.status == InvoiceStatus.WRITTEN_OFF
    assert invoice.events[-1].kind == InvoiceEventKind.WRITTEN_OFF


def test_a_write_off_is_capped_at_five_percent(make_issued_invoice, actor):
    invoice = make_issued_invoice(amount="1000.00")
    with pytest.raises(WriteOffTooLarge, match="5%"):
        write_off(invoice, D("50.01"), "Too much", actor)
    assert count(WriteOff) == 0


def test_a_refund_beyond_the_credit_reopens_the_invoice(make_issued_invoice, actor):
    invoice = make_issued_invoice(amount="100.00")
    payment = pay(invoice.member, "120.00", actor, allocations=[(invoice, D("100.00"), None)])

    record_refund(payment, D("50.00"), RECEIVED, actor, reason="Paid twice")

    assert payment.refunded_amount == D("50.00")
    assert payment.unallocated_amount == D("0.00")
    assert invoice.amount_paid == D("70.00")
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    with pytest.raises(RefundExceedsPayment):
        record_refund(payment, D("70.01"), RECEIVED, actor)


def test_money_changes_are_in_the_audit_log(make_issued_invoice, actor):
    invoice = make_issued_invoice(amount="100.00")
    pay(invoice.member, "100.00", actor, allocations=[(invoice, D("100.00"), None)])

    types = set(db.session.scalars(sa.select(AuditEntry.record_type)))
    assert {"Payment", "PaymentAllocation", "Invoice"} <= types


# --- Pages -------------------------------------------------------------------------------------------------


def test_operations_record_a_partial_payment_through_the_form(login_as, make_issued_invoice):
    invoice = make_issued_invoice(amount="10000.00")
    client = login_as("operations")

    form = client.get(f"/contributions/payments/new?member_id={invoice.member_id}&invoice_id={invoice.id}")
    assert form.status_code == 200
    assert invoice.number in form.text

    response = client.post(
        f"/contributions/payments/new?member_id={invoice.member_id}",
        data={
            "amount": "4000.00",
            "currency": "EUR",
            "received_on": TODAY,
            "method": "wire",
            "reference": "SWIFT 123",
            "allocations-0-invoice_id": str(invoice.id),
            "allocations-0-amount": "4000.00",
        },
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert "recorded and applied to" in response.text
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert invoice.balance_due == D("6000.00")


def test_the_form_refuses_an_allocation_above_the_balance_and_saves_nothing(login_as, make_issued_invoice):
    invoice = make_issued_invoice(amount="100.00")
    client = login_as("operations")

    response = client.post(
        f"/contributions/payments/new?member_id={invoice.member_id}",
        data={
            "amount": "500.00",
            "currency": "EUR",
            "received_on": TODAY,
            "method": "wire",
            "allocations-0-invoice_id": str(invoice.id),
            "allocations-0-amount": "150.00",
        },
    )

    assert response.status_code == 422
    assert "More than the balance due" in response.text
    assert count(Payment) == 0


def test_the_form_asks_for_a_rate_across_currencies(login_as, make_issued_invoice):
    invoice = make_issued_invoice(amount="920.00", currency="EUR")
    client = login_as("operations")
    data = {
        "amount": "1000.00",
        "currency": "USD",
        "received_on": TODAY,
        "method": "wire",
        "allocations-0-invoice_id": str(invoice.id),
        "allocations-0-amount": "920.00",
    }

    refused = client.post(f"/contributions/payments/new?member_id={invoice.member_id}", data=data)
    assert refused.status_code == 422
    assert "give the rate" in refused.text

    client.post(
        f"/contributions/payments/new?member_id={invoice.member_id}",
        data={**data, "allocations-0-rate": "0.92"},
    )
    allocation = db.session.scalar(sa.select(PaymentAllocation))
    assert (allocation.amount, allocation.payment_amount, allocation.exchange_rate) == (
        D("920.00"),
        D("1000.00"),
        D("0.92"),
    )
    assert invoice.status == InvoiceStatus.PAID


def test_credit_on_account_is_applied_from_the_payment_page(
    login_as, make_member, make_issued_invoice, actor
):
    member = make_member()
    payment = pay(member, "300.00", actor)
    invoice = make_issued_invoice(member=member, amount="500.00")
    client = login_as("operations")

    page = client.get(f"/contributions/payments/{payment.id}")
    assert "Apply the credit on account" in page.text

    response = client.post(
        f"/contributions/payments/{payment.id}/allocate",
        data={"invoice_id": str(invoice.id), "amount": "300.00"},
        follow_redirects=True,
    )
    assert "now partially paid" in response.text
    assert invoice.balance_due == D("200.00")


def test_allocating_credit_to_another_members_invoice_shows_the_refusal(
    login_as, make_member, make_issued_invoice, actor
):
    payment = pay(make_member(), "300.00", actor)
    other = make_issued_invoice(amount="500.00")
    client = login_as("operations")

    response = client.post(
        f"/contributions/payments/{payment.id}/allocate",
        data={"invoice_id": str(other.id), "amount": "100.00"},
    )

    assert response.status_code == 422
    assert count(PaymentAllocation) == 0


def test_write_off_page_settles_a_small_remainder(login_as, make_issued_invoice, actor):
    invoice = make_issued_invoice(amount="1000.00")
    pay(invoice.member, "985.00", actor, allocations=[(invoice, D("985.00"), None)])
    client = login_as("operations")

    page = client.get(f"/contributions/invoices/{invoice.id}/write-off")
    assert page.status_code == 200
    assert 'value="15.00"' in page.text

    client.post(
        f"/contributions/invoices/{invoice.id}/write-off",
        data={"amount": "15.00", "reason": "Bank charges", "written_off_on": TODAY},
    )
    assert invoice.status == InvoiceStatus.WRITTEN_OFF


def test_write_off_above_the_cap_is_refused_beside_the_form(login_as, make_issued_invoice):
    invoice = make_issued_invoice(amount="1000.00")
    client = login_as("operations")

    response = client.post(
        f"/contributions/invoices/{invoice.id}/write-off",
        data={"amount": "200.00", "reason": "Too much", "written_off_on": TODAY},
    )

    assert response.status_code == 422
    assert "at most 5% of the invoice total" in response.text
    assert count(WriteOff) == 0


def test_payments_list_searches_and_exports_csv(login_as, make_member, actor):
    pay(make_member(name="Ghana"), "100.00", actor, reference="GH-REF-1")
    pay(make_member(name="Kenya"), "200.00", actor, reference="KE-REF-2")
    client = login_as("board")

    page = client.get("/contributions/payments/?q=GH-REF")
    assert "Ghana" in page.text and "Kenya" not in page.text

    export = client.get("/contributions/payments/?format=csv&method=wire")
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0][:3] == ["Payment", "Received on", "Member"]
    assert {row[2] for row in rows[1:]} == {"Ghana", "Kenya"}


def test_board_reads_payments_but_cannot_record_them(login_as, make_issued_invoice):
    invoice = make_issued_invoice()
    client = login_as("board")

    assert client.get("/contributions/payments/").status_code == 200
    response = client.post(
        f"/contributions/payments/new?member_id={invoice.member_id}",
        data={"amount": "1.00", "currency": "EUR", "received_on": TODAY, "method": "wire"},
    )
    assert response.status_code == 403
    assert count(Payment) == 0


def test_the_invoice_panel_shows_payments_and_the_write_off_link(app, make_issued_invoice, actor, login_as):
    from flask import render_template_string

    invoice = make_issued_invoice(amount="1000.00")
    pay(invoice.member, "990.00", actor, reference="SWIFT-9", allocations=[(invoice, D("990.00"), None)])
    client = login_as("operations")

    with app.test_request_context("/contributions/"):
        from flask_login import login_user

        login_user(client.user)
        from app.contributions.views import payments as views

        html = render_template_string(
            '{% include "contributions/payments/_invoice_payments.html" %}',
            invoice=invoice,
            **views.inject_invoice_payment_panel(),
        )
    assert "Partially paid" in html
    assert "SWIFT-9" in html
    assert "Write off remainder" in html
    assert "Record a payment" in html


def test_demo_payments_cover_every_case_and_run_once(make_member, make_issued_invoice):
    from app.common.fiscal import current_fiscal_year
    from app.contributions.demo.payments import seed_payments
    from app.contributions.models import InvoiceKind
    from app.contributions.services.arrears import arrears_report

    current = current_fiscal_year()
    members = [make_member(fiscal_year=current - 1) for _ in range(9)]
    for year in (current - 2, current - 1):
        for member in members:
            make_issued_invoice(
                member=member,
                fiscal_year=year,
                kind=InvoiceKind.ANNUAL_CONTRIBUTION,
                amount="10000.00",
                issued_on=date(year - 1, 12, 1),
            )

    added = seed_payments()

    assert added > 0 and seed_payments() == 0
    statuses = {invoice.status for member in members for invoice in db.session.scalars(
        sa.select(Invoice).where(Invoice.member_id == member.id))}  # fmt: skip
    assert {
        InvoiceStatus.PAID,
        InvoiceStatus.PARTIALLY_PAID,
        InvoiceStatus.WRITTEN_OFF,
        InvoiceStatus.ISSUED,
    } <= statuses
    assert db.session.scalar(sa.select(PaymentAllocation).where(PaymentAllocation.exchange_rate.is_not(None)))
    assert any(credit_on_account(member) for member in members)
    flagged = [row for row in arrears_report(current - 2, current - 1).rows if row.flagged]
    assert len(flagged) == 2


@pytest.mark.parametrize("batch_size", [1000, 2])
def test_the_payments_csv_streams_in_one_query_whatever_the_batch_size(
    login_as, make_member, make_issued_invoice, actor, monkeypatch, batch_size
):
    """More payments add no query, even when the rows are fetched two at a time (one streamed query, the
    allocations joined into it)."""
    from app.common import exports

    monkeypatch.setattr(exports, "STREAM_BATCH_ROWS", batch_size)
    client = login_as("board")

    def export() -> tuple[list[list[str]], int]:
        response, queries = get_counting_queries(client, "/contributions/payments/?format=csv")
        assert response.status_code == 200 and "Content-Length" not in response.headers
        return list(csv.reader(io.StringIO(response.text)))[1:], queries

    member = make_member(name="Ghana")
    first = make_issued_invoice(member=member, amount="1000.00")
    second = make_issued_invoice(member=member, amount="500.00", fiscal_year=2026)
    pay(member, "1700.00", actor, allocations=[(first, D("1000.00"), None), (second, D("500.00"), None)])
    rows, few = export()
    assert [row[2] for row in rows] == ["Ghana"]
    assert rows[0][7:] == ["1500.00", "0.00", "200.00", f"{first.number} {second.number}"]

    for _ in range(8):
        pay(make_member(), "10.00", actor)
    rows, many = export()
    assert len(rows) == 9
    assert many == few


def test_the_member_page_adds_up_credit_on_account_as_the_payments_do(
    make_member, make_issued_invoice, actor
):
    from app.contributions.services import members as member_service

    member = make_member(name="Ghana")
    invoice = make_issued_invoice(member=member, amount="1000.00")
    pay(member, "1700.00", actor, allocations=[(invoice, D("1000.00"), None)])
    pay(member, "50.00", actor, currency="USD")
    fully_used = make_issued_invoice(member=member, amount="300.00", fiscal_year=2026)
    pay(member, "300.00", actor, allocations=[(fully_used, D("300.00"), None)])

    payments = member_service.member_payments(member)
    assert member_service.member_credit_on_account(member) == member_service.credit_on_account(payments)
    assert member_service.member_credit_on_account(member) == {"EUR": D("700.00"), "USD": D("50.00")}


def test_the_member_page_shows_a_page_of_invoices_and_the_latest_payments(
    login_as, make_member, make_issued_invoice, actor, app
):
    from app.contributions.services import members as member_service

    member = make_member(name="Ghana")
    per_page = app.config["ITEMS_PER_PAGE"]
    for year in range(per_page + 2):
        make_issued_invoice(member=member, amount="10.00", fiscal_year=2000 + year)
    for _ in range(member_service.MEMBER_PAGE_PAYMENTS + 1):
        pay(member, "1.00", actor)
    client = login_as("board")

    first = client.get(f"/contributions/members/{member.id}")
    second = client.get(f"/contributions/members/{member.id}?page=2")

    assert first.status_code == second.status_code == 200
    assert f"1–{per_page} of {per_page + 2:,} invoices" in first.text
    assert f"FY{2000 + per_page + 1}" in first.text and "FY2000<" not in first.text
    assert "FY2000<" in second.text
    assert f"The latest {member_service.MEMBER_PAGE_PAYMENTS} payments" in first.text
