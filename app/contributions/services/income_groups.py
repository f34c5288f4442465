"""Income groups for a whole fiscal year: the overview, carrying last year's groups forward, and importing the
World Bank's classification from a CSV or XLSX file.

An import happens in two steps that keep no state in the process (app.common.imports reads the file, finds the
columns and signs the preview): `parse_upload` reads the file and lists every bad row (one bad row imports
nothing), `preview_import` says what would change, and `import_token` signs the parsed rows together with that
preview. `apply_import` verifies the signature, validates the rows again and applies them only if the preview
still holds, so that what is applied is exactly what was shown.

Every function flushes and never commits.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from functools import lru_cache

import pycountry
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from ...common.audit import acting_as
from ...common.errors import DomainError, ValidationFailed
from ...common.imports import (
    Column,
    PreviewSigner,
    RowProblem,
    find_header,
    plain_text,
    read_table,
    reject,
    reject_if_any,
)
from ...extensions import db
from ...hubs.models import Hub
from ..models import (
    IncomeGroup,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Member,
    MemberIncomeGroup,
    MemberKind,
    MemberStatus,
)
from .members import country_name, matching_members

FIRST_YEAR, LAST_YEAR = 2000, 2100
#: What an import reads at most: the World Bank's file has about 270 rows and five columns.
MAX_UPLOAD_BYTES, MAX_ROWS = 2 * 1024 * 1024, 5_000
_SIGNER = PreviewSigner("tributary.income-group-import")

# --- Errors ------------------------------------------------------------------------------------------------


class PreviewOutOfDate(DomainError):
    """Income groups changed between the preview and the confirmation."""


class IncomeGroupsChangedMeanwhile(DomainError):
    """Someone recorded the same income groups at the same moment."""


def check_fiscal_year(fiscal_year: int) -> int:
    """The year as an int, or ValidationFailed when it is not a plausible fiscal year."""
    try:
        year = int(fiscal_year)
    except (TypeError, ValueError):
        year = 0
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed(
            "Give a fiscal year such as 2027.", {"fiscal_year": ["Give a fiscal year such as 2027."]}
        )
    return year


# --- Reading group names and countries ---------------------------------------------------------------------

_GROUP_NAMES = {
    "high income": IncomeGroup.HIGH,
    "high": IncomeGroup.HIGH,
    "hic": IncomeGroup.HIGH,
    "upper middle income": IncomeGroup.UPPER_MIDDLE,
    "upper middle": IncomeGroup.UPPER_MIDDLE,
    "umc": IncomeGroup.UPPER_MIDDLE,
    "lower middle income": IncomeGroup.LOWER_MIDDLE,
    "lower middle": IncomeGroup.LOWER_MIDDLE,
    "lmc": IncomeGroup.LOWER_MIDDLE,
    "low income": IncomeGroup.LOW,
    "low": IncomeGroup.LOW,
    "lic": IncomeGroup.LOW,
}

#: Economies the World Bank classifies that ISO 3166-1 does not list (by code or name): never members.
_NOT_ISO_COUNTRIES = {"xkx", "xk", "kosovo", "chi", "channel islands"}


def read_income_group(text: str) -> IncomeGroup | None:
    """The group a cell names ("Upper middle income", "upper_middle", "UMC"), or None if it names none."""
    return _GROUP_NAMES.get(plain_text(text))


@lru_cache(maxsize=1)
def _countries_by_name() -> dict[str, str]:
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            value = getattr(country, attribute, None)
            if value:
                names.setdefault(plain_text(value), country.alpha_2)
    return names


def read_country(text: str) -> str | None:
    """The ISO alpha-2 code of a country given by its alpha-2 or alpha-3 code or name (KE, KEN, Kenya)."""
    value = text.strip()
    if re.fullmatch(r"[A-Za-z]{2}", value):
        country = pycountry.countries.get(alpha_2=value.upper())
        return country.alpha_2 if country else None
    if re.fullmatch(r"[A-Za-z]{3}", value):
        country = pycountry.countries.get(alpha_3=value.upper())
        if country is not None:
            return country.alpha_2
    return _countries_by_name().get(plain_text(value))


# --- Reading the file --------------------------------------------------------------------------------------

_CODE_HEADERS = {
    "code",
    "iso",
    "iso2",
    "iso3",
    "iso code",
    "iso2 code",
    "iso3 code",
    "iso a2",
    "iso a3",
    "alpha 2",
    "alpha 3",
    "country code",
    "country iso",
    "country iso3",
    "economy code",
}
_NAME_HEADERS = {"country", "economy", "country name", "economy name", "name", "country or economy"}
_GROUP_HEADERS = {
    "income group",
    "group",
    "income",
    "income level",
    "income classification",
    "classification",
    "income group code",
}
_COLUMNS = (
    Column("code", "Code", names=_CODE_HEADERS, words=("code", "iso"), required=False),
    Column("name", "Country", names=_NAME_HEADERS, words=("country", "economy"), required=False),
    Column(
        "group",
        "Income group",
        names=_GROUP_HEADERS,
        words=("income",),
        missing_message="No income group column: name one column “Income group”.",
    ),
)


_NO_COUNTRY_COLUMN = "No country column: name one column “Code” (ISO alpha-2 or alpha-3) or “Country”."


def _names_a_country_and_a_group(found: dict[str, int | None]) -> bool:
    return (found["code"] is not None or found["name"] is not None) and found["group"] is not None


@dataclass(frozen=True)
class FileRow:
    """A row of the file as read: its number in the file (the header row counts), the country and group as
    written, and what they were read as."""

    row: int
    country_text: str
    group_text: str
    country_code: str | None
    income_group: IncomeGroup | None


@dataclass(frozen=True)
class SkippedRow:
    """A row that changes nothing and is not an error (a region total, an unclassified economy, a note)."""

    row: int
    text: str
    reason: str


@dataclass(frozen=True)
class ParsedFile:
    """The rows of a file with no bad row: `rows` name a country and a group; `skipped` change nothing."""

    rows: list[FileRow]
    skipped: list[SkippedRow] = field(default_factory=list)


def parse_upload(filename: str, content: bytes) -> ParsedFile:
    """Read an uploaded CSV or XLSX file of countries and income groups; ImportRejected lists bad rows."""
    # Excel on Windows saves CSV files in cp1252 unless told otherwise: such a file is read too.
    table = read_table(
        filename, content, max_bytes=MAX_UPLOAD_BYTES, max_rows=MAX_ROWS, legacy_encoding="cp1252"
    )
    header = find_header(table, _COLUMNS, accept=_names_a_country_and_a_group)
    problems = []
    if not header.has("code") and not header.has("name"):
        problems.append(RowProblem(header.row, _NO_COUNTRY_COLUMN))
    problems.extend(header.missing(_COLUMNS))
    reject_if_any(problems)

    rows: list[FileRow] = []
    skipped: list[SkippedRow] = []
    seen: dict[str, int] = {}
    for record in header.records(table):
        number = record.number
        code_text, name_text, group_text = record["code"], record["name"], record["group"]
        country_text = code_text or name_text
        group = read_income_group(group_text) if group_text else None
        code = read_country(country_text) if country_text else None
        if country_text and code is None and plain_text(country_text) in _NOT_ISO_COUNTRIES:
            skipped.append(SkippedRow(number, country_text, "Not an ISO 3166 country, so never a member."))
            continue
        if not group_text:
            # A region or world total in the World Bank's file, an unclassified economy, or a note:
            # nothing is read from it, and the preview lists it.
            written = f"{name_text} ({code_text})" if name_text and code_text else country_text
            skipped.append(SkippedRow(number, written, "No income group on this row."))
            continue
        row_problems = []
        if not country_text:
            row_problems.append("No country on this row.")
        elif code is None:
            row_problems.append(
                f"“{country_text}” is not a country this import knows: "
                "use the ISO alpha-2 or alpha-3 code (KE, KEN) or the country's name (Kenya)."
            )
        if group is None:
            row_problems.append(
                f"“{group_text}” is not an income group: use High income, Upper middle income, "
                "Lower middle income or Low income."
            )
        if code is not None and code in seen:
            row_problems.append(
                f"{country_name(code)} is already on row {seen[code]}: keep one row per country."
            )
        if code is not None:
            seen.setdefault(code, number)
        if row_problems:
            problems.extend(RowProblem(number, message) for message in row_problems)
            continue
        rows.append(FileRow(number, country_text, group_text, code, group))
    reject_if_any(problems)
    if not rows:
        raise reject("The file has no row with a country and an income group.")
    return ParsedFile(rows=rows, skipped=skipped)


# --- The preview -------------------------------------------------------------------------------------------


class Change(enum.StrEnum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"

    @property
    def label(self) -> str:
        return {"new": "New", "changed": "Changed", "unchanged": "Unchanged"}[self.value]


@dataclass(frozen=True)
class PreviewLine:
    """What one row of the file does to one national member."""

    row: int
    member_id: int
    member_name: str
    country_code: str
    before: IncomeGroup | None
    after: IncomeGroup
    change: Change
    #: The member already has an issued annual invoice for the year, which a new group does not change.
    invoiced: bool = False


@dataclass(frozen=True)
class IgnoredRow:
    """A row about a country that is not a national member (or that ISO does not list): it changes nothing."""

    row: int
    country_text: str
    country: str
    group_text: str


@dataclass
class ImportPreview:
    fiscal_year: int
    lines: list[PreviewLine]
    ignored: list[IgnoredRow]
    #: Rows that change nothing: totals, notes, unclassified economies, economies outside ISO 3166.
    skipped: list[SkippedRow]
    #: National members with no group for the year that the file does not give one either.
    still_missing: list[tuple[int, str]] = field(default_factory=list)

    def _with(self, change: Change) -> list[PreviewLine]:
        return [line for line in self.lines if line.change == change]

    @property
    def new(self) -> list[PreviewLine]:
        return self._with(Change.NEW)

    @property
    def changed(self) -> list[PreviewLine]:
        return self._with(Change.CHANGED)

    @property
    def unchanged(self) -> list[PreviewLine]:
        return self._with(Change.UNCHANGED)

    @property
    def changes(self) -> list[PreviewLine]:
        return [line for line in self.lines if line.change != Change.UNCHANGED]


def _national_members_by_country(codes: Iterable[str]) -> dict[str, Member]:
    codes = sorted(set(codes))
    if not codes:
        return {}
    members = db.session.scalars(
        sa.select(Member).where(Member.kind == MemberKind.NATIONAL, Member.country_code.in_(codes))
    )
    return {member.country_code: member for member in members}


def _groups(member_ids: Iterable[int], fiscal_year: int) -> dict[int, MemberIncomeGroup]:
    ids = sorted(set(member_ids))
    if not ids:
        return {}
    records = db.session.scalars(
        sa.select(MemberIncomeGroup).where(
            MemberIncomeGroup.fiscal_year == fiscal_year, MemberIncomeGroup.member_id.in_(ids)
        )
    )
    return {record.member_id: record for record in records}


def _invoiced_member_ids(member_ids: Iterable[int], fiscal_year: int) -> set[int]:
    ids = sorted(set(member_ids))
    if not ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(Invoice.member_id).where(
                Invoice.member_id.in_(ids),
                Invoice.fiscal_year == fiscal_year,
                Invoice.kind == InvoiceKind.ANNUAL_CONTRIBUTION,
                Invoice.status != InvoiceStatus.DRAFT,
            )
        )
    )


def preview_import(parsed: ParsedFile, fiscal_year: int) -> ImportPreview:
    """What importing the file would do for a fiscal year: new, changed and unchanged groups, ignored rows.
    A constant number of queries."""
    fiscal_year = check_fiscal_year(fiscal_year)
    members = _national_members_by_country(row.country_code for row in parsed.rows)
    current = _groups((member.id for member in members.values()), fiscal_year)
    lines: list[PreviewLine] = []
    ignored: list[IgnoredRow] = []
    for row in parsed.rows:
        member = members.get(row.country_code)
        if member is None:
            ignored.append(
                IgnoredRow(row.row, row.country_text, country_name(row.country_code), row.group_text)
            )
            continue
        record = current.get(member.id)
        before = record.income_group if record is not None else None
        if before is None:
            change = Change.NEW
        elif before == row.income_group:
            change = Change.UNCHANGED
        else:
            change = Change.CHANGED
        lines.append(
            PreviewLine(
                row.row, member.id, member.name, member.country_code, before, row.income_group, change
            )
        )
    invoiced = _invoiced_member_ids(
        (line.member_id for line in lines if line.change == Change.CHANGED), fiscal_year
    )
    lines = [replace(line, invoiced=True) if line.member_id in invoiced else line for line in lines]
    lines.sort(key=lambda line: (line.member_name, line.member_id))
    given = {line.member_id for line in lines}
    still_missing = [
        (member_id, name) for member_id, name in missing_members(fiscal_year) if member_id not in given
    ]
    return ImportPreview(fiscal_year, lines, ignored, parsed.skipped, still_missing)


def missing_members(fiscal_year: int, limit: int | None = None) -> list[tuple[int, str]]:
    """(id, name) of every national member with no income group for the year (the first `limit`), by
    name. One query."""
    rows = db.session.execute(
        _missing_members_statement(limit is not None), {"fiscal_year": fiscal_year, "limit": limit}
    )
    return [(row.id, row.name) for row in rows]


@functools.cache
def _missing_members_statement(limited: bool) -> sa.Select:
    """missing_members' query for any year (and `limit` when `limited`), built once per process."""
    query = (
        sa.select(Member.id, Member.name)
        .where(Member.kind == MemberKind.NATIONAL, ~_has_group(sa.bindparam("fiscal_year", type_=sa.Integer)))
        .order_by(Member.name, Member.id)
    )
    return query.limit(sa.bindparam("limit", type_=sa.Integer)) if limited else query


