"""The invoicing journey: create a draft, issue it, download its PDF."""

import subprocess
from pathlib import Path

from playwright.sync_api import expect

from app.common.languages import Language

# The contribution builders, for this folder too.


def test_create_issue_and_download_an_invoice(sign_in_page, make_member):
    member = make_member(name="Republic of Cabo Verde", language=Language.FR)
    page = sign_in_page("operations")

    page.goto("/contributions/invoices/")
    page.get_by_role("button", name="New invoice").click()
    page.get_by_label("Member").select_option(label=f"{member.name} (BE)")
    page.get_by_label("Fiscal year").fill("2027")
    page.get_by_label("Line 1 description").fill("Participation in the regional conference")
    page.get_by_label("Line 1 amount").fill("10000.00")
    page.get_by_role("button", name="Create draft").click()

    expect(page.get_by_text("Draft invoice for Republic of Cabo Verde saved")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft invoice")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Issue invoice").click()
    expect(page.get_by_text("Invoice BE-2027-0001 issued")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("BE-2027-0001")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == "BE-2027-0001.pdf"
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "BE-2027-0001" in text and "Facture" in text


def test_cancelling_the_confirmation_issues_nothing(sign_in_page, make_draft_invoice):
    invoice = make_draft_invoice()
    page = sign_in_page("operations")
    page.goto(f"/contributions/invoices/{invoice.id}")

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Issue invoice").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft invoice")
