"""What holds a government's payment up: recorded per invoice, filtered on, shown beside flagged members, and
the purchase-order number printed on documents issued after it is set."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.common.audit import AuditEntry
from app.common.errors import ValidationFailed
from app.contributions.models import BlockerDocumentKind, InvoiceBlocker
from app.contributions.services.invoicing import (
    create_draft_invoice,
    issue_invoice,
    render_pro_forma,
    store_invoice_pdf,
)
from app.contributions.services.payment_blockers import (
    BlockerError,
    clear_blocker,
    mark_document_sent,
    request_document,
    save_blocker,
    summary,
)
from app.extensions import db

from .test_invoice_pdf import pdf_text


@pytest.fixture
def operator(make_user):
    return make_user("operations")


def test_a_purchase_order_a_requested_document_and_a_note_are_kept_and_audited(make_issued_invoice, operator):
    invoice = make_issued_invoice()

    save_blocker(invoice, operator, purchase_order_number=" 4500 012345 ", note="Treasury pays in March.")
    document = request_document(invoice, BlockerDocumentKind.W8, operator, requested_on=date(2027, 2, 1))

    blocker = db.session.get(InvoiceBlocker, document.blocker_id)
    assert blocker.purchase_order_number == "4500 012345"
    assert summary(blocker) == "PO 4500 012345 · waiting for: Form W-8 · Treasury pays in March."
    mark_document_sent(document, operator, sent_on=date(2027, 2, 3))
    assert summary(blocker) == "PO 4500 012345 · documents sent · Treasury pays in March."
    db.session.flush()
    changes = db.session.query(AuditEntry).filter(
        AuditEntry.record_type.in_(["InvoiceBlocker", "invoice_blockers"])
    )
    assert changes.count() >= 1


def test_bad_blocker_input_changes_nothing(make_issued_invoice, operator):
    invoice = make_issued_invoice()

    with pytest.raises(ValidationFailed, match="what holds the payment up"):
        save_blocker(invoice, operator)
    with pytest.raises(ValidationFailed, match="Say which document"):
        request_document(invoice, BlockerDocumentKind.OTHER, operator)
    with pytest.raises(ValidationFailed, match="Choose the document"):
        request_document(invoice, "passport", operator)
    document = request_document(
        invoice, BlockerDocumentKind.BANK_LETTER, operator, requested_on=date(2027, 2, 1)
    )
    with pytest.raises(ValidationFailed, match="sent after it was asked for"):
        mark_document_sent(document, operator, sent_on=date(2027, 1, 1))


def test_clearing_keeps_the_purchase_order(make_issued_invoice, operator):
    invoice = make_issued_invoice()
    save_blocker(invoice, operator, purchase_order_number="PO-77")

    blocker = clear_blocker(invoice, operator)

    assert not blocker.is_blocking and blocker.purchase_order_number == "PO-77"
    with pytest.raises(BlockerError):
        clear_blocker(invoice, operator)


def test_the_invoice_list_filters_on_held_up_invoices(login_as, make_issued_invoice, operator):
    held = make_issued_invoice()
    free = make_issued_invoice()
    save_blocker(held, operator, note="Waiting for the budget law")
    client = login_as("board")

    page = client.get("/contributions/invoices/?blocked=y").text

    assert held.number in page and free.number not in page
    assert "Held up" in page


def test_the_arrears_page_shows_the_blocker_beside_a_flagged_member(
    login_as, make_member, make_issued_invoice, operator
):
    member = make_member()
    make_issued_invoice(member=member, fiscal_year=2026, issued_on=date(2026, 1, 15))
    latest = make_issued_invoice(member=member, fiscal_year=2027, issued_on=date(2027, 1, 15))
    save_blocker(latest, operator, purchase_order_number="CP-2027-118")
    client = login_as("board")

    page = client.get("/contributions/reports/arrears?first_year=2026&last_year=2027").text

    assert "consecutive unpaid years" in page
    assert f"{latest.number}</a> held up: PO CP-2027-118" in page


def test_documents_issued_after_the_purchase_order_is_set_print_it(make_member, operator):
    member = make_member()
    draft = create_draft_invoice(member, 2027, [("Annual contribution", Decimal("5000.00"))], operator)
    assert "PURCHASE ORDER" not in pdf_text(render_pro_forma(draft))

    save_blocker(draft, operator, purchase_order_number="4500012345")
    pro_forma = pdf_text(render_pro_forma(draft))
    assert "YOUR PURCHASE ORDER" in pro_forma and "4500012345" in pro_forma
    invoice = issue_invoice(draft, operator, issued_on=date(2027, 1, 15))
    store_invoice_pdf(invoice)

    issued = pdf_text(invoice.pdf_bytes)
    assert "YOUR PURCHASE ORDER" in issued and "4500012345" in issued


def test_an_invoice_issued_before_the_purchase_order_keeps_its_pdf(make_member, operator):
    member = make_member()
    draft = create_draft_invoice(member, 2027, [("Annual contribution", Decimal("5000.00"))], operator)
    invoice = issue_invoice(draft, operator, issued_on=date(2027, 1, 15) - timedelta(days=1))
    store_invoice_pdf(invoice)
    stored = invoice.pdf_bytes
    assert stored.startswith(b"%PDF")

    save_blocker(invoice, operator, purchase_order_number="4500012345")
    db.session.flush()

    assert invoice.pdf_bytes == stored


def test_the_blocker_page_as_operations_and_as_the_board(login_as, make_issued_invoice):
    invoice = make_issued_invoice()
    operations = login_as("operations")

    empty = operations.get(f"/contributions/invoices/{invoice.id}/blocker").text
    assert "Nothing is recorded as holding up" in empty
    refused = operations.post(f"/contributions/invoices/{invoice.id}/blocker", data={})
    assert refused.status_code == 422 and "Say what holds the payment up." in refused.text
    saved = operations.post(
        f"/contributions/invoices/{invoice.id}/blocker",
        data={"purchase_order_number": "PO 1", "note": "Minister signs next week"},
        follow_redirects=True,
    )
    assert "Saved what holds up" in saved.text and "Payment held up" in saved.text
    asked = operations.post(
        f"/contributions/invoices/{invoice.id}/blocker/documents",
        data={"kind": "vendor_registration", "requested_on": "2027-02-01"},
        follow_redirects=True,
    )
    assert "Vendor registration form recorded as asked for on 01 Feb 2027." in asked.text
    shown = operations.get(f"/contributions/invoices/{invoice.id}").text
    assert "Payment held up" in shown and "waiting for: Vendor registration form" in shown

    board = login_as("board")
    assert "Minister signs next week" in board.get(f"/contributions/invoices/{invoice.id}/blocker").text
    assert board.post(f"/contributions/invoices/{invoice.id}/blocker/clear").status_code == 403