# --- Confirming: the signed rows ---------------------------------------------------------------------------


def import_token(parsed: ParsedFile, preview: ImportPreview, filename: str) -> str:
    """Sign the parsed rows and the changes the preview showed, for the confirmation form to carry."""
    return _SIGNER.sign(
        {
            "fy": preview.fiscal_year,
            "file": (filename or "")[:200],
            "rows": [[row.row, row.country_text, row.group_text] for row in parsed.rows],
            "expect": [
                [line.member_id, line.before.value if line.before else None, line.after.value]
                for line in preview.changes
            ],
        }
    )


@dataclass(frozen=True)
class SignedImport:
    """The confirmation's data, verified and validated again."""

    fiscal_year: int
    filename: str
    parsed: ParsedFile
    expected: list[list]


def read_import_token(token: str) -> SignedImport:
    """Verify the signature and age of a confirmation and validate its rows again (PreviewTokenInvalid)."""
    data = _SIGNER.read(token)
    refused = _SIGNER.refused()
    try:
        fiscal_year = check_fiscal_year(data["fy"])
        rows, seen = [], set()
        for number, country_text, group_text in data["rows"]:
            code, group = read_country(str(country_text)), read_income_group(str(group_text))
            if not isinstance(number, int) or code is None or group is None or code in seen:
                raise refused
            seen.add(code)
            rows.append(FileRow(number, str(country_text), str(group_text), code, group))
        expected = [[int(member_id), before, after] for member_id, before, after in data["expect"]]
        filename = str(data.get("file") or "")
    except (KeyError, TypeError, ValueError, ValidationFailed) as error:
        raise refused from error
    if not rows:
        raise refused
    return SignedImport(fiscal_year, filename, ParsedFile(rows), expected)


