from decimal import Decimal

import pytest

from app.contributions.models import InvoiceLine, InvoiceStatus, IssuedDocumentIsFrozen
from app.extensions import db


def test_a_draft_can_be_edited_and_deleted(make_draft_invoice):
    invoice = make_draft_invoice()
    invoice.notes = "changed"
    db.session.flush()
    db.session.delete(invoice)
    db.session.flush()


def test_an_issued_invoice_refuses_changes_to_its_content(make_issued_invoice):
    invoice = make_issued_invoice()
    invoice.total = Decimal("1.00")
    with pytest.raises(IssuedDocumentIsFrozen):
        db.session.flush()
    db.session.rollback()


def test_an_issued_invoice_cannot_be_deleted_or_get_new_lines(make_issued_invoice):
    invoice = make_issued_invoice()
    invoice.lines.append(InvoiceLine(description="extra", unit_amount=Decimal("1"), amount=Decimal("1")))
    with pytest.raises(IssuedDocumentIsFrozen):
        db.session.flush()
    db.session.rollback()


def test_an_issued_invoice_keeps_its_stored_pdf(make_issued_invoice):
    invoice = make_issued_invoice()
    invoice.pdf_bytes = b"%PDF forged"
    invoice.pdf_sha256 = "f" * 64
    with pytest.raises(IssuedDocumentIsFrozen):
        db.session.flush()
    db.session.rollback()


def test_status_still_follows_the_balance_after_issue(make_issued_invoice):
    invoice = make_issued_invoice(amount="100.00")
    invoice.status = InvoiceStatus.PAID
    invoice.amount_paid = Decimal("100.00")
    db.session.flush()
    assert invoice.balance_due == Decimal("0.00")
