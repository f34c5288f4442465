"""The plan's totals kept up to date in the transaction that changes the records they sum.

The plan page, the board dashboard and the board pack used to add up every opportunity split, pledge
instalment, gift and contribution payment on each request. One small table is kept instead, in whole cents
so that sums stay exact on SQLite too: `plan_totals`, one row per measure, stage, fiscal year, plan source
and currency.

- `pipeline`: the open asks' fiscal-year splits, per stage: how many splits, their amount, and their amount
  times the ask's probability (in cent-percent, so that the weighted sum is exact).
- `asks`: the open asks themselves per stage (fiscal year 0: an ask is not per year), with their amount.
- `instalments`: pledge instalments per fiscal year they fall in.
- `gifts`: gifts per fiscal year received, less what is applied to instalments (counted there).
- `payments`: contribution payments per fiscal year received, less refunds (source: country contributions).

How they are kept: before a flush, the listener reads from the database what the records the flush touches
add up to (by ask, pledge, gift, payment or organisation: an organisation's kind decides the source); after
the flush it reads them again and adds the difference, as atomic increments (`UPDATE ... SET x = x + d`,
safe when two transactions touch the same row). Reading the records themselves, rather than the objects'
attribute history, keeps every kind of change right: a stage move, a new split, a deleted ask whose splits
the database cascades away, an organisation whose kind changes. A bulk statement on one of these tables
that bypasses the unit of work (the organisation merge repoints rows with UPDATE, the demo seed inserts
gifts in bulk) rebuilds the whole table right after it runs. `recompute_plan_totals` derives the rows from
the records, for the test that proves them equal and for backfilling (the migration, the bench seed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..common.fiscal import fiscal_year_of
from ..common.kept_totals import add_to_rows, lock_for_replacing, replace_rows
from ..contributions.models import Payment
from ..contributions.totals import cents
from ..donors.models import Gift, Organisation
from ..extensions import db
from .models import GiftApplication, Instalment, Opportunity, OpportunitySplit, Pledge
from .sources import Source, source_of_kind
from .stages import OPEN_STAGES

PIPELINE, ASKS, INSTALMENTS, GIFTS, PAYMENTS = "pipeline", "asks", "instalments", "gifts", "payments"
KEY = ("measure", "stage", "fiscal_year", "source", "currency")
AMOUNTS = ("count", "amount_cents", "weighted")
OPEN_STAGE_VALUES = [stage.value for stage in OPEN_STAGES]


class PlanTotal(db.Model):
    """What one measure adds up to for a stage (or ''), fiscal year (0 for asks), source and currency."""

    __tablename__ = "plan_totals"

    measure: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    stage: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    #: For the pipeline: the splits' amounts in cents times their ask's probability in percent.
    weighted: Mapped[int] = mapped_column(sa.BigInteger, default=0)


#: Whether the records are dated after a day (the kept totals hold everything; an earlier as-of reads the
#: records): each latest date is one index lookup (pledges' agreement dates: ix_pledges_agreed_on, in
#: app/pipeline/indexes.py).
sa.Index("ix_opportunities_created_at", Opportunity.created_at)
#: The largest open asks of a currency, read from the top of this index (the board's top asks).
sa.Index("ix_opportunities_currency_amount", Opportunity.currency, Opportunity.amount)


# --- What records add up to ---------------------------------------------------------------------------------


def _add(totals: dict, key: tuple, count: int, amount: int, weighted: int = 0) -> None:
    row = totals.setdefault(key, [0, 0, 0])
    row[0] += count
    row[1] += amount
    row[2] += weighted


def _where(filters: list) -> list:
    """None for every record, else the records any filter matches (OR: each record once)."""
    return [] if filters is None else [sa.or_(sa.false(), *filters)]


def _sum_records(connection: sa.Connection, touched: Touched | None) -> dict:
    """{key: [count, cents, weighted]} of the records `touched` names (every record when None)."""
    totals: dict = {}

    def ids_filter(column, ids):
        return [column.in_(sorted(ids))] if ids else []

    def filters(*pairs):
        if touched is None:
            return None
        found = []
        for column, ids in pairs:
            found += ids_filter(column, ids)
        return found

    organisations = touched and touched.organisations
    asks = filters((Opportunity.id, touched and touched.asks), (Opportunity.organisation_id, organisations))
    if asks is None or asks:
        for stage, year, kind, currency, amount, probability in connection.execute(
            sa.select(
                Opportunity.stage,
                OpportunitySplit.fiscal_year,
                Organisation.kind,
                Opportunity.currency,
                OpportunitySplit.amount,
                Opportunity.probability,
            )
            .join(Opportunity, Opportunity.id == OpportunitySplit.opportunity_id)
            .join(Organisation, Organisation.id == Opportunity.organisation_id)
            .where(Opportunity.stage.in_(OPEN_STAGE_VALUES), *_where(asks))
        ):
            share = cents(amount)
            key = (PIPELINE, _value(stage), year, source_of_kind(kind).value, currency)
            _add(totals, key, 1, share, share * int(probability))
        for stage, kind, currency, amount in connection.execute(
            sa.select(Opportunity.stage, Organisation.kind, Opportunity.currency, Opportunity.amount)
            .join(Organisation, Organisation.id == Opportunity.organisation_id)
            .where(Opportunity.stage.in_(OPEN_STAGE_VALUES), *_where(asks))
        ):
            _add(totals, (ASKS, _value(stage), 0, source_of_kind(kind).value, currency), 1, cents(amount))

    pledges = filters((Pledge.id, touched and touched.pledges), (Pledge.organisation_id, organisations))
    if pledges is None or pledges:
        for year, kind, currency, amount in connection.execute(
            sa.select(Instalment.fiscal_year, Organisation.kind, Pledge.currency, Instalment.amount)
            .join(Pledge, Pledge.id == Instalment.pledge_id)
            .join(Organisation, Organisation.id == Pledge.organisation_id)
            .where(*_where(pledges))
        ):
            _add(totals, (INSTALMENTS, "", year, source_of_kind(kind).value, currency), 1, cents(amount))

    gifts = filters((Gift.id, touched and touched.gifts), (Gift.organisation_id, organisations))
    if gifts is None or gifts:
        applied = sa.select(
            GiftApplication.gift_id, sa.func.sum(GiftApplication.amount).label("applied")
        ).group_by(GiftApplication.gift_id)
        if touched is not None and touched.gifts and not touched.organisations:
            applied = applied.where(GiftApplication.gift_id.in_(sorted(touched.gifts)))
        applied = applied.subquery("applied")
        for received_on, kind, currency, amount, applied_amount in connection.execute(
            sa.select(Gift.received_on, Organisation.kind, Gift.currency, Gift.amount, applied.c.applied)
            .join(Organisation, Organisation.id == Gift.organisation_id)
            .outerjoin(applied, applied.c.gift_id == Gift.id)
            .where(*_where(gifts))
        ):
            key = (GIFTS, "", fiscal_year_of(_day(received_on)), source_of_kind(kind).value, currency)
            _add(totals, key, 1, cents(amount) - cents(applied_amount))

    payments = filters((Payment.id, touched and touched.payments))
    if payments is None or payments:
        for received_on, currency, amount, refunded in connection.execute(
            sa.select(Payment.received_on, Payment.currency, Payment.amount, Payment.refunded_amount).where(
                *_where(payments)
            )
        ):
            year = fiscal_year_of(_day(received_on))
            key = (PAYMENTS, "", year, Source.COUNTRY_CONTRIBUTIONS.value, currency)
            _add(totals, key, 1, cents(amount) - cents(refunded))
    return totals


def _value(stage) -> str:
    return getattr(stage, "value", stage)


def _day(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def recompute_plan_totals(connection: sa.Connection) -> dict:
    """The table's rows as the records make them, {key: (count, cents, weighted)}; rows of nothing left
    out."""
    return {key: tuple(amounts) for key, amounts in _sum_records(connection, None).items() if any(amounts)}


def kept_plan_totals(connection: sa.Connection) -> dict:
    """The table's rows as kept, in the shape of `recompute_plan_totals`."""
    rows = connection.execute(sa.select(PlanTotal))
    kept = {
        tuple(getattr(row, name) for name in KEY): tuple(getattr(row, name) for name in AMOUNTS)
        for row in rows
    }
    return {key: amounts for key, amounts in kept.items() if any(amounts)}


