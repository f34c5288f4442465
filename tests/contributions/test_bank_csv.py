"""Bank CSV exports through the common import preview: columns found in several banks' layouts, amounts and
dates as banks write them, every bad row listed, and the confirmed preview stored like any statement."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.common.imports import ImportRejected
from app.contributions.models import BankEntry, BankStatement, InvoiceStatus, StatementFormat
from app.contributions.services import bank_csv
from app.contributions.services.bank_csv import (
    parse_amount,
    read_signed_preview,
    read_statement_csv,
    sign_preview,
)
from app.contributions.services.bank_import import store_statement
from app.extensions import db
from tests.conftest import count

FILES = Path(__file__).parent / "bank_files"


def content(name: str) -> bytes:
    return (FILES / name).read_bytes()


@pytest.fixture
def us_hub(make_hub):
    return make_hub(
        name="Washington DC", base_currency="USD", country_code="US", invoice_prefix="US", iban="", bic="",
        account_number="000123456789",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("-500", "-500"),
        ("500,00 EUR", "500.00"),
        ("(25.00)", "-25.00"),
        ("25.00-", "-25.00"),
        ("1 234 567,8", "1234567.8"),
        ("€ 10,000", "10000"),
    ],
)
def test_amounts_are_read_as_banks_write_them(text, amount):
    assert parse_amount(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["", "abc", "1,2,3,a", "--", "12.3.45", "1,2345"])
def test_what_is_not_an_amount_is_none(text):
    assert parse_amount(text) is None


def test_a_dutch_layout_with_day_first_dates_and_comma_decimals_is_read(hub):
    preview = read_statement_csv(hub, "ing.csv", content("ing_export_eur.csv"))

    assert preview.problems == []
    assert preview.date_order == "day_first"
    first, second, charges = preview.entries
    assert (first.booked_on, first.amount, first.is_credit) == (date(2027, 2, 11), Decimal("10000.00"), True)
    assert first.counterparty_name == "TRESOR PUBLIC"
    assert first.counterparty_account == "FR7630001007941234567890185"
    assert first.structured_reference == "270010001258"
    assert second.remittance_text == "FACTURA BE-2027-0013"
    assert (charges.amount, charges.is_credit) == (Decimal("25.00"), False)


def test_a_us_layout_with_month_first_dates_is_read_for_the_us_hub(us_hub):
    preview = read_statement_csv(us_hub, "chase.csv", content("chase_export_usd.csv"))

    assert preview.problems == []
    wire, kenya, fee = preview.entries
    assert wire.booked_on == date(2027, 3, 1)
    assert "OBI: RF65 US20 2700 07" in wire.remittance_text
    assert fee.booked_on == date(2027, 3, 2) and not fee.is_credit


def test_every_bad_row_is_listed_and_nothing_is_read(hub):
    preview = read_statement_csv(hub, "broken.csv", content("broken_export.csv"))

    assert preview.entries == []
    assert [(problem.row, problem.message) for problem in preview.problems] == [
        (2, "“2027-02-30” is not a date (day first (31/12/2027))."),
        (3, "“abc” is not an amount."),
        (4, "“12.3.45” is not an amount."),
    ]


def test_a_file_without_an_amount_column_says_so(hub):
    preview = read_statement_csv(hub, "x.csv", b"Date,Payer\n2027-01-01,Someone\n")

    assert [problem.message for problem in preview.problems] == [
        "No amount column: name one column “Amount”, or “Credit” and “Debit”."
    ]


def test_a_file_that_is_not_a_table_is_refused(hub):
    with pytest.raises(ImportRejected):
        read_statement_csv(hub, "x.csv", b"")


def test_a_person_can_map_the_columns_and_the_date_order(us_hub):
    data = b"When,Money,What\n01/03/2027,25000.00,RF65 US20 2700 07\n"
    found = read_statement_csv(us_hub, "odd.csv", data)
    assert found.problems

    mapped = read_statement_csv(
        us_hub,
        "odd.csv",
        data,
        header_row=1,
        mapping={key: None for key in bank_csv.COLUMN_KEYS}
        | {"booked_on": 0, "amount": 1, "remittance_text": 2},
        date_order="day_first",
    )

    assert mapped.problems == []
    assert mapped.entries[0].booked_on == date(2027, 3, 1)


def test_the_signed_preview_is_stored_once(hub, make_draft_invoice, app):
    invoice = make_draft_invoice(amount="10000.00")
    invoice.number, invoice.payment_reference, invoice.status = (
        "BE-2027-0012",
        "270010001258",
        InvoiceStatus.ISSUED,
    )
    invoice.issued_on, invoice.due_on, invoice.pdf_bytes, invoice.pdf_sha256 = (
        date(2027, 1, 15), date(2027, 2, 14), b"%PDF", "0" * 64,
    )  # fmt: skip
    db.session.flush()
    data = content("ing_export_eur.csv")
    preview = read_statement_csv(hub, "ing.csv", data)
    with app.test_request_context():
        signed = read_signed_preview(
            sign_preview(hub, preview, data), lambda hub_id: db.session.get(type(hub), hub_id)
        )

    result = store_statement(signed.statement, None, signed.filename, None, file_sha256=signed.sha256)

    assert result.statement.format == StatementFormat.CSV
    assert (len(result.new_entries), result.applied, result.queued) == (3, 1, 1)
    assert invoice.status == InvoiceStatus.PAID
    assert count(BankEntry) == 3


def test_uploading_previewing_and_confirming_a_csv(hub, login_as):
    client = login_as("operations")

    preview = client.post(
        "/contributions/bank/csv",
        data={"hub": str(hub.id), "file": (io.BytesIO(content("ing_export_eur.csv")), "ing.csv")},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200
    assert "3 entries read, 2 money received" in preview.text
    token = preview.text.split('name="payload" type="hidden" value="')[1].split('"')[0]

    done = client.post("/contributions/bank/csv/confirm", data={"payload": token}, follow_redirects=True)
    assert "3 new entries" in done.text
    assert count(BankStatement) == 1

    again = client.post("/contributions/bank/csv/confirm", data={"payload": token}, follow_redirects=True)
    assert "nothing was added" in again.text and count(BankStatement) == 1
    tampered = client.post(
        "/contributions/bank/csv/confirm", data={"payload": token[:-4] + "AAAA"}, follow_redirects=True
    )
    assert "Nothing was imported: This confirmation could not be verified" in tampered.text


def test_a_csv_with_bad_rows_shows_them_all_and_offers_no_import(hub, login_as):
    client = login_as("operations")

    page = client.post(
        "/contributions/bank/csv",
        data={"hub": str(hub.id), "file": (io.BytesIO(content("broken_export.csv")), "broken.csv")},
        content_type="multipart/form-data",
    )

    assert page.status_code == 422
    assert "Nothing was imported: 3 problems to fix" in page.text
    assert "Import these" not in page.text
    assert count(BankEntry) == 0


def test_reading_the_file_again_with_another_date_order(us_hub, login_as):
    client = login_as("operations")
    preview = client.post(
        "/contributions/bank/csv",
        data={"hub": str(us_hub.id), "file": (io.BytesIO(content("chase_export_usd.csv")), "chase.csv")},
        content_type="multipart/form-data",
    )
    assert "Mar 1, 2027" in preview.text
    file_token = preview.text.split('name="file_token" type="hidden" value="')[1].split('"')[0]

    again = client.post(
        "/contributions/bank/csv/mapping",
        data={
            "file_token": file_token, "header_row": "1", "date_order": "day_first",
            "column-booked_on": "1", "column-amount": "3", "column-remittance_text": "2",
        },
    )  # fmt: skip

    assert again.status_code == 200 and "Jan 3, 2027" in again.text
    forged = client.post(
        "/contributions/bank/csv/mapping", data={"file_token": "x", "date_order": "day_first"}
    )
    assert forged.status_code == 302
