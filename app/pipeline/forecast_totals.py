"""Each active member's expected contribution kept per fiscal year, so that the plan and the board add up a
few thousand kept rows in SQL instead of assessing a thousand members on each request.

`member_year_forecasts` holds, per member and fiscal year (the current fiscal year and the next two), what
app/pipeline/services/expected_contributions.py computes for it: its group, the policy amount, weighted by
its payment record, and what this year's payments have not yet met, in cents, or the problem that stops
its assessment; and the current fiscal year the record was measured against.

They are written in one place: an `after_flush` listener notes every change to what a member's forecast
depends on (its invoices' totals, the member itself, its income groups and adjustments), and the touched
members' rows are computed again with the same code once per transaction, just before it commits (or
before the kept rows are read inside it): an invoice is flushed two or three times while it is issued, and
the annual run issues a batch of members in one transaction, so refreshing at each flush cost the run about
twenty queries an invoice. A policy change, a bulk statement on those tables, or rows measured against
another current year (a new fiscal year began) rebuild every row. The refresh reads the invoice totals'
kept rows (app/contributions/totals.py), which their own listener keeps at each flush. On PostgreSQL the
touched members are locked first (in id order, FOR NO KEY UPDATE), so that two transactions changing the
same member's records compute its row one after the other. `recompute_forecasts` derives the rows from the
records for the test that proves them equal and for backfilling (the migration, the bench seed).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..common.fiscal import current_fiscal_year
from ..common.kept_totals import lock_for_replacing, replace_rows
from ..contributions import totals as invoice_totals
from ..contributions.models import (
    ContributionAdjustment,
    ContributionPolicy,
    Invoice,
    Member,
    MemberIncomeGroup,
)
from ..contributions.totals import InvoiceYearTotal, cents, from_cents
from ..extensions import db

#: The fiscal years kept: the current one and the next two (the board's and the plan page's default).
KEPT_YEARS = 3
COLUMNS = ("current_year", "group", "currency", "expected_cents", "weighted_cents", "still_expected_cents",
           "problem")  # fmt: skip


class MemberYearForecast(db.Model):
    """One active member's expected contribution for one fiscal year, as the forecast rules compute it."""

    __tablename__ = "member_year_forecasts"

    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(primary_key=True)
    #: The current fiscal year the payment record was measured against (its three years before it).
    current_year: Mapped[int]
    group: Mapped[str] = mapped_column(sa.String(20))
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    #: None when the member cannot be assessed (see `problem`).
    expected_cents: Mapped[int | None] = mapped_column(sa.BigInteger)
    weighted_cents: Mapped[int | None] = mapped_column(sa.BigInteger)
    still_expected_cents: Mapped[int | None] = mapped_column(sa.BigInteger)
    problem: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (sa.Index("ix_member_year_forecasts_year", "fiscal_year", "group"),)


def kept_years(current_year: int) -> list[int]:
    return list(range(current_year, current_year + KEPT_YEARS))


# --- From the records -------------------------------------------------------------------------------------


def recompute_forecasts(member_ids=None, current_year: int | None = None) -> dict:
    """{(member id, year): row values} as the rules make them now, for these members (default every one)."""
    from .services.expected_contributions import member_forecasts_for

    current_year = current_year or current_fiscal_year()
    rows = {}
    for year, (forecasts, _record_years) in member_forecasts_for(
        kept_years(current_year), current_year, member_ids
    ).items():
        for forecast in forecasts:
            assessed = forecast.expected is not None and forecast.currency is not None
            rows[(forecast.member.id, year)] = (
                current_year,
                forecast.group,
                forecast.currency,
                cents(forecast.expected) if assessed else None,
                cents(forecast.weighted) if assessed else None,
                cents(forecast.still_expected) if assessed else None,
                forecast.problem,
            )
    return rows


def kept_forecasts() -> dict:
    """The kept rows, in the shape of `recompute_forecasts`."""
    bring_up_to_date()
    table = MemberYearForecast.__table__
    return {
        (row.member_id, row.fiscal_year): tuple(getattr(row, name) for name in COLUMNS)
        for row in db.session.execute(sa.select(table))
    }


def _write(connection: sa.Connection, rows: dict) -> None:
    table = MemberYearForecast.__table__
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    for (member_id, year), values in sorted(rows.items()):
        values = dict(zip(COLUMNS, values, strict=True))
        statement = insert(table).values(member_id=member_id, fiscal_year=year, **values)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["member_id", "fiscal_year"],
                set_={name: statement.excluded[name] for name in COLUMNS},
            )
        )


