"""Imports from a CSV or XLSX file, in two steps that keep no state in the process.

1. `read_table(filename, content)` sniffs the file (a file that is not what its name says is refused), decodes
   it (UTF-8 with or without a BOM, UTF-16 with a BOM, else a clear message), and returns its rows with their
   numbers as the person sees them in a spreadsheet (the header row counts, blank rows keep their place).
2. `find_header(table, columns)` finds the header row among the opening rows and the position of each
   `Column` (by exact header names, then by words), or `header_from_mapping(...)` takes the positions a person
   chose; `header.records(table)` then gives each row's values by column key.
3. The area checks every record and collects a `RowProblem` for each thing wrong; `reject_if_any(problems)`
   raises `ImportRejected` listing all of them, so that a file with one bad row imports no row.
4. The preview page carries what was read, signed: `PreviewSigner(salt).sign(data)`; the confirmation gives it
   back, and `.read(token)` refuses a changed or stale one (`PreviewTokenInvalid`). The area validates the
   rows again and applies them only if its preview still holds.

Nothing here touches the database; an area's service does, and flushes without committing.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

from .errors import DomainError, ValidationFailed

#: The largest file an import reads, unless it says otherwise.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
#: Bounds on what is read: rows (blank ones in between included) and columns.
MAX_ROWS, MAX_COLUMNS = 5_000, 50
#: How far down the file a header row is looked for (files often open with a title and notes).
HEADER_SEARCH_ROWS = 10
#: How long a preview can be confirmed after it was shown.
PREVIEW_MAX_AGE_SECONDS = 2 * 60 * 60

_ZIP_MAGIC = b"PK\x03\x04"
_OLD_EXCEL_MAGIC = b"\xd0\xcf\x11\xe0"
#: What other files start with, to say what a mistaken upload is.
_KNOWN_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
}
_CSV_NAMES = (".csv", ".txt", ".tsv")
_XLSX_NAMES = (".xlsx", ".xlsm")
_UTF8_ADVICE = (
    "In Excel, save it as “CSV UTF-8 (Comma delimited)”; in LibreOffice or Numbers, choose the UTF-8 "
    "character set."
)


# --- Problems ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    """A bad row (or, with `row` None, a problem with the file as a whole) and what is wrong with it."""

    row: int | None
    message: str


class ImportRejected(ValidationFailed):
    """The file has bad rows: nothing is imported, and `problems` lists every one."""

    def __init__(self, problems: Sequence[RowProblem]):
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(
            f"Nothing was imported: the file has {count} problem{'' if count == 1 else 's'} to fix.",
            {"file": ["Fix the problems listed and upload the file again."]},
        )


def reject(message: str, row: int | None = None) -> ImportRejected:
    """An ImportRejected with one problem (raise it)."""
    return ImportRejected([RowProblem(row, message)])


def reject_if_any(problems: Sequence[RowProblem]) -> None:
    """Raise ImportRejected listing every problem, if there is one: one bad row imports no row."""
    if problems:
        raise ImportRejected(problems)


# --- Reading the file --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableRow:
    """A row as read: its number in the file as a spreadsheet shows it, and its cells as text."""

    number: int
    cells: tuple[str, ...]

    def cell(self, index: int | None) -> str:
        """The cell at `index`, or "" past the row's end or for no column."""
        return self.cells[index] if index is not None and 0 <= index < len(self.cells) else ""

    @property
    def is_blank(self) -> bool:
        return not any(self.cells)


@dataclass(frozen=True)
class Table:
    """A file's rows (trailing blank rows dropped), what kind of file it was and how its text was read."""

    rows: list[TableRow]
    kind: str  # "csv" or "xlsx"
    encoding: str | None = None
    delimiter: str | None = None

    def row(self, number: int) -> TableRow | None:
        """The row with this number, if the file has it."""
        index = number - 1
        return self.rows[index] if 0 <= index < len(self.rows) else None


