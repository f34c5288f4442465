"""Operations import a bank statement, confirm a queued entry and see the invoice paid, in a real browser."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from playwright.sync_api import expect

from app.contributions.models import InvoiceStatus
from app.extensions import db

STATEMENT = Path(__file__).parent.parent / "contributions" / "bank_files" / "belfius_camt053_v02_eur.xml"
#: Set to a folder to keep screenshots of each page (for looking at them, not for asserting).
SCREENSHOTS = os.environ.get("TRIBUTARY_SCREENSHOTS")


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/{name}.png", full_page=True)


def issued(make_draft_invoice, number, amount, **overrides):
    invoice = make_draft_invoice(amount=amount, **overrides)
    invoice.number, invoice.status = number, InvoiceStatus.ISSUED
    invoice.issued_on, invoice.due_on = date(2027, 1, 15), date(2027, 2, 14)
    invoice.pdf_bytes, invoice.pdf_sha256 = b"%PDF-1.7 test", "0" * 64
    return invoice


def test_import_a_statement_confirm_a_queued_entry_and_see_the_invoice_paid(
    sign_in_page, make_member, make_draft_invoice
):
    france = issued(make_draft_invoice, "BE-2027-0012", "10000.00", member=make_member(name="France"))
    france.payment_reference = "270010001258"
    spain = issued(make_draft_invoice, "BE-2027-0013", "7500.00", member=make_member(name="Spain"))
    db.session.flush()
    page = sign_in_page("operations")

    page.goto("/contributions/bank/")
    shot(page, "bank-empty")
    page.get_by_label("Bank statement file").set_input_files(str(STATEMENT))
    page.get_by_role("button", name="Import the statement").click()

    expect(page.locator(".flash-success")).to_contain_text("1 matched and applied automatically; 2 waiting")
    expect(page.get_by_text("Matched automatically by its structured reference.")).to_be_visible()
    shot(page, "bank-statement")

    page.get_by_role("button", name="Review the 2 waiting entries").click()
    row = page.locator("tr", has_text="MINISTERIO DE HACIENDA")
    expect(row).to_contain_text("BE-2027-0013")
    expect(row).to_contain_text("Invoice number in the text")
    shot(page, "bank-queue")
    row.get_by_role("link", name="Review").click()
    expect(page.get_by_text("Pays it in full.")).to_be_visible()
    shot(page, "bank-entry")
    page.locator("tr", has_text="BE-2027-0013").get_by_role("button", name="Confirm").click()

    expect(page.locator(".flash-success")).to_contain_text("€7,500.00 from Spain recorded as payment")
    shot(page, "bank-after-confirm")
    page.goto(f"/contributions/invoices/{spain.id}")
    expect(page.locator(".invoice-payments .badge").first).to_have_text("Paid")
    page.goto(f"/contributions/invoices/{france.id}")
    expect(page.locator(".invoice-payments .badge").first).to_have_text("Paid")
