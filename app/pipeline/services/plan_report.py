"""The figures the plan page, the board dashboard and the board pack all show: one service computes them.

Secured money per fiscal year: won pledges' instalments falling in the year, gifts received in the year less
what is applied to instalments, and contribution payments received in the year.
Weighted pipeline: open opportunities' split for the year times their probability; for country
contributions, the expected contributions (weighted by each member's payment record) that the year's
payments have not yet met.
Everything is summed per currency and converted with the plan's rates (see plan_figures).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

import sqlalchemy as sa

from ...common.fiscal import fiscal_year, fiscal_year_of
from ...common.money import quantize
from ...common.time import today
from ...contributions.models import Payment
from ...donors.models import Gift, Organisation
from ...extensions import db
from .. import plan_totals
from ..models import GiftApplication, Instalment, Opportunity, OpportunitySplit, Pledge, StageChange
from ..sources import Source, source_of_kind
from ..stages import DEFAULT_PROBABILITIES, OPEN_STAGES
from . import plan as plan_service
from .expected_contributions import ContributionForecast, contribution_forecasts
from .plan_figures import Figure, PlanFigures, plan_figures

ZERO = Decimal("0.00")


@dataclass
class PlanReport:
    as_of: date
    figures: PlanFigures
    contributions: dict[int, ContributionForecast]
    #: The kept pipeline rows (every stage and year) when the figures came from the kept totals, for the
    #: board's pipeline by stage and year; None when they were read from the records (an earlier as-of).
    pipeline_rows: list | None = None

    @property
    def years(self) -> list[int]:
        return self.figures.years

    @property
    def reporting_currency(self) -> str:
        return self.figures.reporting_currency


def _year_received(received_on, years: list[int], as_of: date):
    """A CASE that tells which of `years` a receipt date falls in (up to `as_of`), and the condition that
    it falls in one of them: what lets one query sum several fiscal years."""
    periods = [(year, fiscal_year(year)) for year in years]
    bounds = [(year, period.starts_on, min(period.ends_on, as_of)) for year, period in periods]
    bounds = [(year, start, end) for year, start, end in bounds if start <= end]
    if not bounds:
        return sa.null(), sa.false()
    year_of = sa.case(*[(received_on.between(start, end), year) for year, start, end in bounds])
    return year_of, sa.or_(*[received_on.between(start, end) for _year, start, end in bounds])


def contribution_payments(years: list[int], as_of: date) -> list[Figure]:
    """Contribution payments received per fiscal year up to `as_of` (net of refunds), per currency: one
    query for all the years."""
    year_of, in_years = _year_received(Payment.received_on, years, as_of)
    rows = db.session.execute(
        sa.select(
            year_of.label("year"), Payment.currency, sa.func.sum(Payment.amount - Payment.refunded_amount)
        )
        .where(in_years)
        .group_by(year_of, Payment.currency)
    )
    figures = [
        Figure(year, Source.COUNTRY_CONTRIBUTIONS, quantize(Decimal(amount), currency), currency)
        for year, currency, amount in rows
        if amount
    ]
    return sorted(figures, key=lambda figure: (years.index(figure.fiscal_year), figure.currency))


def pledge_instalments(years: list[int], as_of: date) -> list[Figure]:
    """Won pledges' instalments per fiscal year they fall in, agreed by `as_of`, per source and currency."""
    rows = db.session.execute(
        sa.select(Instalment.fiscal_year, Organisation.kind, Pledge.currency, sa.func.sum(Instalment.amount))
        .join(Pledge, Pledge.id == Instalment.pledge_id)
        .join(Organisation, Organisation.id == Pledge.organisation_id)
        .where(Instalment.fiscal_year.in_(years), Pledge.agreed_on <= as_of)
        .group_by(Instalment.fiscal_year, Organisation.kind, Pledge.currency)
    )
    return [
        Figure(year, source_of_kind(kind), quantize(Decimal(amount), currency), currency)
        for year, kind, currency, amount in rows
        if amount
    ]


def _applied_per_gift():
    return (
        sa.select(GiftApplication.gift_id, sa.func.sum(GiftApplication.amount).label("applied"))
        .group_by(GiftApplication.gift_id)
        .subquery("applied_per_gift")
    )


def gifts_without_pledge(years: list[int], as_of: date) -> list[Figure]:
    """Gifts received in each year up to `as_of`, less what is applied to instalments (counted there): one
    query for all the years."""
    applied = _applied_per_gift()
    year_of, in_years = _year_received(Gift.received_on, years, as_of)
    rows = db.session.execute(
        sa.select(
            year_of.label("year"),
            Organisation.kind,
            Gift.currency,
            sa.func.sum(Gift.amount - sa.func.coalesce(applied.c.applied, 0)),
        )
        .join(Organisation, Organisation.id == Gift.organisation_id)
        .outerjoin(applied, applied.c.gift_id == Gift.id)
        .where(in_years)
        .group_by(year_of, Organisation.kind, Gift.currency)
    )
    figures = [
        Figure(year, source_of_kind(kind), quantize(Decimal(amount), currency), currency)
        for year, kind, currency, amount in rows
        if amount and Decimal(amount) > 0
    ]
    return sorted(figures, key=lambda figure: (years.index(figure.fiscal_year), figure.currency))