@dataclass(frozen=True)
class ImportResult:
    fiscal_year: int
    filename: str
    new: int
    changed: int
    unchanged: int
    still_missing: int


def apply_import(token: str, actor=None) -> ImportResult:
    """Apply a confirmed import: exactly the changes its preview showed, or PreviewOutOfDate if they moved."""
    signed = read_import_token(token)
    preview = preview_import(signed.parsed, signed.fiscal_year)
    now = [
        [line.member_id, line.before.value if line.before else None, line.after.value]
        for line in preview.changes
    ]
    if now != signed.expected:
        raise PreviewOutOfDate(
            f"FY{signed.fiscal_year} income groups changed since this preview was made, so it no longer "
            "shows what the import would do. Nothing was changed: upload the file again to see a new preview."
        )
    records = _groups((line.member_id for line in preview.changes), signed.fiscal_year)
    with acting_as(actor) if actor is not None else nullcontext():
        for line in preview.changes:
            record = records.get(line.member_id)
            if record is None:
                db.session.add(
                    MemberIncomeGroup(
                        member_id=line.member_id, fiscal_year=signed.fiscal_year, income_group=line.after
                    )
                )
            else:
                record.income_group = line.after
        _flush_or_meanwhile()
    return ImportResult(
        fiscal_year=signed.fiscal_year,
        filename=signed.filename,
        new=len(preview.new),
        changed=len(preview.changed),
        unchanged=len(preview.unchanged),
        still_missing=len(preview.still_missing),
    )


