"""The organisation list as CSV and XLSX (the common exports: streamed, formulas escaped)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response

from ..common.exports import csv_response
from ..common.time import today
from ..extensions import db
from . import queries
from .services import country_name

COLUMNS = [
    "Name",
    "Kind",
    "Status",
    "Country",
    "Website",
    "Relationship owner",
    "Focus themes",
    "Current contacts",
]
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Organisations read per batch while the file is written.
BATCH = 500


def organisation_rows(statement: sa.Select):
    """One row per organisation of the filtered list, read in batches of BATCH (a lazy iterable)."""
    offset = 0
    while True:
        organisations = list(db.session.scalars(statement.limit(BATCH).offset(offset)))
        if not organisations:
            return
        contacts = queries.current_contact_names([o.id for o in organisations])
        for organisation in organisations:
            yield [
                organisation.name,
                organisation.kind.label,
                organisation.status.label,
                country_name(organisation.country_code),
                organisation.website,
                str(organisation.owner) if organisation.owner else "",
                ", ".join(theme.name for theme in organisation.themes),
                "; ".join(contacts.get(organisation.id, [])),
            ]
        offset += BATCH


def organisations_download(statement: sa.Select, export_format: str) -> Response:
    """The filtered list as a CSV or XLSX download."""
    stem = f"organisations-{today().isoformat()}"
    if export_format == "xlsx":
        return _xlsx_response(f"{stem}.xlsx", organisation_rows(statement))
    rows = (
        [_spreadsheet_safe(cell) for cell in row]
        for row in _with_header(COLUMNS, organisation_rows(statement))
    )
    return csv_response(rows, f'attachment; filename="{stem}.csv"')


def _spreadsheet_safe(cell: str) -> str:
    # A cell starting with = + - @ would run as a formula when the file is opened in a spreadsheet.
    return f"'{cell}" if cell[:1] in ("=", "+", "-", "@") else cell


def _xlsx_response(filename: str, rows) -> Response:
    import io

    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Organisations")
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append([_spreadsheet_safe(cell) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return Response(
        buffer.getvalue(),
        mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _with_header(header, rows):
    yield header
    yield from rows