def size_text(limit: int) -> str:
    """A size limit as people write it: `2 MB`, `500 KB`."""
    megabytes, kilobytes = divmod(limit, 1024 * 1024)
    return f"{megabytes} MB" if megabytes and not kilobytes else f"{max(limit // 1024, 1)} KB"


def read_upload(storage, max_bytes: int = MAX_UPLOAD_BYTES) -> tuple[str, bytes]:
    """(file name, content) of an uploaded file, reading one byte past `max_bytes` at most, so that
    read_table can say the file is too large without reading all of it."""
    return storage.filename or "", storage.read(max_bytes + 1)


def read_table(
    filename: str,
    content: bytes,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_rows: int = MAX_ROWS,
    max_columns: int = MAX_COLUMNS,
    legacy_encoding: str | None = None,
) -> Table:
    """The rows of an uploaded CSV or XLSX file, or ImportRejected saying why it cannot be read.

    A CSV file is UTF-8 (with or without a BOM) or UTF-16 with a BOM; `legacy_encoding` (say "cp1252", what
    Excel on Windows writes by default) is tried, strictly, for a file that is neither."""
    if len(content) > max_bytes:
        raise reject(f"The file is larger than {size_text(max_bytes)}.")
    if not content.strip():
        raise reject("The file is empty.")
    name = (filename or "").lower()
    if content.startswith(_ZIP_MAGIC):
        table = _read_xlsx(name, content, max_rows, max_columns)
    elif content.startswith(_OLD_EXCEL_MAGIC) or name.endswith(".xls"):
        raise reject("This is an old Excel (.xls) file: save it as .xlsx or .csv.")
    elif name.endswith(_XLSX_NAMES):
        raise reject(f"This file is named {_extension(name)} but is not an Excel workbook: {_what(content)}.")
    else:
        table = _read_csv(name, content, max_rows, max_columns, legacy_encoding)
    if all(row.is_blank for row in table.rows):
        raise reject("The file is empty.")
    return table


def _extension(name: str) -> str:
    return name[name.rfind(".") :] if "." in name else "without an extension"


def _what(content: bytes) -> str:
    for magic, kind in _KNOWN_MAGIC.items():
        if content.startswith(magic):
            return f"it is {kind}"
    return "save it again as .xlsx or .csv"


