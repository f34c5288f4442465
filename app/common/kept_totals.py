"""What every table of kept totals shares: adding a change to its rows, and replacing them from the records.

A kept-totals table (contributions' invoice totals, the pipeline's opportunity and plan totals, the members'
forecasts) is kept up to date in the transaction that changes the records it adds up, by a listener of its
area's, and rebuilt from the records after a bulk statement that bypasses the listener. The two writes are
the same for all of them, and are here:

- `add_to_rows`: each change as one atomic `INSERT ... ON CONFLICT DO UPDATE SET x = x + excluded.x`, so two
  transactions changing the same row both count; rows in key order, so two transactions lock rows alike.
- `replace_rows`: every row anew. On PostgreSQL it first locks the table EXCLUSIVE (readers still read): it
  waits for every transaction that changed the table to end, and keeps new changes waiting until this one
  commits, so no change is lost between reading the records and writing the rows. SQLite has one writer.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def _in_order(key: tuple) -> tuple:
    """A sort key for any row key: enums by value, None first."""
    return tuple((part is not None, "" if part is None else getattr(part, "value", part)) for part in key)


def add_to_rows(
    connection: sa.Connection, model, key_names: Sequence[str], amount_names: Sequence[str], rows: dict
) -> None:
    """Add each {key: amounts} to the kept row with that key, creating it; amounts all zero are skipped."""
    table = model.__table__
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    for key in sorted(rows, key=_in_order):
        amounts = rows[key]
        if not any(amounts):
            continue
        statement = insert(table).values(
            **dict(zip(key_names, key, strict=True)), **dict(zip(amount_names, amounts, strict=True))
        )
        statement = statement.on_conflict_do_update(
            index_elements=list(key_names),
            set_={name: table.c[name] + statement.excluded[name] for name in amount_names},
        )
        connection.execute(statement)


def lock_for_replacing(connection: sa.Connection, *models) -> None:
    """On PostgreSQL, lock the tables EXCLUSIVE until the transaction ends (see the module's docstring)."""
    if connection.dialect.name == "postgresql":
        for model in models:
            connection.execute(sa.text(f"LOCK TABLE {model.__table__.name} IN EXCLUSIVE MODE"))


def replace_rows(
    connection: sa.Connection, model, key_names: Sequence[str], value_names: Sequence[str], rows: dict
) -> None:
    """Replace every row of the table with {key: values}. Lock first (`lock_for_replacing`), before reading
    the records the rows are made from."""
    connection.execute(sa.delete(model))
    if rows:
        connection.execute(
            sa.insert(model),
            [
                dict(zip(key_names, key, strict=True)) | dict(zip(value_names, values, strict=True))
                for key, values in rows.items()
            ],
        )