def refresh_members(member_ids) -> None:
    """Compute these members' rows again (an inactive member's go)."""
    connection = db.session.connection()
    ids = sorted(member_ids)
    if connection.dialect.name == "postgresql":
        connection.execute(
            # FOR NO KEY UPDATE: it queues refreshes of one member without conflicting with the key-share
            # locks that rows referring to the member (its payments, its invoice totals) take meanwhile.
            sa.select(Member.id).where(Member.id.in_(ids)).order_by(Member.id).with_for_update(key_share=True)
        )
    rows = recompute_forecasts(ids)
    connection.execute(
        sa.delete(MemberYearForecast).where(
            MemberYearForecast.member_id.in_(ids),
            sa.tuple_(MemberYearForecast.member_id, MemberYearForecast.fiscal_year).not_in(list(rows))
            if rows
            else sa.true(),
        )
    )
    _write(connection, rows)


def rebuild_forecasts() -> None:
    """Replace every row with `recompute_forecasts` (after bulk statements; the migration; the bench seed)."""
    connection = db.session.connection()
    lock_for_replacing(connection, MemberYearForecast)
    replace_rows(connection, MemberYearForecast, ("member_id", "fiscal_year"), COLUMNS, recompute_forecasts())


def rebuild_forecasts_on(connection: sa.Connection) -> None:
    """`rebuild_forecasts` through a given connection (the bench seed's, a migration's). The rules read
    through the app's session: unless it already uses that connection, a session joined to the connection's
    transaction (a savepoint) stands in for it meanwhile."""
    registry = db.session.registry
    if registry.has() and db.session().bind is connection:
        rebuild_forecasts()
        db.session.flush()
        return
    previous = registry() if registry.has() else None
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    registry.set(session)
    try:
        rebuild_forecasts()
        session.commit()  # releases the savepoint; the caller commits the transaction
    finally:
        session.close()
        if previous is not None:
            registry.set(previous)
        else:
            registry.clear()


# --- Keeping them -------------------------------------------------------------------------------------------


def _invoice_changed(obj, session) -> list[int]:
    """The members whose forecast an invoice's change moves (its member before and after), or []."""
    state = sa.inspect(obj)
    if obj in session.new or obj in session.deleted:
        return [obj.member_id]
    if any(state.attrs[key].history.has_changes() for key in invoice_totals.TRACKED):
        history = state.attrs["member_id"].history
        return [*history.deleted, obj.member_id]
    return []


def _stale() -> bool:
    """Whether the kept rows were measured against another current year than today's."""
    return bool(
        db.session.execute(
            sa.select(MemberYearForecast.member_id)
            .where(MemberYearForecast.current_year != current_fiscal_year())
            .limit(1)
        ).first()
    )


#: session.info's key for what the transaction changed and the kept rows do not show yet: a set of member
#: ids, or EVERYONE.
_PENDING = "member_forecasts_pending"
EVERYONE = "everyone"


@event.listens_for(Session, "after_flush")
def _note_touched_members(session, flush_context) -> None:
    members: set[int] = set()
    everyone = False
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, Invoice):
            members.update(_invoice_changed(obj, session))
        elif isinstance(obj, Member):
            members.add(obj.id)
        elif isinstance(obj, MemberIncomeGroup | ContributionAdjustment):
            members.add(obj.member_id)
        elif isinstance(obj, ContributionPolicy):
            everyone = True
    members.discard(None)
    pending = session.info.get(_PENDING)
    if everyone or pending == EVERYONE:
        session.info[_PENDING] = EVERYONE
    elif members:
        session.info[_PENDING] = (pending or set()) | members


def bring_up_to_date(session: Session | None = None) -> None:
    """Flush, then compute again the rows of the members this transaction touched (every row after a policy
    change, or when they were measured against another current year). Runs before each commit, and before
    the kept rows are read."""
    session = session or db.session()
    if session.dirty or session.new or session.deleted:
        session.flush()
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    if pending == EVERYONE or _stale():
        rebuild_forecasts()
    else:
        refresh_members(pending)


