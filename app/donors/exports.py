"""The organisation list as CSV and XLSX (the common exports: streamed, formulas escaped)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response

from ..auth.models import User
from ..common.exports import XlsxColumn, XlsxSheet, csv_response, merge_related, streamed_rows, xlsx_response
from ..common.time import today
from .models import (
    Affiliation,
    Contact,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    Theme,
    organisation_themes,
)
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


def organisation_rows(statement: sa.Select):
    """One row per organisation of the filtered list (a lazy iterable), from three streamed queries in the
    list's order, merged here: the organisations with their owner, their themes, their current contacts."""
    owner = sa.orm.aliased(User)
    theme_link, theme = organisation_themes.alias("export_themes"), sa.orm.aliased(Theme)
    affiliation, contact = sa.orm.aliased(Affiliation), sa.orm.aliased(Contact)
    organisations = streamed_rows(
        statement.with_only_columns(
            Organisation.id,
            Organisation.name,
            Organisation.kind,
            Organisation.status,
            Organisation.country_code,
            Organisation.website,
            owner.full_name,
            owner.email,
        ).outerjoin(owner, owner.id == Organisation.owner_id)
    )
    themes = streamed_rows(
        statement.with_only_columns(Organisation.id, theme.name)
        .join(theme_link, theme_link.c.organisation_id == Organisation.id)
        .join(theme, theme.id == theme_link.c.theme_id)
        .order_by(theme.name)
    )
    contacts = streamed_rows(
        statement.with_only_columns(Organisation.id, contact.name)
        .join(
            affiliation,
            sa.and_(affiliation.organisation_id == Organisation.id, affiliation.ended_on.is_(None)),
        )
        .join(contact, contact.id == affiliation.contact_id)
        .order_by(contact.name)
    )
    # Each label once, not once per row.
    kind_labels = {kind: kind.label for kind in OrganisationKind}
    status_labels = {status: status.label for status in OrganisationStatus}
    for organisation, its_themes, its_contacts in merge_related(organisations, themes, contacts):
        _id, name, kind, status, country_code, website, owner_name, owner_email = organisation
        yield [
            name,
            kind_labels[kind],
            status_labels[status],
            country_name(country_code),
            website,
            owner_name or owner_email or "",
            ", ".join(row[1] for row in its_themes),
            "; ".join(row[1] for row in its_contacts),
        ]


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
