"""One invoice from issue to paid: issue it, download its PDF, record a partial then a final payment."""

import subprocess
from pathlib import Path

from playwright.sync_api import expect


def test_issue_download_then_collect_in_two_payments(sign_in_page, make_draft_invoice):
    draft = make_draft_invoice(amount="10000.00", fiscal_year=2027)
    page = sign_in_page("operations")

    page.goto(f"/contributions/invoices/{draft.id}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Issue invoice").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("BE-2027-0001")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download PDF").click()
    pdf = Path(download_info.value.path()).read_bytes()
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "BE-2027-0001" in text and "10,000.00" in text

    page.get_by_role("button", name="Record a payment").click()
    page.get_by_label("Amount received").fill("2500.00")
    page.get_by_label("Bank reference or cheque number").fill("SWIFT 1")
    page.get_by_role("button", name="Record payment").click()
    page.goto(f"/contributions/invoices/{draft.id}")
    expect(page.locator(".invoice-payments")).to_contain_text("Partially paid")
    expect(page.locator(".invoice-payments")).to_contain_text("€7,500.00")

    page.get_by_role("button", name="Record a payment").click()
    expect(page.get_by_label("Amount received")).to_have_value("7500.00")
    page.get_by_label("Bank reference or cheque number").fill("SWIFT 2")
    page.get_by_role("button", name="Record payment").click()
    page.goto(f"/contributions/invoices/{draft.id}")
    expect(page.locator(".invoice-payments .badge").first).to_have_text("Paid")