def _flush_or_meanwhile() -> None:
    # The reads above decide what to write; the unique (member, year) constraint settles a race.
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:
        raise IncomeGroupsChangedMeanwhile(
            "Someone recorded income groups for these members at the same moment. "
            "Nothing was changed: try again."
        ) from error


# --- Copying the previous year forward ---------------------------------------------------------------------


def _has_group(fiscal_year: int):
    """EXISTS: the member of the enclosing query has a group for the year (its own alias, so that it also
    works inside a query that reads member_income_groups itself)."""
    record = aliased(MemberIncomeGroup)
    return (
        sa.select(record.id)
        .where(record.member_id == Member.id, record.fiscal_year == fiscal_year)
        .correlate(Member)
        .exists()
    )


@dataclass(frozen=True)
class CopyResult:
    fiscal_year: int
    copied: int
    still_missing: int


def copy_forward(fiscal_year: int, actor=None) -> CopyResult:
    """Give each national member that has a group for the previous year and none for `fiscal_year` the
    previous year's group. An existing entry is never overwritten."""
    fiscal_year = check_fiscal_year(fiscal_year)
    previous = db.session.execute(
        sa.select(MemberIncomeGroup.member_id, MemberIncomeGroup.income_group)
        .join(Member, Member.id == MemberIncomeGroup.member_id)
        .where(
            Member.kind == MemberKind.NATIONAL,
            MemberIncomeGroup.fiscal_year == fiscal_year - 1,
            ~_has_group(fiscal_year),
        )
        .order_by(MemberIncomeGroup.member_id)
    ).all()
    with acting_as(actor) if actor is not None else nullcontext():
        for member_id, group in previous:
            db.session.add(
                MemberIncomeGroup(member_id=member_id, fiscal_year=fiscal_year, income_group=group)
            )
        _flush_or_meanwhile()
    still_missing = db.session.scalar(
        sa.select(sa.func.count(Member.id)).where(
            Member.kind == MemberKind.NATIONAL, ~_has_group(fiscal_year)
        )
    )
    return CopyResult(fiscal_year, len(previous), int(still_missing or 0))


