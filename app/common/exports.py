"""Downloads: CSV and XLSX exports, and the one response that names a downloaded file.

- `csv_response(rows, filename)` streams rows as they are read, so memory stays flat whatever the number of
  rows (read them with `yield_per`, in batches, never as one list).
- `xlsx_response(filename, XlsxSheet(title, columns, rows))` writes a spreadsheet in openpyxl's write-only
  mode: a bold, frozen header row, a filter, column widths and number formats (`MONEY_FORMAT`, ...).
- `download_response(content, filename, mimetype)` sends bytes, a file or a stream of pieces with a
  `Content-Disposition` that quotes the name as RFC 6266 says, non-ASCII names included: every download in the
  app goes through it.

Text that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return)
is escaped in both formats; numbers (Decimal, int, negative amounts) stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import quote

from flask import Response, request, stream_with_context
from werkzeug.wsgi import wrap_file

#: Rows written before a piece of the file is sent: small enough to keep memory flat, large enough to keep
#: the number of pieces (and their overhead) low.
ROWS_PER_CHUNK = 500

CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_MIMETYPE = "application/pdf"

#: Number formats for XLSX columns.
MONEY_FORMAT = "#,##0.00"
RATE_FORMAT = "0.0000####"
INTEGER_FORMAT = "0"
DATE_FORMAT = "yyyy-mm-dd"

#: An XLSX export smaller than this stays in memory; a larger one spills to a temporary file.
XLSX_SPOOL_BYTES = 4 * 2**20
#: Excel's limit on a sheet's title.
_SHEET_TITLE_LENGTH = 31


# --- Formula escaping --------------------------------------------------------------------------------------

#: What a spreadsheet reads as the start of a formula (OWASP, "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: Text that is a plain number ("-1250.00", "+32"): a spreadsheet reads it as a number, never as a formula.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*")


def looks_like_formula(value) -> bool:
    """True for text that a spreadsheet would run as a formula when the file is opened."""
    return (
        isinstance(value, str)
        and value.startswith(FORMULA_TRIGGERS)
        and _PLAIN_NUMBER.fullmatch(value) is None
    )


def spreadsheet_safe(value):
    """A CSV cell as written: formula-looking text behind a `'`, None as an empty cell, the rest as is."""
    if value is None:
        return ""
    if looks_like_formula(value):
        return f"'{value}"
    return value


# --- CSV ---------------------------------------------------------------------------------------------------


def csv_rows(rows: Iterable[Sequence]) -> Iterator[str]:
    """The CSV text of `rows`, in pieces of ROWS_PER_CHUNK rows, every cell made spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for number, row in enumerate(rows, start=1):
        writer.writerow([spreadsheet_safe(value) for value in row])
        if number % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
    if buffer.tell():
        yield buffer.getvalue()


def csv_response(rows: Iterable[Sequence], filename: str) -> Response:
    """A CSV download that streams `rows` (a lazy iterable, read inside the request's context)."""
    return download_response(stream_with_context(csv_rows(rows)), filename, CSV_MIMETYPE)


# --- XLSX --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class XlsxColumn:
    """A column of a sheet: its header, an optional number format and width (in characters)."""

    title: str
    number_format: str | None = None
    width: float | None = None

    @property
    def shown_width(self) -> float:
        return self.width if self.width is not None else max(12, len(self.title) + 2)


@dataclass
class XlsxSheet:
    """A sheet: its title, its columns and its rows (a lazy iterable of sequences, one value per column).
    `frozen_columns` stay in view when scrolling sideways (the header row always does)."""

    title: str
    columns: Sequence[XlsxColumn]
    rows: Iterable[Sequence]
    frozen_columns: int = 0
    #: Rows written, the header included: set once the sheet is written.
    row_count: int = field(default=0, init=False)


