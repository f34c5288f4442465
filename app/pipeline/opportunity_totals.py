"""Opportunity totals kept up to date in the transaction that changes an ask, for the board and the list.

The pipeline board's columns and the opportunity list's totals used to add up every opportunity (and join
every fiscal-year split to its ask) on each request. Two small summary tables are kept instead, in whole
cents so that sums stay exact on SQLite too, keyed by what the list filters on most (stage, owner,
restricted or not) and the currency:

- `opportunity_totals`: how many asks, and what they ask for in all.
- `opportunity_year_totals`: the same asks' fiscal-year split, per fiscal year (what the converted totals
  convert, each year at its plan rate).

A filter the keys do not hold (the funder's kind, a fiscal year) still adds up the asks it selects.

They are written in one place only: a session listener sees every flush that adds, changes or deletes an
opportunity or a split, reads those asks' shares from the database before the flush and again after it,
and adds the difference as atomic increments (`UPDATE ... SET x = x + d`, safe when two transactions change
asks of the same row at once). Reading the rows themselves, rather than attribute histories, keeps the rule
simple: a share is what the tables hold. `recompute_totals` derives the same rows from the records for the
test that proves them equal and for backfilling (the migration, the bench seed).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..common.db_types import enum_column
from ..common.kept_totals import add_to_rows, lock_for_replacing, replace_rows
from ..contributions.totals import cents
from ..extensions import db
from .models import Opportunity, OpportunitySplit
from .stages import Stage

KEY = ("stage", "owner_id", "is_restricted", "currency")
YEAR_KEY = (*KEY, "fiscal_year")
TOTAL_AMOUNTS = ("ask_count", "amount_cents")
YEAR_AMOUNTS = ("amount_cents",)
#: Where a flush notes the shares of the asks it touches, read before it, for the listener after it.
_NOTED = "opportunity_totals_before"


class OpportunityTotal(db.Model):
    """The asks at one stage, of one owner, restricted or not, in one currency: how many, and their amount."""

    __tablename__ = "opportunity_totals"

    stage: Mapped[Stage] = mapped_column(enum_column(Stage, length=30), primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    is_restricted: Mapped[bool] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    ask_count: Mapped[int] = mapped_column(default=0)
    #: The asks' amounts, in cents of `currency`.
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class OpportunityYearTotal(db.Model):
    """The same asks' split amounts that fall in one fiscal year."""

    __tablename__ = "opportunity_year_totals"

    stage: Mapped[Stage] = mapped_column(enum_column(Stage, length=30), primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    is_restricted: Mapped[bool] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(primary_key=True)
    #: The split amounts, in cents of `currency`.
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)


# --- Keeping them ------------------------------------------------------------------------------------------


def _shares(connection: sa.Connection, opportunity_ids: Iterable[int]) -> tuple[dict, dict]:
    """The shares of these asks as the tables hold them now: ({key: [asks, cents]}, {year key: [cents]})."""
    ids = sorted({id_ for id_ in opportunity_ids if id_ is not None})
    totals: dict[tuple, list[int]] = {}
    years: dict[tuple, list[int]] = {}
    if not ids:
        return totals, years
    asks = connection.execute(
        sa.select(Opportunity.id, *(getattr(Opportunity, name) for name in KEY), Opportunity.amount).where(
            Opportunity.id.in_(ids)
        )
    ).all()
    keys = {}
    for row in asks:
        key = (Stage(row.stage), row.owner_id, bool(row.is_restricted), row.currency)
        keys[row.id] = key
        total = totals.setdefault(key, [0, 0])
        total[0] += 1
        total[1] += cents(row.amount)
    for opportunity_id, fiscal_year, amount in connection.execute(
        sa.select(
            OpportunitySplit.opportunity_id, OpportunitySplit.fiscal_year, OpportunitySplit.amount
        ).where(OpportunitySplit.opportunity_id.in_(ids))
    ):
        if opportunity_id in keys:
            years.setdefault((*keys[opportunity_id], fiscal_year), [0])[0] += cents(amount)
    return totals, years


def _touched(session: Session) -> set[int]:
    """Ids of the asks this flush adds, changes or deletes, directly or through their splits."""
    ids = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Opportunity):
            ids.add(obj.id)
        elif isinstance(obj, OpportunitySplit):
            ids.add(obj.opportunity_id)
            if obj.opportunity is not None:
                ids.add(obj.opportunity.id)
    ids.discard(None)
    return ids


