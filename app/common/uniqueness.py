"""Unique constraints as messages beside a field.

A service checks for a clash before it writes, but two people saving at the same moment both pass the
check, and only the database's unique constraint stops the second. `unique_as_field_errors` runs the
writing part of a service in a savepoint: when a unique constraint it was told about fires, the savepoint is
rolled back (nothing of the block stays, and the session stays usable for the page that shows the message)
and the IntegrityError becomes a ValidationFailed with the message beside the field. Any other integrity
error stays the bug it is.

    NAME_TAKEN = UniqueField("uq_checklist_templates_name", "name", "Another template has this name.")
    with unique_as_field_errors(NAME_TAKEN):
        db.session.add(template)
        db.session.flush()
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from .errors import ValidationFailed


@dataclass(frozen=True)
class UniqueField:
    """The constraint (or unique index) `constraint`, shown as `message` beside the form field `field`."""

    constraint: str
    field: str
    message: str


def _constraint_columns(name: str) -> tuple[str, list[str]] | None:
    # SQLite names the table and columns in its message, not the constraint: find them in the metadata.
    for table in db.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, sa.UniqueConstraint) and constraint.name == name:
                return table.name, [column.name for column in constraint.columns]
        for index in table.indexes:
            if index.unique and index.name == name:
                return table.name, [column.name for column in index.columns]
    return None


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the unique constraint an IntegrityError reports, when the driver says (PostgreSQL does)."""
    diag = getattr(error.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?:index '(?P<index>[^']+)'|(?P<columns>.+))")


def reports_constraint(error: IntegrityError, name: str) -> bool:
    """True when `error` is the unique constraint `name` firing, on PostgreSQL or SQLite."""
    reported = violated_constraint(error)
    if reported is not None:
        return reported == name
    match = _SQLITE_UNIQUE.search(str(error.orig))
    if match is None:
        return False
    if match.group("index"):
        return match.group("index") == name
    known = _constraint_columns(name)
    if known is None:
        return False
    table, columns = known
    return [part.strip() for part in match.group("columns").split(",")] == [f"{table}.{c}" for c in columns]


@contextmanager
def unique_as_field_errors(*fields: UniqueField, message: str | None = None) -> Iterator[None]:
    """Run the block in a savepoint; a listed unique constraint firing in it becomes a ValidationFailed."""
    try:
        with db.session.begin_nested():
            yield
    except IntegrityError as error:
        for field in fields:
            if reports_constraint(error, field.constraint):
                raise ValidationFailed(message or field.message, {field.field: [field.message]}) from error
        raise