@event.listens_for(Session, "before_commit")
def _keep_forecasts(session) -> None:
    # SQLAlchemy calls this before a savepoint's release too: the annual run issues each member's invoice in a
    # savepoint of its batch's transaction, and refreshing there cost a refresh per invoice. The outermost
    # commit brings every member the savepoints touched up to date, once.
    if session.in_nested_transaction():
        return
    bring_up_to_date(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_after_rollback(session, transaction) -> None:
    # The outermost transaction ended: committed (nothing is pending) or rolled back (its changes are gone).
    # A savepoint's rollback keeps the list: computing an untouched member again changes nothing.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


_BULK_TRACKED = {Member.__tablename__, MemberIncomeGroup.__tablename__, ContributionAdjustment.__tablename__,
                 ContributionPolicy.__tablename__}  # fmt: skip


def _changes_forecasts(statement) -> bool:
    name = getattr(getattr(statement, "table", None), "name", None)
    if name in _BULK_TRACKED:
        return True
    if name == Invoice.__tablename__:
        values = getattr(statement, "_values", None) or {}
        if isinstance(statement, sa.Delete):
            return True
        return any(getattr(column, "key", column) in invoice_totals.TRACKED for column in values)
    return False


@event.listens_for(Session, "do_orm_execute")
def _rebuild_after_bulk(state):
    if not (state.is_insert or state.is_update or state.is_delete) or not _changes_forecasts(state.statement):
        return None
    result = state.invoke_statement()
    rebuild_forecasts()
    return result


# --- Reading them -------------------------------------------------------------------------------------------


def kept_group_sums(fiscal_years, current_year: int):
    """Year -> (groups, (problem count, a problem, whether any member is assessed)) from the kept rows, in
    two queries; None when the kept rows cannot answer (a year outside those kept, another current year,
    or no rows for a year)."""
    from .services.expected_contributions import GROUP_ORDER, GroupForecast

    years = list(fiscal_years)
    if current_year != current_fiscal_year() or not set(years) <= set(kept_years(current_year)):
        return None
    bring_up_to_date()
    kept = MemberYearForecast
    rows = db.session.execute(
        sa.select(
            kept.fiscal_year,
            kept.group,
            kept.currency,
            sa.func.count(),
            sa.func.count(kept.expected_cents),
            sa.func.sum(kept.expected_cents),
            sa.func.sum(kept.weighted_cents),
            sa.func.sum(kept.still_expected_cents),
            sa.func.count(kept.problem),
            sa.func.min(kept.problem),
            sa.func.min(kept.current_year),
            sa.func.max(kept.current_year),
        )
        .where(kept.fiscal_year.in_(years))
        .group_by(kept.fiscal_year, kept.group, kept.currency)
    ).all()
    if {row[0] for row in rows} != set(years) or any(
        row[10] != current_year or row[11] != current_year for row in rows
    ):
        return None
    result = {year: ({key: GroupForecast(key) for key in GROUP_ORDER}, [0, None, False]) for year in years}
    for year, group_key, currency, count, assessed, expected, weighted, still, problems, problem, *_ in rows:
        groups, summary = result[year]
        group = groups[group_key]
        group.members += count
        if assessed and currency is not None:
            group.expected.add_all({currency: from_cents(expected)})
            group.weighted.add_all({currency: from_cents(weighted)})
            group.still_expected.add_all({currency: from_cents(still)})
            summary[2] = True
        summary[0] += problems
        if problem is not None and (summary[1] is None or problem < summary[1]):
            summary[1] = problem
    invoiced = db.session.execute(
        sa.select(
            kept.fiscal_year,
            kept.group,
            InvoiceYearTotal.currency,
            sa.func.sum(InvoiceYearTotal.invoiced_cents - InvoiceYearTotal.credited_cents),
            sa.func.sum(InvoiceYearTotal.paid_cents),
        )
        .join(
            InvoiceYearTotal,
            sa.and_(
                InvoiceYearTotal.member_id == kept.member_id, InvoiceYearTotal.fiscal_year == kept.fiscal_year
            ),
        )
        .where(kept.fiscal_year.in_(years), InvoiceYearTotal.invoice_count > 0)
        .group_by(kept.fiscal_year, kept.group, InvoiceYearTotal.currency)
    )
    for year, group_key, currency, net, paid in invoiced:
        group = result[year][0][group_key]
        group.invoiced.add_all({currency: from_cents(net)})
        group.paid.add_all({currency: from_cents(paid)})
    return {year: (groups, tuple(summary)) for year, (groups, summary) in result.items()}
