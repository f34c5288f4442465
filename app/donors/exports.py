"""The organisation list as CSV and XLSX (the common exports: streamed, formulas escaped)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response

from ..common.exports import XlsxColumn, XlsxSheet, csv_response, xlsx_response
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
XLSX_COLUMNS = [
    XlsxColumn(name, width={"Name": 40, "Focus themes": 30, "Current contacts": 40}.get(name))
    for name in COLUMNS
]
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
        sheet = XlsxSheet("Organisations", XLSX_COLUMNS, organisation_rows(statement), frozen_columns=1)
        return xlsx_response(f"{stem}.xlsx", sheet)
    return csv_response(_with_header(COLUMNS, organisation_rows(statement)), f"{stem}.csv")


def _with_header(header, rows):
    yield header
    yield from rows