def rebuild_plan_totals(connection: sa.Connection) -> None:
    """Replace the table with `recompute_plan_totals` (after bulk statements that bypass the session)."""
    lock_for_replacing(connection, PlanTotal)
    replace_rows(connection, PlanTotal, KEY, AMOUNTS, recompute_plan_totals(connection))


# --- Keeping them ---------------------------------------------------------------------------------------


class Touched:
    """The records a flush touches, by what the sums are read by."""

    def __init__(self) -> None:
        self.asks: set[int] = set()
        self.pledges: set[int] = set()
        self.gifts: set[int] = set()
        self.payments: set[int] = set()
        self.organisations: set[int] = set()

    def __bool__(self) -> bool:
        return bool(self.asks or self.pledges or self.gifts or self.payments or self.organisations)

    def update(self, other: Touched) -> None:
        for name in ("asks", "pledges", "gifts", "payments", "organisations"):
            getattr(self, name).update(getattr(other, name))


def _id_of(obj, key: str, relation: str) -> int | None:
    value = getattr(obj, key)
    if value is None:
        related = getattr(obj, relation)
        value = related.id if related is not None else None
    return value


def _touched(objects: Iterable) -> Touched:
    touched = Touched()
    for obj in objects:
        if isinstance(obj, Opportunity):
            touched.asks.add(obj.id)
        elif isinstance(obj, OpportunitySplit):
            touched.asks.add(_id_of(obj, "opportunity_id", "opportunity"))
        elif isinstance(obj, Pledge):
            touched.pledges.add(obj.id)
        elif isinstance(obj, Instalment):
            touched.pledges.add(_id_of(obj, "pledge_id", "pledge"))
        elif isinstance(obj, Gift):
            touched.gifts.add(obj.id)
        elif isinstance(obj, GiftApplication):
            touched.gifts.add(_id_of(obj, "gift_id", "gift"))
        elif isinstance(obj, Payment):
            touched.payments.add(obj.id)
        elif isinstance(obj, Organisation):
            state = sa.inspect(obj)
            if state.deleted or state.attrs["kind"].history.has_changes():
                touched.organisations.add(obj.id)
    for ids in (touched.asks, touched.pledges, touched.gifts, touched.payments, touched.organisations):
        ids.discard(None)
    return touched