def weighted_pipeline(years: list[int], as_of: date) -> list[Figure]:
    """Open opportunities' split for each year times their probability, per source and currency, as of a
    day: each ask at the stage it had then (see `ask_as_of`)."""
    stage, probability = ask_as_of(as_of)
    rows = db.session.execute(
        sa.select(
            OpportunitySplit.fiscal_year,
            Organisation.kind,
            Opportunity.currency,
            sa.func.sum(OpportunitySplit.amount * probability),
        )
        .join(Opportunity, Opportunity.id == OpportunitySplit.opportunity_id)
        .join(Organisation, Organisation.id == Opportunity.organisation_id)
        .where(
            OpportunitySplit.fiscal_year.in_(years),
            stage.in_([stage.value for stage in OPEN_STAGES]),
            Opportunity.created_at <= end_of_day(as_of),
        )
        .group_by(OpportunitySplit.fiscal_year, Organisation.kind, Opportunity.currency)
    )
    totals: dict[tuple[int, Source, str], Decimal] = {}
    for year, kind, currency, total in rows:
        key = (year, source_of_kind(kind), currency)
        totals[key] = totals.get(key, ZERO) + Decimal(total or 0)
    return [
        Figure(year, source, quantize(total / 100, currency), currency)
        for (year, source, currency), total in totals.items()
        if total
    ]


def ask_as_of(as_of: date):
    """SQL expressions of an ask's stage and probability on `as_of`: the stage its latest change up to that
    day moved it to (before its first change, the stage that change left; without history, its stage now),
    and its probability now if that is its stage now, else that stage's default probability. Today or
    later they are the ask's own columns."""
    if as_of >= today():
        return Opportunity.stage, Opportunity.probability
    moment = end_of_day(as_of)
    reached = (
        sa.select(StageChange.to_stage)
        .where(StageChange.opportunity_id == Opportunity.id, StageChange.changed_at <= moment)
        .order_by(StageChange.changed_at.desc(), StageChange.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    left = (
        sa.select(StageChange.from_stage)
        .where(StageChange.opportunity_id == Opportunity.id, StageChange.changed_at > moment)
        .order_by(StageChange.changed_at, StageChange.id)
        .limit(1)
        .scalar_subquery()
    )
    text = sa.String(30)
    stage = sa.func.coalesce(
        sa.type_coerce(reached, text), sa.type_coerce(left, text), sa.type_coerce(Opportunity.stage, text)
    )
    probability = sa.case(
        (stage == sa.type_coerce(Opportunity.stage, text), Opportunity.probability),
        *[(stage == value.value, default) for value, default in DEFAULT_PROBABILITIES.items()],
        else_=Opportunity.probability,
    )
    return stage, probability


def end_of_day(day: date) -> datetime:
    """The last moment of a day in UTC, to compare timestamps with an as-of date."""
    return datetime.combine(day, time.max, tzinfo=UTC)


def expected_contributions(forecasts: dict[int, ContributionForecast]) -> list[Figure]:
    """Per year and currency, the weighted expected contributions not yet met by the year's payments."""
    return [
        Figure(year, Source.COUNTRY_CONTRIBUTIONS, amount, currency)
        for year, forecast in forecasts.items()
        for currency, amount in forecast.total.still_expected.by_currency.items()
        if amount
    ]


def kept_figures(years: list[int], rows) -> tuple[list[Figure], list[Figure]]:
    """Secured and weighted figures from the kept totals' rows (see app/pipeline/plan_totals.py)."""
    secured: dict[tuple[int, Source, str], int] = {}
    weighted: dict[tuple[int, Source, str], int] = {}
    for row in rows:
        if row.fiscal_year not in years:
            continue
        key = (row.fiscal_year, Source(row.source), row.currency)
        if row.measure == plan_totals.PIPELINE:
            weighted[key] = weighted.get(key, 0) + row.weighted
        elif row.measure in (plan_totals.INSTALMENTS, plan_totals.GIFTS, plan_totals.PAYMENTS):
            secured[key] = secured.get(key, 0) + row.amount_cents
    return (
        [
            Figure(year, source, Decimal(amount).scaleb(-2), currency)
            for (year, source, currency), amount in secured.items()
            if amount
        ],
        [
            Figure(year, source, quantize(Decimal(amount).scaleb(-4), currency), currency)
            for (year, source, currency), amount in weighted.items()
            if amount
        ],
    )


def plan_report(years: list[int], as_of: date | None = None, rates=None) -> PlanReport:
    """Target, secured, weighted and gap per year and source, as of a date (default today). `rates` is a
    rate table holding at least these years' rates, for a caller that read a wider one already.

    Today (and later, when nothing is dated after that day) the money comes from the kept totals; an
    earlier day reads the records, each ask at the stage it had then."""
    as_of = as_of or today()
    rates = plan_service.rate_table(years) if rates is None else rates
    reporting_currency = plan_service.reporting_currency()
    targets = {key: target.amount for key, target in plan_service.targets(years).items()}
    forecasts = contribution_forecasts(years, rates, reporting_currency, current_year=fiscal_year_of(as_of))
    pipeline_rows = None
    if as_of >= today() and plan_totals.totals_hold_everything_until(as_of):
        rows = plan_totals.read_totals(years)
        secured, weighted = kept_figures(years, rows)
        pipeline_rows = [row for row in rows if row.measure in (plan_totals.PIPELINE, plan_totals.ASKS)]
    else:
        secured = (
            contribution_payments(years, as_of)
            + pledge_instalments(years, as_of)
            + gifts_without_pledge(years, as_of)
        )
        weighted = weighted_pipeline(years, as_of)
    weighted = expected_contributions(forecasts) + weighted
    figures = plan_figures(years, targets, secured, weighted, rates, reporting_currency)
    return PlanReport(as_of, figures, forecasts, pipeline_rows)
