"""Downloads: CSV and XLSX exports, and the one response that names a downloaded file.

- `csv_response(rows, filename)` streams rows as they are read, so memory stays flat whatever the number of
  rows. Read them with `streamed_rows(statement)`: ONE query on a server-side cursor, plain tuples (no ORM
  objects), the related data joined into that query (or a fixed number of queries), never a query per
  batch; `as_stored(column)` and `money_text(column)` let the database hand over text a CSV writes as is.
- `xlsx_response(filename, XlsxSheet(title, columns, rows))` writes a spreadsheet as the rows stream in (its
  XML written here, straight into the zip, with constant memory): a bold, frozen header row, a filter,
  column widths and number formats (`MONEY_FORMAT`, ...).
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
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import quote

import sqlalchemy as sa
from flask import Response, request, stream_with_context
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from werkzeug.wsgi import wrap_file

from ..extensions import db

#: Rows written before a piece of the file is sent: small enough to keep memory flat, large enough to keep
#: the number of pieces (and their overhead) low.
ROWS_PER_CHUNK = 500
#: Rows fetched from the database at a time by a streamed export query.
STREAM_BATCH_ROWS = 2000

CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_MIMETYPE = "application/pdf"

#: Number formats for XLSX columns.
MONEY_FORMAT = "#,##0.00"
RATE_FORMAT = "0.0000####"
INTEGER_FORMAT = "0"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

#: An XLSX export smaller than this stays in memory; a larger one spills to a temporary file.
XLSX_SPOOL_BYTES = 4 * 2**20
#: Excel's limit on a sheet's title.
_SHEET_TITLE_LENGTH = 31


# --- Formula escaping --------------------------------------------------------------------------------------

#: What a spreadsheet reads as the start of a formula (OWASP, "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER_CHARACTERS = frozenset(FORMULA_TRIGGERS)
#: Text that is a plain number ("-1250.00", "+32"): a spreadsheet reads it as a number, never as a formula.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*")


def looks_like_formula(value) -> bool:
    """True for text that a spreadsheet would run as a formula when the file is opened."""
    return (
        isinstance(value, str) and value[:1] in _TRIGGER_CHARACTERS and _PLAIN_NUMBER.fullmatch(value) is None
    )


def spreadsheet_safe(value):
    """A CSV cell as written: formula-looking text behind a `'`, None as an empty cell, the rest as is."""
    if value is None:
        return ""
    if looks_like_formula(value):
        return f"'{value}"
    return value


# --- Reading rows for an export ----------------------------------------------------------------------------


def streamed_rows(statement: sa.Select, batch_size: int | None = None):
    """The rows of `statement` as plain tuples, read from one server-side cursor (PostgreSQL) or one
    SQLite cursor `batch_size` rows at a time: one query whatever the number of rows, memory flat, and no
    ORM objects built (the statement runs on the session's connection, outside the ORM's row loading)."""
    connection = db.session.connection()
    options = {"stream_results": True, "yield_per": batch_size or STREAM_BATCH_ROWS}
    return connection.execute(statement.execution_options(**options))


def merge_related(parents: Iterable[Sequence], *related: Iterable[Sequence]) -> Iterator[tuple]:
    """Each parent row with, for each related stream, the list of its rows, as (parent, rows, rows, ...).

    Every stream is keyed by its first column (the parent's id) and comes in the parents' order: the
    related statements are the parents' own statement (same filters, same ORDER BY, ending with the id) with
    the related table joined and its order appended. One pass over each stream then pairs them (a merge
    join): a fixed number of streamed queries, whatever the number of rows, and one parent's rows in memory
    at a time."""
    streams = [iter(stream) for stream in related]
    pending = [next(stream, None) for stream in streams]
    for parent in parents:
        key = parent[0]
        groups = []
        for index, stream in enumerate(streams):
            rows, row = [], pending[index]
            while row is not None and row[0] == key:
                rows.append(row)
                row = next(stream, None)
            pending[index] = row
            groups.append(rows)
        yield (parent, *groups)


def as_stored(column):
    """`column` read as the database stores it, without Python conversion: an enum as its value, a date as
    `YYYY-MM-DD` (PostgreSQL's driver gives a date, which a CSV writes the same way). For CSV cells only."""
    return sa.type_coerce(column, sa.String)


class money_text(FunctionElement):  # noqa: N801 - used like a SQL function
    """A money amount (2 decimals) as the text a CSV writes, `1250.50`, formatted by the database (NULL
    stays NULL): reading text is several times cheaper than building a Decimal per cell."""

    type = sa.String()
    name = "money_text"
    inherit_cache = True


@compiles(money_text)
def _money_text_default(element, compiler, **kw):
    return f"CAST({compiler.process(element.clauses, **kw)} AS VARCHAR(40))"


@compiles(money_text, "sqlite")
def _money_text_sqlite(element, compiler, **kw):
    # SQLite keeps NUMERIC as a REAL: printf rounds it to cents as SQLAlchemy's Decimal conversion does.
    # Arithmetic in REALs can leave a hair below zero (0.30 - 0.10 - 0.20): rounded first, plus 0.0 to turn
    # a negative zero positive, so a paid invoice reads 0.00, not -0.00.
    value = compiler.process(element.clauses, **kw)
    return f"(CASE WHEN {value} IS NULL THEN NULL ELSE printf('%.2f', round({value}, 2) + 0.0) END)"


# --- CSV ---------------------------------------------------------------------------------------------------


def csv_rows(rows: Iterable[Sequence]) -> Iterator[str]:
    """The CSV text of `rows`, in pieces of ROWS_PER_CHUNK rows, every cell made spreadsheet-safe (None is
    an empty cell, numbers and dates are written as `str()` writes them)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    chunk = []
    for row in rows:
        # Inlined spreadsheet_safe: this runs once per cell of every export.
        chunk.append(
            [
                f"'{value}"
                if value.__class__ is str
                and value[:1] in _TRIGGER_CHARACTERS
                and _PLAIN_NUMBER.fullmatch(value) is None
                else value
                for value in row
            ]
        )
        if len(chunk) == ROWS_PER_CHUNK:
            writer.writerows(chunk)
            chunk.clear()
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
    if chunk:
        writer.writerows(chunk)
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
    """The workbook, written as the rows stream in, in a spooled temporary file returned rewound, with its
    size in bytes.

    An .xlsx is a zip of a few XML parts; the sheets' XML is written here, row by row, straight into the
    zip: strings inline (no shared-string table kept in memory), a style record per format, and a row's
    cells joined in one piece. XlsxWriter (constant-memory mode), used before, spent most of the time in
    its per-cell Python work (a method call, checks, attribute escaping and a file write per cell) and wrote
    about 2,500 rows a second of the 19-column arrears sheet; openpyxl's write-only mode is slower still."""
    out = tempfile.SpooledTemporaryFile(max_size=XLSX_SPOOL_BYTES)  # noqa: SIM115 - the caller closes it
    try:
        titles = [_sheet_title(sheet.title) for sheet in sheets]
        if len(set(titles)) != len(titles):
            raise ValueError(f"Two sheets would have the same title: {titles}")
        styles = _XlsxStyles(sheets)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=_XLSX_COMPRESSION) as package:
            package.writestr("[Content_Types].xml", _content_types(len(sheets)))
            package.writestr("_rels/.rels", _ROOT_RELATIONSHIPS)
            for number, sheet in enumerate(sheets, start=1):
                with package.open(f"xl/worksheets/sheet{number}.xml", "w") as part:
                    _write_sheet(part, styles, sheet, selected=number == 1)
            package.writestr("xl/workbook.xml", _workbook_xml(sheets, titles))
            package.writestr("xl/_rels/workbook.xml.rels", _workbook_relationships(len(sheets)))
            package.writestr("xl/styles.xml", styles.xml())
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


#: zlib's level for the parts: level 1 deflates several times faster than the default 6 for a file about
#: 15% larger (sheets of repeated tags compress well at any level).
_XLSX_COMPRESSION = 1
#: Excel's limits: rows in a sheet, UTF-16 units in a cell's text.
_XLSX_MAX_ROWS = 1_048_576
_XLSX_MAX_TEXT = 32_767
#: Cells of text written once are kept, escaped, for the rows that repeat them (a country, a currency, "yes"):
#: at most this many, none longer than _XLSX_CACHED_LENGTH, so that memory stays flat.
_XLSX_CACHED_TEXTS = 4096
_XLSX_CACHED_LENGTH = 100
#: Day 0 of Excel's dates (1899-12-30, so that 1900-03-01 is day 61, as Excel counts with its 1900 leap year).
_EXCEL_EPOCH = date(1899, 12, 30).toordinal()

_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELATIONSHIPS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_ROOT_RELATIONSHIPS = (
    f'{_XML_HEAD}<Relationships xmlns="{_PACKAGE_RELATIONSHIPS_NS}">'
    f'<Relationship Id="rId1" Type="{_RELATIONSHIPS_NS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)

#: What XML refuses in text, and what Excel reads as the escape of a character (`_x000D_`).
_XML_MARKUP = re.compile("[&<>]")
_EXCEL_ESCAPED = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_LITERAL_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Text as an XML element's content, in Excel's escapes: a control character as `_xHHHH_` (XML has
    none), and text that reads as such an escape with its underscore escaped, as XlsxWriter does."""
    if _EXCEL_ESCAPED.search(text):
        text = _LITERAL_ESCAPE.sub(r"_x005F\1", text)
        text = _CONTROL_CHARACTER.sub(lambda match: f"_x{ord(match.group()):04X}_", text)
    if _XML_MARKUP.search(text):
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def _xml_attribute(text: str) -> str:
    return _xml_text(text).replace('"', "&quot;")


def _string_cell(value: str, style: str = "") -> str:
    """The end of a text cell after its row number: `" t="inlineStr"><is><t>...</t></is></c>`. Text that
    a spreadsheet would run (a formula, an error code such as `#N/A`) gets the quote prefix's style, so
    that it stays text when someone edits the cell."""
    if len(value) > _XLSX_MAX_TEXT // 2 and len(value.encode("utf-16-le")) > 2 * _XLSX_MAX_TEXT:
        value = value.encode("utf-16-le")[: 2 * _XLSX_MAX_TEXT].decode("utf-16-le", "ignore")
    if not style and (
        value[:1] == "#" or (value[:1] in _TRIGGER_CHARACTERS and _PLAIN_NUMBER.fullmatch(value) is None)
    ):
        style = f' s="{_TEXT_STYLE}"'
    space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
    return f'"{style} t="inlineStr"><is><t{space}>{_xml_text(value)}</t></is></c>'


def _column_letters(index: int) -> str:
    """A column's letters from its index from 0: A, ..., Z, AA, ..."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _excel_width(width: float) -> float:
    """A width in characters as the file stores it, with the cell's padding (XlsxWriter's formula for the
    default font: 7 pixels a digit, 5 of padding)."""
    return int((int(width * 7 + 0.5) + 5) / 7 * 256) / 256


#: The styles every workbook has, by index in cellXfs; number formats follow, one per format used.
_DEFAULT_STYLE, _HEADER_STYLE, _TEXT_STYLE, _DATE_STYLE, _DATETIME_STYLE = range(5)


class _XlsxStyles:
    """The workbook's cell styles: the fixed ones, then one per number format its columns use."""

    def __init__(self, sheets: Sequence[XlsxSheet]):
        self.formats = [DATE_FORMAT, DATETIME_FORMAT]
        for sheet in sheets:
            for column in sheet.columns:
                if column.number_format is not None and column.number_format not in self.formats:
                    self.formats.append(column.number_format)

    def number(self, number_format: str | None) -> str:
        """The ` s="N"` attribute of a number cell in this format ("" for none)."""
        if number_format is None:
            return ""
        return f' s="{_DATE_STYLE + self.formats.index(number_format)}"'

    def xml(self) -> str:
        number_formats = "".join(
            f'<numFmt numFmtId="{164 + index}" formatCode="{_xml_attribute(code)}"/>'
            for index, code in enumerate(self.formats)
        )
        plain = 'fontId="0" fillId="0" borderId="0" xfId="0"'
        styles = [
            f'<xf numFmtId="0" {plain}/>',
            '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>',
            f'<xf numFmtId="0" {plain} quotePrefix="1"/>',
            *(
                f'<xf numFmtId="{164 + index}" {plain} applyNumberFormat="1"/>'
                for index in range(len(self.formats))
            ),
        ]
        font = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
        return (
            f'{_XML_HEAD}<styleSheet xmlns="{_MAIN_NS}">'
            f'<numFmts count="{len(self.formats)}">{number_formats}</numFmts>'
            f'<fonts count="2"><font>{font}</font><font><b/>{font}</font></fonts>'
            '<fills count="3"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill>'
            '<fill><patternFill patternType="solid"><fgColor rgb="FFDDE7F0"/><bgColor indexed="64"/>'
            "</patternFill></fill></fills>"
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{len(styles)}">{"".join(styles)}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>"
        )


def _write_sheet(part, styles: _XlsxStyles, sheet: XlsxSheet, selected: bool) -> None:
    """The sheet's XML into `part` (a file in the zip), ROWS_PER_CHUNK rows at a time."""
    columns = sheet.columns
    width = max(len(columns), 1)
    letters = [_column_letters(index) for index in range(width)]
    part.write(_sheet_head(sheet, letters, selected).encode())

    # What each column's cells start with, and the style attribute of its numbers, dates and times.
    starts = [f'<c r="{letter}' for letter in letters]
    numbers = [styles.number(column.number_format) for column in columns]
    dates = [styles.number(column.number_format or DATE_FORMAT) for column in columns]
    datetimes = [styles.number(column.number_format or DATETIME_FORMAT) for column in columns]
    header_style = f' s="{_HEADER_STYLE}"'
    header = "".join(
        f"{starts[index]}1{_string_cell(str(column.title), style=header_style)}"
        for index, column in enumerate(columns)
    )
    chunk = [f'<row r="1">{header}</row>']
    texts: dict[str, str] = {}
    remembered = texts.get
    row_number = 1
    for row_number, row in enumerate(sheet.rows, start=2):
        if row_number > _XLSX_MAX_ROWS:  # what a sheet cannot hold is left out, as Excel would
            row_number = _XLSX_MAX_ROWS
            break
        r = str(row_number)
        cells = []
        add = cells.append
        for index, value in enumerate(row):
            kind = value.__class__
            if kind is str:
                if value:  # an empty text is an empty cell, as None
                    end = remembered(value)
                    if end is None:
                        end = _string_cell(value)
                        if len(texts) < _XLSX_CACHED_TEXTS and len(value) <= _XLSX_CACHED_LENGTH:
                            texts[value] = end
                    add(f"{starts[index]}{r}{end}")
            elif value is None:
                continue
            elif kind is Decimal or kind is int:
                add(f'{starts[index]}{r}"{numbers[index]}><v>{value}</v></c>')
            elif kind is bool:
                add(f'{starts[index]}{r}" t="b"><v>{int(value)}</v></c>')
            elif kind is date:
                add(f'{starts[index]}{r}"{dates[index]}><v>{value.toordinal() - _EXCEL_EPOCH}</v></c>')
            elif kind is datetime:
                add(f'{starts[index]}{r}"{datetimes[index]}><v>{_excel_time(value)!r}</v></c>')
            elif kind is float:
                raise TypeError("Exports never carry floats; pass a Decimal.")
            else:
                add(f"{starts[index]}{r}{_other_cell(value, numbers[index])}")
        chunk.append(f'<row r="{r}">{"".join(cells)}</row>')
        if len(chunk) >= ROWS_PER_CHUNK:
            part.write("".join(chunk).encode())
            chunk.clear()
    chunk.append(
        f'</sheetData><autoFilter ref="A1:{letters[-1]}{row_number}"/>'
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        "</worksheet>"
    )
    part.write("".join(chunk).encode())
    sheet.row_count = row_number


def _sheet_head(sheet: XlsxSheet, letters: list[str], selected: bool) -> str:
    """The sheet's XML up to its rows: the frozen header (and columns), the columns' widths."""
    frozen = sheet.frozen_columns
    if frozen:
        pane = (
            f'<pane xSplit="{frozen}" ySplit="1" topLeftCell="{_column_letters(frozen)}2" '
            'activePane="bottomRight" state="frozen"/><selection pane="bottomRight"/>'
        )
    else:
        pane = '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        pane += '<selection pane="bottomLeft"/>'
    widths = "".join(
        f'<col min="{index}" max="{index}" width="{_excel_width(column.shown_width)}" customWidth="1"/>'
        for index, column in enumerate(sheet.columns, start=1)
    )
    return (
        f'{_XML_HEAD}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_RELATIONSHIPS_NS}">'
        f'<sheetViews><sheetView{_TAB_SELECTED if selected else ""} workbookViewId="0">{pane}'
        '</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
        f"{f'<cols>{widths}</cols>' if widths else ''}<sheetData>"
    )


_TAB_SELECTED = ' tabSelected="1"'


def _excel_time(value: datetime) -> float:
    """A date and time as Excel's serial number, in UTC (Excel has no time zones)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    return value.toordinal() - _EXCEL_EPOCH + seconds / 86400


def _other_cell(value, number_style: str) -> str:
    """The end of a cell holding a value of a subclass (an enum that is a str, a Decimal subclass), as its
    plain kind."""
    if isinstance(value, bool):
        return f'" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | Decimal):
        return f'"{number_style}><v>{Decimal(value)}</v></c>'
    if isinstance(value, float):
        raise TypeError("Exports never carry floats; pass a Decimal.")
    if isinstance(value, datetime):
        return f'"{number_style or ""}><v>{_excel_time(value)!r}</v></c>'
    if isinstance(value, date):
        return f'"{number_style}><v>{value.toordinal() - _EXCEL_EPOCH}</v></c>'
    return _string_cell(str(getattr(value, "value", value)))


def _content_types(sheet_count: int) -> str:
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{number}.xml" ContentType="{sheet_type}"/>'
        for number in range(1, sheet_count + 1)
    )
    office = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    return (
        f'{_XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{office}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{office}.styles+xml"/>'
        f"{sheets}</Types>"
    )


def _workbook_xml(sheets: Sequence[XlsxSheet], titles: list[str]) -> str:
    listed = "".join(
        f'<sheet name="{_xml_attribute(title)}" sheetId="{number}" r:id="rId{number}"/>'
        for number, title in enumerate(titles, start=1)
    )
    # The filter's range, as Excel names it (a title with anything but letters, digits and _ is quoted).
    filters = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{index}" hidden="1">'
        f"{_xml_text(_quoted_title(title))}!$A$1:${_column_letters(max(len(sheet.columns), 1) - 1)}"
        f"${max(sheet.row_count, 1)}</definedName>"
        for index, (sheet, title) in enumerate(zip(sheets, titles, strict=True))
    )
    return (
        f'{_XML_HEAD}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_RELATIONSHIPS_NS}">'
        "<bookViews><workbookView/></bookViews>"
        f"<sheets>{listed}</sheets><definedNames>{filters}</definedNames>"
        '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
    )


def _quoted_title(title: str) -> str:
    if re.fullmatch(r"\w+", title):
        return title
    return "'" + title.replace("'", "''") + "'"


def _workbook_relationships(sheet_count: int) -> str:
    sheets = "".join(
        f'<Relationship Id="rId{number}" Type="{_RELATIONSHIPS_NS}/worksheet" '
        f'Target="worksheets/sheet{number}.xml"/>'
        for number in range(1, sheet_count + 1)
    )
    return (
        f'{_XML_HEAD}<Relationships xmlns="{_PACKAGE_RELATIONSHIPS_NS}">{sheets}'
        f'<Relationship Id="rId{sheet_count + 1}" Type="{_RELATIONSHIPS_NS}/styles" Target="styles.xml"/>'
        "</Relationships>"
    )


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