# --- The overview ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearCounts:
    """National members per income group for a year, those with none, and how many copying forward fills."""

    fiscal_year: int
    national: int
    by_group: dict[IncomeGroup, int]
    missing: int
    missing_active: int
    copyable: int


def year_counts(fiscal_year: int) -> YearCounts:
    """Counts for the overview of a fiscal year, in one query."""
    row = db.session.execute(_year_counts_statement(), {"fiscal_year": fiscal_year}).one()
    return YearCounts(
        fiscal_year=fiscal_year,
        national=int(row.national or 0),
        by_group={group: int(getattr(row, group.value) or 0) for group in IncomeGroup},
        missing=int(row.missing or 0),
        missing_active=int(row.missing_active or 0),
        copyable=int(row.copyable or 0),
    )


@functools.cache
def _year_counts_statement() -> sa.Select:
    """year_counts' query for any year (a bound `fiscal_year`), built once per process: building it costs
    several times what running it does."""
    fiscal_year = sa.bindparam("fiscal_year", type_=sa.Integer)
    current = aliased(MemberIncomeGroup)
    previous = aliased(MemberIncomeGroup)
    group_counts = [
        sa.func.sum(sa.case((current.income_group == group, 1), else_=0)).label(group.value)
        for group in IncomeGroup
    ]
    missing = current.id.is_(None)
    return (
        sa.select(
            sa.func.count(Member.id).label("national"),
            *group_counts,
            sa.func.sum(sa.case((missing, 1), else_=0)).label("missing"),
            sa.func.sum(sa.case((sa.and_(missing, Member.status == MemberStatus.ACTIVE), 1), else_=0)).label(
                "missing_active"
            ),
            sa.func.sum(sa.case((sa.and_(missing, previous.id.is_not(None)), 1), else_=0)).label("copyable"),
        )
        .select_from(Member)
        .outerjoin(current, sa.and_(current.member_id == Member.id, current.fiscal_year == fiscal_year))
        .outerjoin(
            previous, sa.and_(previous.member_id == Member.id, previous.fiscal_year == fiscal_year - 1)
        )
        .where(Member.kind == MemberKind.NATIONAL)
    )


def overview_query(
    fiscal_year: int, *, text: str | None = None, hub_id: int | None = None, missing_only: bool = False
) -> sa.Select:
    """National members by name for the overview, narrowed by its search and filters."""
    query = sa.select(Member).where(Member.kind == MemberKind.NATIONAL).order_by(Member.name, Member.id)
    if text and text.strip():
        query = query.where(matching_members(text))
    if hub_id:
        query = query.where(Member.hub_id == hub_id)
    if missing_only:
        query = query.where(~_has_group(fiscal_year))
    return query


def hubs_with_national_members() -> list[Hub]:
    """Hubs that issue for at least one national member, by name (for the overview's filter)."""
    has_members = (
        sa.select(Member.id).where(Member.hub_id == Hub.id, Member.kind == MemberKind.NATIONAL).exists()
    )
    return list(db.session.scalars(sa.select(Hub).where(has_members).order_by(Hub.name)))
