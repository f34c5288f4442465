"""An uploaded table read as a person made it: its columns found, refused whole, its preview signed."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import date, datetime

import pytest
from itsdangerous.timed import TimestampSigner
from openpyxl import Workbook

from app.common.imports import (
    Column,
    ImportRejected,
    PreviewSigner,
    PreviewTokenInvalid,
    RowProblem,
    find_header,
    header_from_mapping,
    plain_text,
    read_table,
    reject_if_any,
    size_text,
)

NAME = Column("name", "Name", names={"organisation", "organization"}, words=("name",))
COUNTRY = Column("country", "Country", words=("country",))
AMOUNT = Column("amount", "Amount", names={"sum"}, required=False)
COLUMNS = (NAME, COUNTRY, AMOUNT)


def refusal(filename: str, content: bytes, **options) -> list[tuple[int | None, str]]:
    with pytest.raises(ImportRejected) as rejected:
        read_table(filename, content, **options)
    return [(problem.row, problem.message) for problem in rejected.value.problems]


def xlsx(rows: list[list], first_row: int = 1) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for number, row in enumerate(rows, start=first_row):
        for column, value in enumerate(row, start=1):
            sheet.cell(number, column, value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def cells(table) -> list[tuple[int, tuple[str, ...]]]:
    return [(row.number, row.cells) for row in table.rows]


# --- Encodings and delimiters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        "Name,Country\nFondation Lumière,France\n".encode(),
        "\ufeffName,Country\nFondation Lumière,France\n".encode(),  # Excel's "CSV UTF-8" starts with a BOM
        "Name\tCountry\r\nFondation Lumière\tFrance\r\n".encode("utf-16"),  # Excel's "Unicode text"
        "Name;Country\nFondation Lumière;France\n".encode(),  # a French spreadsheet's CSV
    ],
)
def test_utf8_with_or_without_bom_utf16_and_any_common_delimiter_read_the_same(content):
    table = read_table("donors.csv", content)
    assert cells(table) == [(1, ("Name", "Country")), (2, ("Fondation Lumière", "France"))]


def test_text_in_another_encoding_is_refused_with_what_to_do():
    content = "Name,Country\nAcme,USA\nFondation Lumière,France\n".encode("cp1252")
    [(row, message)] = refusal("donors.csv", content)
    assert row is None
    assert message.startswith("The file is not UTF-8 text (the first character it cannot read is on line 3).")
    assert "CSV UTF-8 (Comma delimited)" in message


def test_an_import_may_accept_one_legacy_encoding():
    content = "Name,Country\nFondation Lumière,France\n".encode("cp1252")
    table = read_table("donors.csv", content, legacy_encoding="cp1252")
    assert table.encoding == "cp1252" and table.rows[1].cells == ("Fondation Lumière", "France")


# --- What the file is --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("donors.csv", b"", "The file is empty."),
        ("donors.csv", b",,\n ,\n", "The file is empty."),
        (
            "donors.xlsx",
            b"%PDF-1.7",
            "This file is named .xlsx but is not an Excel workbook: it is a PDF document.",
        ),
        (
            "donors.xlsx",
            b"Name,Country\n",
            "This file is named .xlsx but is not an Excel workbook: save it again as .xlsx or .csv.",
        ),
        (
            "donors.csv",
            b"\x89PNG\r\n\x1a\n\x00\x00",
            "This file is named .csv but is not text: it is a PNG image.",
        ),
        ("donors.pdf", b"%PDF-1.7", "Upload a CSV (.csv) or Excel (.xlsx) file."),
        ("donors", b"Name,Country\n", "Upload a CSV (.csv) or Excel (.xlsx) file."),
        (
            "donors.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            "This is an old Excel (.xls) file: save it as .xlsx or .csv.",
        ),
        ("donors.xlsx", b"PK\x03\x04 broken", "The Excel file could not be read: save it again as .xlsx."),
        ("big.csv", b"x" * 2049, "The file is larger than 2 KB."),
    ],
)
def test_a_file_that_is_not_what_it_says_is_refused_with_a_message(filename, content, message):
    assert refusal(filename, content, max_bytes=2048) == [(None, message)]


def test_an_excel_workbook_named_csv_is_refused():
    assert refusal("donors.csv", xlsx([["Name"]])) == [
        (None, "This file is named .csv but is an Excel workbook: rename it .xlsx, or save it as CSV.")
    ]


@pytest.mark.parametrize(
    ("member", "kind"),
    [("content.xml", "an OpenDocument spreadsheet"), ("word/document.xml", "a zip archive")],
)
def test_a_zip_that_is_not_a_workbook_is_refused(member, kind):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, "<x/>")
    assert refusal("donors.xlsx", buffer.getvalue()) == [
        (None, f"This is {kind}, not an Excel workbook: save it as .xlsx or .csv.")
    ]


# --- Row numbers as the person sees them -------------------------------------------------------------------


def test_csv_row_numbers_are_the_spreadsheets_blank_and_multi_line_rows_included():
    content = b'Name,Note\n\nAcme,"two\nlines"\nZenith,one\n\n\n'
    assert cells(read_table("donors.csv", content)) == [
        (1, ("Name", "Note")),
        (2, ()),
        (3, ("Acme", "two\nlines")),
        (4, ("Zenith", "one")),  # on the file's fifth line, in the spreadsheet's fourth row
    ]


def test_xlsx_row_numbers_are_the_sheets_and_cells_read_as_shown():
    booked = datetime(2027, 1, 15)  # noqa: DTZ001 - spreadsheets have no time zones
    rows = [["Name", "Since", "Gifts"], [None], ["Acme", booked, 12.0], ["Zenith", date(2026, 5, 1), 2.5]]
    content = xlsx(rows, first_row=3)
    assert cells(read_table("donors.xlsx", content)) == [
        (1, ()),
        (2, ()),
        (3, ("Name", "Since", "Gifts")),
        (4, ()),
        (5, ("Acme", "2027-01-15", "12")),
        (6, ("Zenith", "2026-05-01", "2.5")),
    ]


def test_a_file_past_the_row_limit_is_refused_but_trailing_blank_rows_do_not_count():
    assert refusal("donors.csv", b"Name\n" + b"Acme\n" * 10, max_rows=10) == [
        (None, "The file has more than 10 rows: is it the right file?")
    ]
    assert len(read_table("donors.csv", b"Name\nAcme\n" + b",\n" * 50, max_rows=10).rows) == 2


# --- Columns -----------------------------------------------------------------------------------------------


def test_the_header_is_found_under_title_rows_by_names_then_words():
    table = read_table(
        "donors.csv", b"Donor list,,\nExported 2027-01-15,,\nCountry of seat,Organisation,Sum\nKE,Acme,10\n"
    )
    header = find_header(table, COLUMNS)
    assert header.row == 3 and header.positions == {"name": 1, "country": 0, "amount": 2}
    [record] = header.records(table)
    assert (record.number, record["name"], record["country"], record["amount"]) == (4, "Acme", "KE", "10")


def test_one_cell_names_one_column():
    table = read_table("donors.csv", b"Country name,Country\nKE,Kenya\n")
    header = find_header(table, [Column("country", "Country"), Column("name", "Name", words=("name",))])
    assert header.positions == {"country": 1, "name": 0}


def test_missing_required_columns_are_each_a_problem_on_the_header_row():
    table = read_table("donors.csv", b"Title\nOrganisation,Region\nAcme,Africa\n")
    header = find_header(table, COLUMNS)
    assert header.row == 2 and not header.has("country")
    assert header.missing(COLUMNS) == [RowProblem(2, "No “Country” column: name one column “Country”.")]


def test_a_person_can_map_the_columns():
    table = read_table("bank.csv", b"Booked;Amount;Text\n2027-01-15;-12,50;Fees\n")
    header = header_from_mapping(table, 1, {"date": 0, "amount": 1, "reference": None})
    [record] = header.records(table)
    assert record.values == {"date": "2027-01-15", "amount": "-12,50", "reference": ""}
    with pytest.raises(ImportRejected, match="problem"):
        header_from_mapping(table, 1, {"date": 7})
    with pytest.raises(ImportRejected):
        header_from_mapping(table, 9, {"date": 0})


def test_one_bad_row_rejects_the_file_and_every_problem_is_listed():
    reject_if_any([])
    with pytest.raises(ImportRejected) as rejected:
        reject_if_any([RowProblem(3, "No name."), RowProblem(5, "No country.")])
    assert str(rejected.value) == "Nothing was imported: the file has 2 problems to fix."
    assert rejected.value.field_errors == {"file": ["Fix the problems listed and upload the file again."]}


def test_helpers_say_sizes_and_compare_text_as_people_write_them():
    assert (size_text(2 * 1024 * 1024), size_text(2048)) == ("2 MB", "2 KB")
    assert plain_text("  Côte-d’Ivoire  INCOME ") == "cote d ivoire income"


# --- The signed preview ------------------------------------------------------------------------------------


def test_a_signed_preview_reads_back_as_it_was_signed(app):
    signer = PreviewSigner("tests.donors-import")
    rows = [[2, "Fondation Lumière", "FR"], [3, "Acme", "US"]]
    assert signer.read(signer.sign({"rows": rows})) == {"rows": rows}


def test_a_tampered_forged_or_other_imports_preview_is_refused(app):
    signer = PreviewSigner("tests.donors-import")
    token = signer.sign({"rows": [[2, "Acme", "US"]]})
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (tampered, "", None, "not-a-token", PreviewSigner("tests.bank-import").sign({"rows": []})):
        with pytest.raises(
            PreviewTokenInvalid, match="could not be verified: it was changed or is more than"
        ):
            signer.read(bad)


def test_a_stale_preview_is_refused(app, monkeypatch):
    signer = PreviewSigner("tests.donors-import", max_age_seconds=3600)
    signed_at = time.time() - 3601
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(signed_at))
    token = signer.sign({"rows": []})
    monkeypatch.undo()
    with pytest.raises(PreviewTokenInvalid) as refused:
        signer.read(token)
    assert "more than one hour old. Nothing was changed: upload the file again." in str(refused.value)