def _read_xlsx(name: str, content: bytes, max_rows: int, max_columns: int) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    unreadable = reject("The Excel file could not be read: save it again as .xlsx.")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise unreadable from error
    if "xl/workbook.xml" not in members:
        kind = "an OpenDocument spreadsheet" if "content.xml" in members else "a zip archive"
        raise reject(f"This is {kind}, not an Excel workbook: save it as .xlsx or .csv.")
    if not name.endswith(_XLSX_NAMES):
        raise reject(
            f"This file is named {_extension(name)} but is an Excel workbook: rename it .xlsx, "
            "or save it as CSV."
        )
    errors = (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it does not read
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except errors as error:
        raise unreadable from error
    try:
        # Read-only sheets give every row from the first, empty ones included, so numbers match Excel's.
        rows = workbook.worksheets[0].iter_rows(min_row=1, max_col=max_columns, values_only=True)
        return Table(_bounded(([_cell_text(value) for value in row] for row in rows), max_rows), "xlsx")
    except errors as error:
        raise unreadable from error
    finally:
        workbook.close()


def _cell_text(value) -> str:
    """A spreadsheet cell as the person sees it: 12 not 12.0, a date as 2027-01-15, text trimmed."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _decode(content: bytes, legacy_encoding: str | None) -> tuple[str, str]:
    """(text, encoding) or ImportRejected with what to do."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return content.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as error:
            raise reject(f"The file is not readable UTF-16 text. {_UTF8_ADVICE}") from error
    try:
        return content.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as error:
        if legacy_encoding:
            try:
                return content.decode(legacy_encoding), legacy_encoding
            except UnicodeDecodeError:
                pass
        line = content[: error.start].count(b"\n") + 1
        raise reject(
            f"The file is not UTF-8 text (the first character it cannot read is on line {line}). "
            + _UTF8_ADVICE
        ) from error


def _read_csv(name: str, content: bytes, max_rows: int, max_columns: int, legacy_encoding) -> Table:
    is_utf16 = content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not is_utf16 and (b"\x00" in content or any(content.startswith(magic) for magic in _KNOWN_MAGIC)):
        if name.endswith(_CSV_NAMES):
            raise reject(f"This file is named {_extension(name)} but is not text: {_what(content)}.")
        raise reject("Upload a CSV (.csv) or Excel (.xlsx) file.")
    if not name.endswith(_CSV_NAMES):
        raise reject("Upload a CSV (.csv) or Excel (.xlsx) file.")
    text, encoding = _decode(content, legacy_encoding)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    # Spreadsheets set to French or Spanish write ";" between cells; "Unicode text" files use tabs.
    delimiter = max(",;\t", key=first_line.count)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = _bounded(([cell.strip() for cell in row[:max_columns]] for row in reader), max_rows)
    except csv.Error as error:
        raise reject(f"The CSV file could not be read: {error}.") from error
    return Table(rows, "csv", encoding, delimiter)


def _bounded(rows: Iterable[list[str]], max_rows: int) -> list[TableRow]:
    """The rows, numbered from 1, with trailing blank rows dropped (spreadsheets often carry thousands of
    formatted empty rows), or ImportRejected past max_rows."""
    table: list[TableRow] = []
    blank_run: list[TableRow] = []
    for number, cells in enumerate(rows, start=1):
        while cells and not cells[-1]:  # a sheet read to its last column pads every row with empty cells
            cells.pop()
        row = TableRow(number, tuple(cells))
        if row.is_blank:
            blank_run.append(row)
            continue
        if number > max_rows:
            raise reject(f"The file has more than {max_rows:,} rows: is it the right file?")
        table.extend(blank_run)
        blank_run = []
        table.append(row)
    return table


# --- Finding the columns -----------------------------------------------------------------------------------


def plain_text(text: str) -> str:
    """Lower case, no accents, single spaces: "Upper-middle  Income" -> "upper middle income" (how headers and
    names are compared)."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", ascii_only.casefold()).split())


@dataclass(frozen=True)
class Column:
    """A column an import reads: `key` names its values in a record; a header names it when it is one of
    `names` (compared as plain_text), or else when it contains one of `words`."""

    key: str
    label: str
    names: frozenset[str] = frozenset()
    words: tuple[str, ...] = ()
    required: bool = True
    #: What the problem says when the file has no such column.
    missing_message: str = ""

    def __post_init__(self):
        object.__setattr__(self, "names", frozenset(plain_text(name) for name in self.names))

    def matches_exactly(self, header: str) -> bool:
        return header in self.names or header == plain_text(self.label)

    def matches_a_word(self, header: str) -> bool:
        return any(word in header.split() for word in self.words)

    @property
    def missing_problem(self) -> str:
        return self.missing_message or f"No “{self.label}” column: name one column “{self.label}”."


@dataclass(frozen=True)
class Record:
    """A row under the header, with its values by column key (empty for a column the file lacks)."""

    number: int
    values: dict[str, str]
    row: TableRow

    def __getitem__(self, key: str) -> str:
        return self.values[key]


@dataclass(frozen=True)
class Header:
    """The header row's number, its cells, and where each column is (None where the file has none)."""

    row: int
    cells: tuple[str, ...]
    positions: dict[str, int | None] = field(default_factory=dict)

    def has(self, key: str) -> bool:
        return self.positions.get(key) is not None

    def missing(self, columns: Sequence[Column]) -> list[RowProblem]:
        """A problem, on the header row, for each required column the file lacks."""
        return [
            RowProblem(self.row, column.missing_problem)
            for column in columns
            if column.required and not self.has(column.key)
        ]

    def records(self, table: Table) -> Iterator[Record]:
        """The rows under the header that are not blank, with their values by column key."""
        for row in table.rows:
            if row.number <= self.row or row.is_blank:
                continue
            yield Record(row.number, {key: row.cell(index) for key, index in self.positions.items()}, row)


def _match(cells: Sequence[str], columns: Sequence[Column]) -> dict[str, int | None]:
    """Each column's position in a header row: exact names first, then words; one column per cell."""
    headers = [plain_text(cell) for cell in cells]
    taken: set[int] = set()
    positions: dict[str, int | None] = {}
    for column in columns:
        found = next(
            (i for i, header in enumerate(headers) if i not in taken and column.matches_exactly(header)), None
        )
        if found is None:
            found = next(
                (i for i, header in enumerate(headers) if i not in taken and column.matches_a_word(header)),
                None,
            )
        positions[column.key] = found
        if found is not None:
            taken.add(found)
    return positions


def find_header(
    table: Table,
    columns: Sequence[Column],
    *,
    search_rows: int = HEADER_SEARCH_ROWS,
    accept: Callable[[dict[str, int | None]], bool] | None = None,
) -> Header:
    """The first of the opening rows that names what `accept` asks (by default, every required column),
    else the one that names the most columns (whose `missing()` then lists what is lacking)."""
    accept = accept or (
        lambda found: all(found[column.key] is not None for column in columns if column.required)
    )
    best: Header | None = None
    best_score = -1
    for row in table.rows[:search_rows]:
        if row.is_blank:
            continue
        positions = _match(row.cells, columns)
        header = Header(row.number, row.cells, positions)
        if accept(positions):
            return header
        score = sum(position is not None for position in positions.values())
        if score > best_score:
            best, best_score = header, score
    if best is None:
        return Header(1, (), {column.key: None for column in columns})
    return best


def header_from_mapping(table: Table, header_row: int, mapping: Mapping[str, int | None]) -> Header:
    """The header a person chose: `mapping` gives, for each column key, the position of its cell in row
    `header_row` (or None to leave it out). ImportRejected when the row or a position is not in the file."""
    row = table.row(header_row)
    if row is None or row.is_blank:
        raise reject(f"Row {header_row} is not a header row of this file.", header_row)
    positions: dict[str, int | None] = {}
    for key, index in mapping.items():
        if index is not None and not 0 <= index < len(row.cells):
            raise reject(f"Row {header_row} has no column {index + 1}.", header_row)
        positions[key] = index
    return Header(row.number, row.cells, positions)


# --- The signed preview ------------------------------------------------------------------------------------


class PreviewTokenInvalid(DomainError):
    """The confirmation's signed data was changed, is malformed, or is too old."""


class PreviewSigner:
    """Signs what a preview showed, for the confirmation form to carry, and verifies it when it comes back.
    Each import has its own `salt`, so that one import's confirmation is never accepted by another."""

    def __init__(self, salt: str, max_age_seconds: int = PREVIEW_MAX_AGE_SECONDS):
        self.salt = salt
        self.max_age_seconds = max_age_seconds

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=self.salt)

    def sign(self, data: Any) -> str:
        """`data` (JSON: lists, dicts, text, numbers) as a signed, compressed, URL-safe token."""
        return self._serializer().dumps(data)

    def read(self, token: str | None) -> Any:
        """The signed data, or PreviewTokenInvalid when it was changed, is malformed or is too old."""
        try:
            return self._serializer().loads(token or "", max_age=self.max_age_seconds)
        except BadData as error:
            raise self.refused() from error

    def refused(self) -> PreviewTokenInvalid:
        """The error for a confirmation that cannot be trusted (also for signed data that is not valid)."""
        return PreviewTokenInvalid(
            "This confirmation could not be verified: it was changed or is more than "
            f"{_duration(self.max_age_seconds)} old. Nothing was changed: upload the file again."
        )


def _duration(seconds: int) -> str:
    words = {1: "one", 2: "two", 3: "three", 4: "four", 6: "six", 12: "twelve", 24: "twenty-four"}
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{words.get(hours, hours)} hour{'' if hours == 1 else 's'}"
    minutes = max(seconds // 60, 1)
    return f"{minutes} minute{'' if minutes == 1 else 's'}"
