"""What is late or coming up: instalments past their date and not fully received, deliverables due soon.

Each list is a select statement, so that a page shows a bounded number of its rows: the deadlines page one
page at a time, the board dashboard and the board pack the first few with how many there are and a link to
the rest. A row's pledge, organisation and ask come with it in the same query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, lazyload

from ...extensions import db
from ..models import Deliverable, DeliverableStatus, Instalment, Opportunity, Pledge

UPCOMING_DAYS = 60
#: How many rows of each list the board dashboard and the board pack show (the deadlines page has them all).
SHORTLIST = 10


@dataclass
class Shortlist:
    """The first rows of a list and how many rows it has in all."""

    rows: list
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.rows)


def _with_pledge_and_ask(relationship):
    """A row's pledge (with its organisation) and its ask, joined in the row's own query, without the
    collections those load by default (a pledge's instalments, an ask's splits): the lists show neither.
    The ask's own organisation is the pledge's, already loaded; its owner is not shown."""
    return joinedload(relationship, innerjoin=True).options(
        lazyload(Pledge.instalments),
        joinedload(Pledge.opportunity, innerjoin=True).options(
            lazyload(Opportunity.splits), lazyload(Opportunity.organisation), lazyload(Opportunity.owner)
        ),
    )


def late_instalments_query(on: date) -> sa.Select:
    """Instalments expected before `on` that have not received their whole amount, oldest first."""
    return (
        sa.select(Instalment)
        .where(Instalment.expected_on < on, Instalment.received_amount < Instalment.amount)
        .options(_with_pledge_and_ask(Instalment.pledge))
        .order_by(Instalment.expected_on, Instalment.id)
    )


def upcoming_deliverables_query(on: date, days: int = UPCOMING_DAYS) -> sa.Select:
    """Deliverables not yet submitted that are due within `days` of `on` (or overdue), soonest first."""
    return (
        sa.select(Deliverable)
        .where(
            Deliverable.status.in_([DeliverableStatus.TO_DO.value, DeliverableStatus.IN_PROGRESS.value]),
            Deliverable.due_on <= on + timedelta(days=days),
        )
        .options(_with_pledge_and_ask(Deliverable.pledge))
        .order_by(Deliverable.due_on, Deliverable.id)
    )


def late_instalments(on: date) -> list[Instalment]:
    """Every instalment late on `on` (for code that needs them all; pages show a bounded list)."""
    return list(db.session.scalars(late_instalments_query(on)).unique())


def upcoming_deliverables(on: date, days: int = UPCOMING_DAYS) -> list[Deliverable]:
    """Every deliverable due within `days` of `on` or overdue (pages show a bounded list)."""
    return list(db.session.scalars(upcoming_deliverables_query(on, days)).unique())


def shortlist(query: sa.Select, size: int = SHORTLIST) -> Shortlist:
    """The first `size` rows of a list and its total, in one query whatever the list's length (the total
    is a window count, taken before the limit)."""
    rows = db.session.execute(query.add_columns(sa.func.count().over()).limit(size)).all()
    return Shortlist([row[0] for row in rows], rows[0][1] if rows else 0)


def late_shortlist(on: date, size: int = SHORTLIST) -> Shortlist:
    return shortlist(late_instalments_query(on), size)


def upcoming_shortlist(on: date, days: int = UPCOMING_DAYS, size: int = SHORTLIST) -> Shortlist:
    return shortlist(upcoming_deliverables_query(on, days), size)
