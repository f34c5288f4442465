"""CSV and XLSX exports read back as a spreadsheet reads them, and downloads named as a browser saves them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from app.common.exports import (
    INTEGER_FORMAT,
    MONEY_FORMAT,
    RATE_FORMAT,
    XLSX_MIMETYPE,
    XlsxColumn,
    XlsxSheet,
    content_disposition,
    csv_response,
    download_response,
    looks_like_formula,
    money_text,
    spreadsheet_safe,
    xlsx_bytes,
    xlsx_response,
)
from app.extensions import db

HOSTILE = ['=HYPERLINK("http://x","click")', "+32 2 555 0100", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


@pytest.mark.parametrize("text", HOSTILE)
def test_text_that_a_spreadsheet_would_run_is_a_formula(text):
    assert looks_like_formula(text) and spreadsheet_safe(text) == f"'{text}"


@pytest.mark.parametrize("value", ["-1250.00", "+32", "-1,250.50", "Plain text", "", Decimal("-1250.00"), 42])
def test_numbers_and_plain_text_are_not_formulas(value):
    assert not looks_like_formula(value) and spreadsheet_safe(value) == value


def test_a_csv_export_escapes_formulas_and_keeps_numbers(app):
    rows = [
        ["Member", "Amount", "Note"],
        ["=1+1", Decimal("-250.00"), None],
        ["Kenya", Decimal("1000.00"), "@me"],
    ]
    with app.test_request_context():
        response = csv_response(iter(rows), "members.csv")
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"] == 'attachment; filename="members.csv"'
        assert read_csv(response) == [
            ["Member", "Amount", "Note"],
            ["'=1+1", "-250.00", ""],
            ["Kenya", "1000.00", "'@me"],
        ]


def test_a_long_csv_export_is_sent_in_pieces(app):
    rows = (["row", number] for number in range(1_200))
    with app.test_request_context():
        pieces = list(csv_response(rows, "long.csv").response)
    assert len(pieces) == 3  # 500 rows at a time
    assert len(list(csv.reader(io.StringIO("".join(pieces))))) == 1_200


#: Cells that start like a formula or nearly, quoted or not by the CSV writer, plain numbers among them.
TRICKY_CELLS = [
    *HOSTILE,
    "-1250.00",
    "-1,250.50",
    "+32",
    '-12"x',
    "-12,=x",
    "-12\n=x",
    '"=1+1"',
    "a,=b",
    "a\n-b",
    "=",
    "-",
    "",
    "plain",
    None,
    Decimal("-5.00"),
    -3,
    "12-3",
]


def test_every_csv_cell_that_starts_like_a_formula_is_escaped_whatever_is_around_it(app):
    # For every pair of neighbouring cells, quoted by the CSV writer or not: what checking each cell gives.
    rows = [[left, right, "end"] for left in TRICKY_CELLS for right in TRICKY_CELLS]
    rows += [[cell] for cell in TRICKY_CELLS]
    expected = io.StringIO()
    csv.writer(expected).writerows([[spreadsheet_safe(cell) for cell in row] for row in rows])
    with app.test_request_context():
        response = csv_response(iter(rows), "tricky.csv")
        assert response.get_data(as_text=True) == expected.getvalue()
    # One formula in a long export is escaped in its piece, and the pieces around it are as written.
    rows = [["Kenya", Decimal("-1.50")] for _ in range(1_200)]
    rows[700][0] = "=1+1"
    with app.test_request_context():
        read = read_csv(csv_response(iter(rows), "long.csv"))
    assert read[700] == ["'=1+1", "-1.50"] and read[0] == read[1_199] == ["Kenya", "-1.50"]


def sheet_of(content: bytes):
    return load_workbook(io.BytesIO(content)).active


def test_an_xlsx_export_reads_back_with_its_formats_widths_and_header():
    columns = [
        XlsxColumn("Member", width=30),
        XlsxColumn("Amount", MONEY_FORMAT),
        XlsxColumn("Rate", RATE_FORMAT),
        XlsxColumn("Issued on"),
    ]
    rows = [["Kenya", Decimal("-1250.50"), Decimal("0.92"), date(2027, 1, 15)], ["Chile", None, None, None]]

    sheet = sheet_of(xlsx_bytes(XlsxSheet("Invoices: FY2027/28", columns, iter(rows), frozen_columns=1)))

    assert sheet.title == "Invoices- FY2027-28"  # Excel refuses : and / in a sheet's title
    assert [cell.value for cell in sheet[1]] == ["Member", "Amount", "Rate", "Issued on"]
    assert sheet["A1"].font.bold and sheet.freeze_panes == "B2" and sheet.auto_filter.ref == "A1:D3"
    # In characters, as Excel shows them (the file stores them with the cell's padding: 30.71).
    assert int(sheet.column_dimensions["A"].width) == 30 and int(sheet.column_dimensions["B"].width) == 12
    amount = sheet["B2"]
    assert amount.value == -1250.5 and amount.data_type == "n" and amount.number_format == MONEY_FORMAT
    assert sheet["C2"].number_format == RATE_FORMAT
    assert sheet["D2"].value == datetime(2027, 1, 15)  # noqa: DTZ001 - spreadsheets have no time zones
    assert [cell.value for cell in sheet[3]] == ["Chile", None, None, None]


def test_an_xlsx_export_keeps_formula_looking_text_as_text():
    rows = [[text, Decimal("-5.00")] for text in [*HOSTILE, "#N/A"]]
    sheet = sheet_of(xlsx_bytes(XlsxSheet("Hostile", [XlsxColumn("Text"), XlsxColumn("Amount")], rows)))

    texts = [row[0] for row in sheet.iter_rows(min_row=2)]
    # As typed, nothing added (a carriage return is written as Excel's escape, which openpyxl leaves as is).
    assert [cell.value.replace("_x000D_", "\r") for cell in texts] == [*HOSTILE, "#N/A"]
    assert {cell.data_type for cell in texts} == {"s"}  # text, never a formula or an error
    assert all(cell.quotePrefix for cell in texts)  # and it stays text when someone edits it
    assert {row[1].value for row in sheet.iter_rows(min_row=2)} == {-5}


def test_an_xlsx_export_writes_times_in_utc_and_refuses_floats():
    aware = datetime(2027, 1, 15, 10, 30, tzinfo=UTC)
    sheet = sheet_of(xlsx_bytes(XlsxSheet("Times", [XlsxColumn("At")], [[aware]])))
    assert sheet["A2"].value == datetime(2027, 1, 15, 10, 30)  # noqa: DTZ001 - spreadsheets have no time zones
    with pytest.raises(TypeError, match="floats"):
        xlsx_bytes(XlsxSheet("Floats", [XlsxColumn("Amount")], [[0.1]]))  # a float is the point of this test


def test_a_long_xlsx_export_reads_back_cell_for_cell_with_its_types():
    columns = [XlsxColumn("Name"), XlsxColumn("Amount", MONEY_FORMAT), XlsxColumn("On"), XlsxColumn("Paid")]
    texts = ["Côte d'Ivoire", "São Tomé & Príncipe <ST>", " padded ", "=1+1", "-1250.00", "_x0041_", "a\x07b"]
    rows = [
        [
            texts[number % len(texts)],
            Decimal(number) / 100 - 5,
            date(2027, 1, 1 + number % 28),
            number % 3 == 0,
        ]
        for number in range(1_300)  # more rows than a piece, texts repeated from the kept ones
    ]

    sheet = sheet_of(xlsx_bytes(XlsxSheet("Long", columns, iter(rows))))

    read = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert len(read) == 1_300 and sheet.auto_filter.ref == "A1:D1301" and sheet.freeze_panes == "A2"
    # Excel's escapes (which Excel reads back as the text, openpyxl does not): a control character, and text
    # that looks like such an escape.
    expected_texts = [text.replace("\x07", "_x0007_").replace("_x0041_", "_x005F_x0041_") for text in texts]
    for number, (name, amount, on, paid) in enumerate(read):
        assert name == expected_texts[number % len(texts)]
        assert amount == pytest.approx(float(rows[number][1])) and on == datetime(2027, 1, 1 + number % 28)  # noqa: DTZ001
        assert paid is (number % 3 == 0)
    formula, number_text = sheet["A5"], sheet["A6"]
    assert (formula.value, formula.data_type, formula.quotePrefix) == ("=1+1", "s", True)
    assert (number_text.value, number_text.data_type, number_text.quotePrefix) == ("-1250.00", "s", False)
    assert sheet["B2"].number_format == MONEY_FORMAT and sheet["C2"].number_format == "yyyy-mm-dd"


def test_an_xlsx_export_reads_back_in_read_only_mode_with_several_sheets():
    first = XlsxSheet("Members", [XlsxColumn("Name")], [["Kenya"], ["Chile"]])
    second = XlsxSheet("It's FY2027", [XlsxColumn("Year", INTEGER_FORMAT)], [[2027]])

    workbook = load_workbook(io.BytesIO(xlsx_bytes(first, second)), read_only=True)

    assert workbook.sheetnames == ["Members", "It's FY2027"]
    assert [[cell.value for cell in row] for row in workbook["Members"].iter_rows()] == [
        ["Name"],
        ["Kenya"],
        ["Chile"],
    ]
    assert [[cell.value for cell in row] for row in workbook["It's FY2027"].iter_rows()] == [["Year"], [2027]]
    workbook.close()


def test_an_xlsx_download_says_its_size_and_type(app):
    with app.test_request_context():
        response = xlsx_response("arrears.xlsx", XlsxSheet("Arrears", [XlsxColumn("Member")], [["Kenya"]]))
        response.direct_passthrough = False  # read it here, as the server would send it
        content = response.get_data()
        response.close()
    assert response.mimetype == XLSX_MIMETYPE and response.content_length == len(content)
    assert response.headers["Content-Disposition"] == 'attachment; filename="arrears.xlsx"'
    assert sheet_of(content)["A2"].value == "Kenya"


def test_a_plain_file_name_is_quoted():
    assert (
        content_disposition("invoice BE-2027-0001.pdf") == 'attachment; filename="invoice BE-2027-0001.pdf"'
    )
    assert content_disposition("statement.pdf", inline=True) == 'inline; filename="statement.pdf"'


def test_a_non_ascii_file_name_has_an_ascii_fallback_and_its_real_name():
    value = content_disposition("statement-côte-d’ivoire-2027.pdf")

    fallback, real = value.split("; filename*=")
    assert fallback == 'attachment; filename="statement-cote-d_ivoire-2027.pdf"'
    assert (
        real.startswith("UTF-8''")
        and unquote(real.removeprefix("UTF-8''")) == "statement-côte-d’ivoire-2027.pdf"
    )
    assert value.isascii()


def test_a_file_name_cannot_break_out_of_its_header():
    value = content_disposition('evil";\r\nSet-Cookie: x=1\\..pdf')
    assert "\r" not in value and "\n" not in value
    assert value.startswith('attachment; filename="evil_;Set-Cookie: x=1-..pdf"')
    assert content_disposition("../../etc/passwd") == 'attachment; filename="-..-etc-passwd"'
    assert content_disposition("") == 'attachment; filename="download"'


def test_a_whole_header_passed_as_a_file_name_is_refused():
    with pytest.raises(ValueError, match="file name alone"):
        content_disposition('attachment; filename="members.csv"')


def test_a_download_is_private_to_whoever_asked(app):
    with app.test_request_context():
        response = download_response(b"%PDF-1.7", "BE-2027-0001.pdf", "application/pdf", inline=True)
    assert response.headers["Cache-Control"] == "private"
    assert response.headers["Content-Disposition"] == 'inline; filename="BE-2027-0001.pdf"'
    assert response.get_data() == b"%PDF-1.7"


def cents(text: str):
    return sa.cast(sa.literal(Decimal(text)), sa.Numeric(14, 2))


@pytest.mark.parametrize(
    ("amount", "written"),
    [
        (lambda: cents("0.30") - cents("0.10") - cents("0.20"), "0.00"),  # fully paid: never "-0.00"
        (lambda: cents("1250.50"), "1250.50"),
        (lambda: cents("-10.00"), "-10.00"),
        (lambda: cents("0.00") - cents("0.01"), "-0.01"),
        (lambda: sa.null(), None),
    ],
)
def test_the_database_writes_money_as_a_csv_does(amount, written):
    assert db.session.scalar(sa.select(money_text(amount()))) == written