@event.listens_for(Session, "before_flush")
def _note_shares_before(session, flush_context, instances) -> None:
    touched = [
        obj
        for obj in (*session.new, *session.dirty, *session.deleted)
        if isinstance(obj, (Opportunity, OpportunitySplit))
    ]
    if not touched:
        session.info.pop(_NOTED, None)
        return
    ids = _touched(session)
    # New asks get their ids in the flush: the listener after it reads them from the same objects.
    session.info[_NOTED] = (ids, _shares(session.connection(), ids), touched)


@event.listens_for(Session, "after_flush")
def _keep_opportunity_totals(session, flush_context) -> None:
    noted = session.info.pop(_NOTED, None)
    if noted is None:
        return
    ids_before, (totals_before, years_before), touched = noted
    ids = set(ids_before)
    for obj in touched:
        ids.add(obj.id if isinstance(obj, Opportunity) else obj.opportunity_id)
    ids.discard(None)
    connection = session.connection()
    totals_after, years_after = _shares(connection, ids)
    add_to_rows(connection, OpportunityTotal, KEY, TOTAL_AMOUNTS, _minus(totals_after, totals_before))
    add_to_rows(connection, OpportunityYearTotal, YEAR_KEY, YEAR_AMOUNTS, _minus(years_after, years_before))


def _minus(after: dict, before: dict) -> dict:
    deltas = {}
    for key in after.keys() | before.keys():
        new, old = after.get(key), before.get(key)
        width = len(new or old)
        delta = [(new[i] if new else 0) - (old[i] if old else 0) for i in range(width)]
        if any(delta):
            deltas[key] = delta
    return deltas


# --- From the records ------------------------------------------------------------------------------------


def recompute_totals(connection: sa.Connection) -> tuple[dict, dict]:
    """Both tables' rows as the records make them, {key: amounts}, from every opportunity and split."""
    totals = {}
    for row in connection.execute(
        sa.select(
            *(getattr(Opportunity, name) for name in KEY),
            sa.func.count(),
            sa.func.sum(Opportunity.amount),
        ).group_by(*(getattr(Opportunity, name) for name in KEY))
    ):
        key = (Stage(row[0]), row[1], bool(row[2]), row[3])
        totals[key] = (row[4], cents(row[5]))
    years = {}
    for row in connection.execute(
        sa.select(
            *(getattr(Opportunity, name) for name in KEY),
            OpportunitySplit.fiscal_year,
            sa.func.sum(OpportunitySplit.amount),
        )
        .join(Opportunity, Opportunity.id == OpportunitySplit.opportunity_id)
        .group_by(*(getattr(Opportunity, name) for name in KEY), OpportunitySplit.fiscal_year)
    ):
        key = (Stage(row[0]), row[1], bool(row[2]), row[3], row[4])
        years[key] = (cents(row[5]),)
    return totals, years


def kept_totals(connection: sa.Connection) -> tuple[dict, dict]:
    """Both tables' rows as kept, in the shape of `recompute_totals` (rows of nothing left out)."""
    totals = {
        (Stage(row.stage), row.owner_id, bool(row.is_restricted), row.currency): (
            row.ask_count,
            row.amount_cents,
        )
        for row in connection.execute(sa.select(OpportunityTotal))
        if row.ask_count or row.amount_cents
    }
    years = {
        (Stage(row.stage), row.owner_id, bool(row.is_restricted), row.currency, row.fiscal_year): (
            row.amount_cents,
        )
        for row in connection.execute(sa.select(OpportunityYearTotal))
        if row.amount_cents
    }
    return totals, years


def rebuild_totals(connection: sa.Connection) -> None:
    """Replace both tables with `recompute_totals` (after bulk inserts that bypass the session: the bench
    seed; the migration backfills with the same rules in SQL)."""
    lock_for_replacing(connection, OpportunityTotal, OpportunityYearTotal)
    totals, years = recompute_totals(connection)
    replace_rows(connection, OpportunityTotal, KEY, TOTAL_AMOUNTS, totals)
    replace_rows(connection, OpportunityYearTotal, YEAR_KEY, YEAR_AMOUNTS, years)
