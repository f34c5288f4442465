"""Operations record a partial payment and then the final one from the invoice page, in a real browser."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from app.common.time import today
from app.extensions import db

# The contribution builders, for this folder too.


def test_partial_then_final_payment_from_the_invoice_page(sign_in_page, make_issued_invoice):
    invoice = make_issued_invoice(amount="10000.00", issued_on=today() - timedelta(days=40))
    db.session.flush()
    page = sign_in_page("operations")

    page.goto(f"/contributions/invoices/{invoice.id}")
    page.get_by_role("button", name="Record a payment").click()
    expect(page.get_by_role("heading", name=f"Record a payment from {invoice.member.name}")).to_be_visible()
    page.get_by_label("Amount received").fill("4000.00")
    # The form spreads the amount over the open invoice it came from.
    expect(page.get_by_label(f"Amount to apply to {invoice.number}")).to_have_value("4000.00")
    page.get_by_label("Bank reference or cheque number").fill("SWIFT 2027-001")
    page.get_by_role("button", name="Record payment").click()

    expect(page.get_by_text("stays as credit on account")).to_have_count(0)
    expect(page.locator(".flash-success")).to_contain_text("applied to " + invoice.number)
    expect(page.get_by_text("Partially paid")).to_be_visible()
    expect(page.get_by_role("cell", name="€6,000.00")).to_be_visible()

    page.goto(f"/contributions/invoices/{invoice.id}")
    expect(page.locator(".invoice-payments")).to_contain_text("Partially paid")
    expect(page.locator(".invoice-payments")).to_contain_text("€6,000.00")
    page.get_by_role("button", name="Record a payment").click()
    expect(page.get_by_label("Amount received")).to_have_value("6000.00")
    page.get_by_role("button", name="Record payment").click()

    expect(page.locator(".flash-success")).to_contain_text("applied to " + invoice.number)
    page.goto(f"/contributions/invoices/{invoice.id}")
    expect(page.locator(".invoice-payments .badge").first).to_have_text("Paid")
    expect(page.locator(".invoice-payments")).to_contain_text("€0.00")
