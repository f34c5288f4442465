"""What is late or coming up: instalments past their date and not fully received, deliverables due soon.

Each list is a select statement, so that a page shows a bounded number of its rows: the deadlines page one
page at a time, the board dashboard and the board pack the first few with how many there are and a link to
the rest. A row's pledge, organisation and ask come with it in the same query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, lazyload

from ...common.pagination import paginate_counted
from ...donors.models import Organisation
from ...extensions import db
from ..models import Deliverable, DeliverableKind, DeliverableStatus, Instalment, Opportunity, Pledge

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


#: Not fully received: the condition of the partial index of late instalments, as a literal both databases
#: match with it.
NOT_FULLY_RECEIVED = sa.text("pledge_instalments.received_amount < pledge_instalments.amount")
#: Not yet submitted (to do or in progress), likewise for the partial index of open deliverables.
NOT_SUBMITTED = sa.text(
    "pledge_deliverables.status IN "
    f"('{DeliverableStatus.TO_DO.value}', '{DeliverableStatus.IN_PROGRESS.value}')"
)
LATE_ORDER = (Instalment.expected_on, Instalment.id)
DUE_ORDER = (Deliverable.due_on, Deliverable.id)
#: Both lists in their order, along partial indexes of only the rows they can show (a page's ids and the
#: count read those rows only, never every instalment or deliverable).
sa.Index(
    "ix_pledge_instalments_late",
    Instalment.expected_on,
    Instalment.id,
    sqlite_where=NOT_FULLY_RECEIVED,
    postgresql_where=NOT_FULLY_RECEIVED,
)
sa.Index(
    "ix_pledge_deliverables_open",
    Deliverable.due_on,
    Deliverable.id,
    sqlite_where=NOT_SUBMITTED,
    postgresql_where=NOT_SUBMITTED,
)


def _late(on: date) -> tuple:
    return (Instalment.expected_on < on, NOT_FULLY_RECEIVED)


def _due(on: date, days: int) -> tuple:
    return (NOT_SUBMITTED, Deliverable.due_on <= on + timedelta(days=days))


def late_instalments_query(on: date) -> sa.Select:
    """Instalments expected before `on` that have not received their whole amount, oldest first."""
    return (
        sa.select(Instalment)
        .where(*_late(on))
        .options(_with_pledge_and_ask(Instalment.pledge))
        .order_by(*LATE_ORDER)
    )


def upcoming_deliverables_query(on: date, days: int = UPCOMING_DAYS) -> sa.Select:
    """Deliverables not yet submitted that are due within `days` of `on` (or overdue), soonest first."""
    return (
        sa.select(Deliverable)
        .where(*_due(on, days))
        .options(_with_pledge_and_ask(Deliverable.pledge))
        .order_by(*DUE_ORDER)
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


# --- The deadlines page: plain rows ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Named:
    name: str


@dataclass(frozen=True)
class _Titled:
    title: str


@dataclass(frozen=True)
class _PledgeOfRow:
    """The little of a row's pledge that the lists show, in the shape of the pledge (so that the partial
    template shows these rows and the shortlists' loaded instalments and deliverables alike)."""

    currency: str
    organisation: _Named
    opportunity: _Titled


@dataclass(frozen=True)
class LateInstalmentRow:
    id: int
    pledge_id: int
    expected_on: date
    outstanding: Decimal
    pledge: _PledgeOfRow


@dataclass(frozen=True)
class DueDeliverableRow:
    id: int
    due_on: date
    kind: DeliverableKind
    title: str
    status: DeliverableStatus
    pledge: _PledgeOfRow

    def __str__(self) -> str:
        return self.title or self.kind.label


def _pledge_columns():
    return (Pledge.currency, Organisation.name, Opportunity.title)


def _with_pledge(query: sa.Select, pledge_id) -> sa.Select:
    return (
        query.join(Pledge, Pledge.id == pledge_id)
        .join(Organisation, Organisation.id == Pledge.organisation_id)
        .join(Opportunity, Opportunity.id == Pledge.opportunity_id)
    )


def _page(conditions, order, key, rows_of, arg: str):
    """A page of a list (`?arg=`): its total and its ids read along the list's index, then its rows."""
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(sa.select(key).where(*conditions).subquery())
    )
    page = paginate_counted(
        lambda limit, offset: sa.select(key).where(*conditions).order_by(*order).limit(limit).offset(offset),
        total,
        arg=arg,
    )
    ids = list(page.items)
    rows = rows_of(ids)
    page.items = [rows[id_] for id_ in ids if id_ in rows]
    return page


def late_instalments_page(on: date, arg: str = "late_page"):
    """A page of the instalments late on `on`, oldest first, as plain rows."""

    def rows_of(ids):
        query = sa.select(
            Instalment.id,
            Instalment.pledge_id,
            Instalment.expected_on,
            Instalment.amount,
            Instalment.received_amount,
            *_pledge_columns(),
        ).where(Instalment.id.in_(ids))
        return {
            row[0]: LateInstalmentRow(row[0], row[1], row[2], row[3] - row[4], _pledge(*row[5:]))
            for row in db.session.execute(_with_pledge(query, Instalment.pledge_id))
        }

    return _page(_late(on), LATE_ORDER, Instalment.id, rows_of, arg)


def upcoming_deliverables_page(on: date, days: int = UPCOMING_DAYS, arg: str = "due_page"):
    """A page of the deliverables due within `days` of `on` or overdue, soonest first, as plain rows."""

    def rows_of(ids):
        query = sa.select(
            Deliverable.id,
            Deliverable.due_on,
            Deliverable.kind,
            Deliverable.title,
            Deliverable.status,
            *_pledge_columns(),
        ).where(Deliverable.id.in_(ids))
        return {
            row[0]: DueDeliverableRow(*row[:5], _pledge(*row[5:]))
            for row in db.session.execute(_with_pledge(query, Deliverable.pledge_id))
        }

    return _page(_due(on, days), DUE_ORDER, Deliverable.id, rows_of, arg)


def _pledge(currency: str, organisation: str, title: str) -> _PledgeOfRow:
    return _PledgeOfRow(currency, _Named(organisation), _Titled(title))
