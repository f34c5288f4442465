"""Structured payment references: stored at issue, printed in the invoice's language, and carried by its EPC
QR code in the structured-reference field, read back from the PDF a member receives."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from stdnum import iso11649
from stdnum.be import ogm_vcs

from app.common.languages import Language
from app.contributions.services.invoicing import create_draft_invoice, issue_invoice, store_invoice_pdf
from app.contributions.services.payment_references import (
    compact_reference,
    derive_reference,
    display_reference,
    reference_of,
    references_in_text,
)
from app.extensions import db

from .test_invoice_pdf import pdf_text


@pytest.fixture
def operator(make_user):
    return make_user("operations")


def issue(member, operator, amount="10000.00", currency=None):
    invoice = create_draft_invoice(
        member, 2027, [("Annual contribution", Decimal(amount))], operator, currency=currency
    )
    issue_invoice(invoice, operator, issued_on=date(2027, 1, 15))
    store_invoice_pdf(invoice)
    return invoice


def qr_codes_in(pdf: bytes, tmp_path) -> list[str]:
    """What zbarimg reads from the PDF's first page rendered at 200 dpi."""
    (tmp_path / "invoice.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "200",
            "-f",
            "1",
            "-l",
            "1",
            str(tmp_path / "invoice.pdf"),
            str(tmp_path / "p"),
        ],
        check=True,
    )
    page = next(tmp_path.glob("p*.png"))
    result = subprocess.run(["zbarimg", "--quiet", str(page)], capture_output=True, check=False)
    # Each symbol starts with its type ("QR-Code:"); an EPC code's data runs over several lines.
    return [code.rstrip("\n") for code in result.stdout.decode().split("QR-Code:") if code.strip()]


def test_a_belgian_invoice_carries_a_structured_communication(make_member, operator):
    invoice = issue(make_member(), operator)

    assert invoice.payment_reference is not None
    assert ogm_vcs.is_valid(invoice.payment_reference)
    assert invoice.payment_reference == derive_reference(invoice)


def test_a_dollar_invoice_of_another_hub_carries_a_creditor_reference(make_hub, make_member, operator):
    us_hub = make_hub(name="Washington", base_currency="USD", country_code="US", invoice_prefix="US")
    invoice = issue(make_member(hub=us_hub), operator)

    assert invoice.payment_reference.startswith("RF")
    assert iso11649.is_valid(invoice.payment_reference)
    assert invoice.payment_reference.endswith(invoice.number.replace("-", ""))


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (zbar-tools) is not installed")
def test_the_pdf_shows_the_communication_and_its_qr_code_carries_it(make_member, operator, tmp_path):
    invoice = issue(make_member(language=Language.FR), operator, amount="12345.67")
    printed = display_reference(invoice.payment_reference)

    text = pdf_text(invoice.pdf_bytes)
    assert "Communication structurée" in text
    assert printed in text

    codes = qr_codes_in(invoice.pdf_bytes, tmp_path)
    epc = next(code for code in codes if code.startswith("BCD"))
    lines = epc.split("\n")
    assert lines[6] == "BE71096123456769"
    assert lines[7] == "EUR12345.67"
    # EPC 069-12: line 10 is the structured remittance reference, line 11 the free text (left empty).
    assert lines[9] == invoice.payment_reference
    assert (lines[10] if len(lines) > 10 else "") == ""


def test_an_english_invoice_prints_the_creditor_reference_label(make_hub, make_member, operator):
    euro_hub = make_hub(name="Paris", base_currency="EUR", country_code="FR", invoice_prefix="FRP")
    invoice = issue(make_member(hub=euro_hub), operator)

    text = pdf_text(invoice.pdf_bytes)
    assert "Creditor reference" in text
    assert display_reference(invoice.payment_reference) in text


def test_invoices_issued_before_references_keep_their_pdf_and_still_have_one_for_matching(
    make_issued_invoice,
):
    invoice = make_issued_invoice()
    stored = invoice.pdf_bytes

    assert invoice.payment_reference is None
    assert reference_of(invoice) == derive_reference(invoice)
    db.session.flush()
    assert invoice.pdf_bytes == stored


def test_references_are_found_however_payers_write_them():
    assert references_in_text("PAIEMENT +++090/9337/55493+++ MERCI") == ["090933755493"]
    assert references_in_text("pay ***090/9337/55493*** thanks") == ["090933755493"]
    assert references_in_text("ref 090933755493") == ["090933755493"]
    assert references_in_text("RF18 5390 0754 7034 and more words") == ["RF18539007547034"]
    assert references_in_text("090933755494 is not valid") == []
    assert compact_reference("+++090/9337/55493+++") == "090933755493"
    assert compact_reference("RF18 5390 0754 7034") == "RF18539007547034"
    assert compact_reference("INV 12") == ""