def write_xlsx(*sheets: XlsxSheet):
    """The workbook, written as the rows stream in (openpyxl's write-only mode), in a spooled temporary file
    returned rewound, with its size in bytes."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for sheet in sheets:
        _write_sheet(workbook, sheet)
    out = tempfile.SpooledTemporaryFile(max_size=XLSX_SPOOL_BYTES)  # noqa: SIM115 - the caller closes it
    try:
        workbook.save(out)
    except BaseException:
        out.close()
        raise
    size = out.tell()
    out.seek(0)
    return out, size


def xlsx_bytes(*sheets: XlsxSheet) -> bytes:
    """The workbook as bytes (for an attachment or a test)."""
    out, _size = write_xlsx(*sheets)
    with out:
        return out.read()


def xlsx_response(filename: str, *sheets: XlsxSheet) -> Response:
    """An XLSX download of these sheets."""
    out, size = write_xlsx(*sheets)
    return download_response(out, filename, XLSX_MIMETYPE, size=size)


def _write_sheet(workbook, sheet: XlsxSheet) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    worksheet = workbook.create_sheet(_sheet_title(sheet.title))
    # A write-only sheet takes its widths and frozen panes before the first row.
    for index, column in enumerate(sheet.columns, start=1):
        worksheet.column_dimensions[get_column_letter(index)].width = column.shown_width
    worksheet.freeze_panes = f"{get_column_letter(sheet.frozen_columns + 1)}2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE7F0")
    header = []
    for column in sheet.columns:
        cell = WriteOnlyCell(worksheet, value=_xlsx_value(column.title))
        cell.font, cell.fill = bold, fill
        header.append(cell)
    worksheet.append(header)
    # One styled cell per formatted column, given each row's value: a row is written out as it is appended,
    # so the cells can be used again for the next one (and the style is looked up once, not per cell).
    formatted = {}
    for index, column in enumerate(sheet.columns):
        if column.number_format:
            formatted[index] = WriteOnlyCell(worksheet)
            formatted[index].number_format = column.number_format
    row_count = 1
    try:
        for row in sheet.rows:
            cells = [_xlsx_value(value) for value in row]
            for index, value in enumerate(cells):
                if looks_like_formula(value) or (isinstance(value, str) and value.startswith("#")):
                    cells[index] = _text_cell(worksheet, value)
                elif value is not None and index in formatted:
                    formatted[index].value = value
                    cells[index] = formatted[index]
            worksheet.append(cells)
            row_count += 1
    except BaseException:
        worksheet.close()  # ends the sheet's writer, which would otherwise complain when collected
        raise
    worksheet.auto_filter.ref = f"A1:{get_column_letter(max(len(sheet.columns), 1))}{row_count}"
    sheet.row_count = row_count


def _text_cell(worksheet, value: str):
    """A cell that holds `value` as text, never as a formula or an error code (`=SUM(A1)`, `#N/A`), and that
    stays text when a person edits it (Excel's quote prefix, which it does not show)."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(worksheet, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def _xlsx_value(value):
    """What openpyxl can write: numbers, dates and text as they are, timezone-aware times as UTC, enums as
    their values."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)  # Excel has no time zones
    if value is None or isinstance(value, bool | int | Decimal | date | str):
        return value
    if isinstance(value, float):
        raise TypeError("Exports never carry floats; pass a Decimal.")
    return str(getattr(value, "value", value))


def _sheet_title(title: str) -> str:
    # Excel refuses these characters in a sheet's title.
    cleaned = re.sub(r"[\[\]:*?/\\]", "-", title).strip("'") or "Sheet"
    return cleaned[:_SHEET_TITLE_LENGTH]


# --- Download responses ------------------------------------------------------------------------------------


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """`attachment; filename="..."` with an ASCII fallback, plus `filename*=UTF-8''...` when the name is not
    plain ASCII (RFC 6266 and RFC 8187), so that every browser saves the file under its real name."""
    if "filename=" in filename:
        # csv_response once took a whole header; a caller still passing one must fail loudly, not send a
        # file named "attachment; filename=...".
        raise ValueError("Pass the file name alone; the Content-Disposition header is written here.")
    name = _clean_filename(filename)
    fallback = _ascii_fallback(name)
    value = f'{"inline" if inline else "attachment"}; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def download_response(
    content, filename: str, mimetype: str, *, inline: bool = False, size: int | None = None
) -> Response:
    """A download: `content` is bytes, a file object (closed when sent) or an iterable of pieces. The
    response is private to the user who asked for it."""
    if hasattr(content, "read"):
        response = Response(wrap_file(request.environ, content), mimetype=mimetype, direct_passthrough=True)
    else:
        response = Response(content, mimetype=mimetype)
    if size is not None:
        response.content_length = size
    response.headers["Content-Disposition"] = content_disposition(filename, inline=inline)
    response.headers["Cache-Control"] = "private"
    return response


def _clean_filename(filename: str) -> str:
    """The name without path separators or control characters, never empty."""
    name = "".join(char for char in filename if unicodedata.category(char)[0] != "C")
    name = name.replace("/", "-").replace("\\", "-").strip(" .")
    return name or "download"


def _ascii_fallback(name: str) -> str:
    """The name in plain ASCII for old clients: accents dropped (é -> e), other characters as `_`, and no
    character that would end the quoted string."""
    decomposed = unicodedata.normalize("NFKD", name)
    without_accents = "".join(char for char in decomposed if not unicodedata.combining(char))
    ascii_name = "".join(
        char if " " <= char <= "~" and char not in '"\\%' else "_" for char in without_accents
    )
    return ascii_name
