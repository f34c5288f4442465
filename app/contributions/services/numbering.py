"""Gap-free document numbers per issuing hub, series and fiscal year.

A number is allocated inside the caller's transaction: the counter row is incremented with a single
`UPDATE ... RETURNING` (created first if that finds no row: INSERT ... ON CONFLICT DO NOTHING), which takes
the row lock on PostgreSQL (and the database write lock on SQLite) until the transaction ends. Two people
issuing at the same moment therefore queue on that row; a transaction that fails after allocating rolls the
counter back with it, so no number is lost. The unique constraints on the document numbers are the backstop.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ...extensions import db
from ..models import DocumentSequence

#: Series name -> the part of the number between the hub prefix and the fiscal year.
SERIES = {"INV": "", "CN": "CN-"}


def format_number(prefix: str, series: str, fiscal_year: int, sequence: int) -> str:
    """'BE-2027-0001' for an invoice, 'BE-CN-2027-0001' for a credit note."""
    return f"{prefix}-{SERIES[series]}{fiscal_year}-{sequence:04d}"


def _insert_counter_if_missing(hub_id: int, series: str, fiscal_year: int) -> None:
    values = {"hub_id": hub_id, "series": series, "fiscal_year": fiscal_year, "last_number": 0}
    dialect = db.session.get_bind().dialect.name
    table = DocumentSequence.__table__
    if dialect == "postgresql":
        statement = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported
        exists = db.session.scalar(
            sa.select(table.c.id).where(
                table.c.hub_id == hub_id, table.c.series == series, table.c.fiscal_year == fiscal_year
            )
        )
        if exists:
            return
        statement = sa.insert(table).values(**values)
    db.session.execute(statement)


def next_number(hub, series: str, fiscal_year: int) -> str:
    """Allocate the next number in the caller's transaction, under a row lock: 'BE-2027-0001' for series
    'INV', 'BE-CN-2027-0001' for series 'CN'."""
    if series not in SERIES:
        raise ValueError(f"Unknown document series {series!r}")
    if hub.id is None:
        db.session.flush()
    table = DocumentSequence.__table__
    increment = (
        sa.update(table)
        .where(table.c.hub_id == hub.id, table.c.series == series, table.c.fiscal_year == fiscal_year)
        .values(last_number=table.c.last_number + 1)
        .returning(table.c.last_number)
    )
    # The counter exists but for the year's first number: one statement, the INSERT only when it is missing.
    allocated = db.session.execute(increment).scalar_one_or_none()
    if allocated is None:
        _insert_counter_if_missing(hub.id, series, fiscal_year)
        allocated = db.session.execute(increment).scalar_one()
    return format_number(hub.invoice_prefix, series, fiscal_year, allocated)
