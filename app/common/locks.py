"""Row locks: "lock these rows, then read them again", before a decision that two people (or a person and the
nightly command) could otherwise take at the same moment on what each read before the other wrote.

On PostgreSQL the lock is `SELECT ... FOR UPDATE`, held until the transaction ends, so the second caller waits
and then decides on what the first committed. SQLite has one writer at a time and ignores the clause.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from ..extensions import db


def lock_and_refresh(*records, also: Sequence[str] = ()) -> None:
    """Flush, lock each record's row in the order given (keep one order everywhere, so that two callers
    never wait on each other), then reload the record and the `also` relationships (its collections)."""
    db.session.flush()
    for record in records:
        state = sa.inspect(record)
        key = [
            column == value for column, value in zip(state.mapper.primary_key, state.identity, strict=True)
        ]
        db.session.execute(sa.select(*state.mapper.primary_key).where(*key).with_for_update())
        db.session.refresh(record)
        if also:
            db.session.refresh(record, attribute_names=list(also))