def _session_objects(session: Session):
    return [*session.new, *session.dirty, *session.deleted]


@event.listens_for(Session, "before_flush")
def _read_before(session, flush_context, instances) -> None:
    # New records add nothing before; the records they belong to (a new split's ask) are read all the same.
    touched = _touched(_session_objects(session))
    if not touched:
        return
    before = session.info.setdefault("plan_totals_before", {})
    seen: Touched = session.info.setdefault("plan_totals_touched", Touched())
    for key, amounts in _sum_records(session.connection(), touched).items():
        row = before.setdefault(key, [0, 0, 0])
        for index, amount in enumerate(amounts):
            row[index] += amount
    seen.update(touched)


@event.listens_for(Session, "after_flush")
def _add_differences(session, flush_context) -> None:
    touched = session.info.pop("plan_totals_touched", None) or Touched()
    before = session.info.pop("plan_totals_before", {})
    touched.update(_touched(_session_objects(session)))
    if not touched:
        return
    connection = session.connection()
    after = _sum_records(connection, touched)
    deltas = {}
    for key in set(before) | set(after):
        old, new = before.get(key, [0, 0, 0]), after.get(key, [0, 0, 0])
        difference = [n - o for n, o in zip(new, old, strict=True)]
        if any(difference):
            deltas[key] = difference
    add_to_rows(connection, PlanTotal, KEY, AMOUNTS, deltas)


#: Tables whose bulk statements change what the totals sum (organisations: only a change of kind).
_BULK_TRACKED = {
    model.__tablename__
    for model in (Opportunity, OpportunitySplit, Pledge, Instalment, Gift, GiftApplication, Payment)
}


def _changes_totals(statement) -> bool:
    table = getattr(statement, "table", None)
    name = getattr(table, "name", None)
    if name in _BULK_TRACKED:
        return True
    if name == Organisation.__tablename__ and isinstance(statement, sa.Update):
        values = getattr(statement, "_values", None) or {}
        return any(getattr(column, "key", column) in ("kind", "id") for column in values)
    return False


@event.listens_for(Session, "do_orm_execute")
def _rebuild_after_bulk(state) -> sa.Result | None:
    if not (state.is_insert or state.is_update or state.is_delete) or not _changes_totals(state.statement):
        return None
    result = state.invoke_statement()
    rebuild_plan_totals(state.session.connection())
    return result


# --- Reading them ---------------------------------------------------------------------------------------


def totals_hold_everything_until(as_of: date) -> bool:
    """Whether no record the totals sum is dated after `as_of`, so that the kept totals are the figures as
    of that day: four EXISTS in one query, each an index lookup."""
    from datetime import UTC, datetime, time

    end_of_day = datetime.combine(as_of, time.max, tzinfo=UTC)
    later = db.session.execute(
        sa.select(
            sa.exists().where(Gift.received_on > as_of),
            sa.exists().where(Payment.received_on > as_of),
            sa.exists().where(Pledge.agreed_on > as_of),
            sa.exists().where(Opportunity.created_at > end_of_day),
        )
    ).one()
    return not any(later)


def read_totals(years: Iterable[int]) -> list[PlanTotal]:
    """The kept rows the plan and the board read, in one query: the pipeline and the asks of every year and
    stage (the board shows them all), the secured money of these fiscal years."""
    return list(
        db.session.scalars(
            sa.select(PlanTotal).where(
                sa.or_(
                    PlanTotal.measure.in_([PIPELINE, ASKS]),
                    sa.and_(
                        PlanTotal.measure.in_([INSTALMENTS, GIFTS, PAYMENTS]),
                        PlanTotal.fiscal_year.in_(list(years)),
                    ),
                )
            )
        )
    )
