"""The bank pages as operations and the board use them: import, the statement, the queue, one entry's
decisions, and the messages they show."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.contributions.models import BankEntry, BankStatement, EntryStatus, InvoiceStatus, Payment
from app.extensions import db
from tests.conftest import count

FILES = Path(__file__).parent / "bank_files"


@pytest.fixture
def open_invoice(make_draft_invoice):
    def build(number: str, amount: str, reference: str | None = None, **overrides):
        invoice = make_draft_invoice(amount=amount, **overrides)
        invoice.number, invoice.payment_reference, invoice.status = number, reference, InvoiceStatus.ISSUED
        invoice.issued_on, invoice.due_on = date(2027, 1, 15), date(2027, 2, 14)
        invoice.pdf_bytes, invoice.pdf_sha256 = b"%PDF-1.7 test", "0" * 64
        db.session.flush()
        return invoice

    return build


def upload(client, name: str, data: bytes | None = None):
    data = data if data is not None else (FILES / name).read_bytes()
    return client.post(
        "/contributions/bank/statements",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_the_empty_pages_say_what_to_do(login_as):
    client = login_as("operations")

    assert "No bank statement has been imported yet" in client.get("/contributions/bank/").text
    assert "Nothing is waiting for review" in client.get("/contributions/bank/queue").text


def test_importing_a_statement_applies_what_is_certain_and_shows_the_rest(
    hub, login_as, make_member, open_invoice
):
    client = login_as("operations")
    france = open_invoice("BE-2027-0012", "10000.00", reference="270010001258")
    open_invoice("BE-2027-0013", "7500.00", member=make_member(name="Spain"))

    page = upload(client, "statement.xml", (FILES / "belfius_camt053_v02_eur.xml").read_bytes())

    assert page.status_code == 200
    assert "4 new entries; 1 matched and applied automatically; 2 waiting for review." in page.text
    assert "Matched automatically by its structured reference." in page.text
    assert france.status == InvoiceStatus.PAID
    queue = client.get("/contributions/bank/queue").text
    assert "BE-2027-0013" in queue and "Invoice number in the text" in queue
    assert "No invoice matches" in queue  # the Ghanaian transfer


def test_reimporting_says_nothing_was_added(hub, login_as):
    client = login_as("operations")
    upload(client, "a.xml", (FILES / "belfius_camt053_v02_eur.xml").read_bytes())

    page = upload(client, "a.xml", (FILES / "belfius_camt053_v02_eur.xml").read_bytes())

    assert "was already imported" in page.text and "nothing was added" in page.text
    assert count(BankStatement) == 1


def test_a_malformed_file_imports_nothing_and_says_why(hub, login_as):
    client = login_as("operations")

    page = upload(client, "broken.xml", (FILES / "belfius_camt053_v02_eur.xml").read_bytes()[:900])

    assert page.status_code == 422
    assert "Nothing was imported: The XML file is malformed" in page.text
    assert count(BankEntry) == 0


def test_an_upload_without_a_file_is_refused_beside_the_field(login_as):
    client = login_as("operations")

    page = client.post("/contributions/bank/statements", data={}, content_type="multipart/form-data")

    assert page.status_code == 422 and "Choose the statement file to import." in page.text


def test_confirming_from_the_entry_page_pays_the_invoice_and_moves_on(
    hub, login_as, make_member, open_invoice
):
    client = login_as("operations")
    spain = open_invoice("BE-2027-0013", "7500.00", member=make_member(name="Spain"))
    upload(client, "a.xml", (FILES / "belfius_camt053_v02_eur.xml").read_bytes())
    entry = db.session.query(BankEntry).filter(BankEntry.counterparty_name == "MINISTERIO DE HACIENDA").one()

    page = client.get(f"/contributions/bank/entries/{entry.id}")
    assert "Invoice number in the text" in page.text and "Pays it in full." in page.text
    done = client.post(
        f"/contributions/bank/entries/{entry.id}/confirm",
        data={"invoice_number": "be-2027-0013"},
        follow_redirects=True,
    )

    assert "€7,500.00 from Spain recorded as payment" in done.text
    assert spain.status == InvoiceStatus.PAID
    again = client.post(
        f"/contributions/bank/entries/{entry.id}/confirm",
        data={"invoice_number": "BE-2027-0013"},
        follow_redirects=True,
    )
    assert "already applied" in again.text and count(Payment) == 1


def test_an_unknown_invoice_number_is_refused_beside_the_field(hub, login_as):
    client = login_as("operations")
    upload(client, "a.xml", (FILES / "belfius_camt053_v02_eur.xml").read_bytes())
    entry = db.session.query(BankEntry).filter(BankEntry.status == EntryStatus.NEEDS_REVIEW).first()

    page = client.post(f"/contributions/bank/entries/{entry.id}/confirm", data={"invoice_number": "XX-1"})

    assert page.status_code == 422 and "No invoice is numbered &#39;XX-1&#39;." in page.text


def test_splitting_and_ignoring_from_the_entry_page(hub, login_as, make_member, open_invoice):
    client = login_as("operations")
    spain = make_member(name="Spain")
    first = open_invoice("BE-2026-0013", "5000.00", member=spain)
    second = open_invoice("BE-2027-0013", "5000.00", member=spain)
    upload(client, "a.xml", (FILES / "belfius_camt053_v02_eur.xml").read_bytes())
    spanish = (
        db.session.query(BankEntry).filter(BankEntry.counterparty_name == "MINISTERIO DE HACIENDA").one()
    )
    ghana = db.session.query(BankEntry).filter(BankEntry.counterparty_name == "REPUBLIC OF GHANA MOF").one()

    split = client.post(
        f"/contributions/bank/entries/{spanish.id}/split",
        data={
            "rows-0-invoice_number": "BE-2026-0013",
            "rows-0-amount": "5000.00",
            "rows-1-invoice_number": "BE-2027-0013",
            "rows-1-amount": "2500.00",
        },
        follow_redirects=True,
    )
    assert "Split over BE-2026-0013, BE-2027-0013." in split.text
    assert first.status == InvoiceStatus.PAID and second.balance_due == Decimal("2500.00")

    refused = client.post(f"/contributions/bank/entries/{ghana.id}/ignore", data={"note": ""})
    assert refused.status_code == 422 and "Say why this entry is ignored." in refused.text
    ignored = client.post(
        f"/contributions/bank/entries/{ghana.id}/ignore",
        data={"note": "Grant from a donor"},
        follow_redirects=True,
    )
    assert "ignored; no money was recorded" in ignored.text
    assert ghana.status == EntryStatus.IGNORED


def test_the_board_reads_the_bank_pages_but_cannot_decide(hub, login_as):
    operations = login_as("operations")
    upload(operations, "a.xml", (FILES / "belfius_camt053_v02_eur.xml").read_bytes())
    entry = db.session.query(BankEntry).filter(BankEntry.status == EntryStatus.NEEDS_REVIEW).first()
    board = login_as("board")

    assert board.get("/contributions/bank/").status_code == 200
    page = board.get(f"/contributions/bank/entries/{entry.id}")
    assert page.status_code == 200 and "Ignore this entry" not in page.text
    assert "Import the statement" not in board.get("/contributions/bank/").text
    assert board.post(f"/contributions/bank/entries/{entry.id}/ignore", data={"note": "x"}).status_code == 403


def test_with_two_hubs_the_bank_pages_filter_by_hub(hub, make_hub, login_as):
    other = make_hub(name="Washington headquarters")
    db.session.flush()
    client = login_as("operations")

    for path in ("/contributions/bank/", "/contributions/bank/queue"):
        unfiltered = client.get(path).text
        assert "All hubs" in unfiltered and other.name in unfiltered and ">Clear</a>" not in unfiltered
        filtered = client.get(f"{path}?hub={other.id}").text
        assert f'value="{other.id}" selected' in filtered
        assert f'href="{path}">Clear</a>' in filtered
