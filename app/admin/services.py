"""Reading the audit log: filters and pagination for the admin page."""

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from ..auth.models import User
from ..common import search
from ..common.audit import AuditEntry
from ..extensions import db


def audit_query(
    user_id: int | None = None,
    record_type: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    text: str | None = None,
    nothing: bool = False,
) -> sa.Select:
    """Audit entries, newest first, narrowed by the given filters."""
    query = sa.select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if nothing:
        return query.where(sa.false())
    if user_id:
        query = query.where(AuditEntry.actor_id == user_id)
    if record_type:
        query = query.where(AuditEntry.record_type == record_type)
    if date_from:
        query = query.where(AuditEntry.at >= datetime.combine(date_from, time.min, tzinfo=UTC))
    if date_to:
        query = query.where(
            AuditEntry.at < datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
        )
    if text and search.is_searchable(text):
        # The folded text holds the record's type, id and label: "Invoice 42" finds invoice 42's entries.
        query = query.where(AuditEntry.id.in_(search.matching_ids(AuditEntry.__table__, text)))
    return query


def audited_record_types() -> list[str]:
    """Every model name that has audit entries, for the filter: one index probe per name (a recursive
    "next name after this one"), not a read of the whole log as DISTINCT would be."""
    names = sa.select(sa.func.min(AuditEntry.record_type).label("name")).cte("names", recursive=True)
    following = sa.select(sa.func.min(AuditEntry.record_type)).where(AuditEntry.record_type > names.c.name)
    names = names.union_all(sa.select(following.scalar_subquery()).where(names.c.name.is_not(None)))
    return list(db.session.scalars(sa.select(names.c.name).where(names.c.name.is_not(None))))


def users_by_name() -> list[User]:
    """All users, by name."""
    return list(db.session.scalars(sa.select(User).order_by(User.full_name)))
