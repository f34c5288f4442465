"""The board dashboard and the board pack: one service computes every figure both show, as of a date."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ...common.fiscal import fiscal_year_of
from ...common.time import today
from ...contributions.services.arrears import FlaggedArrears, flagged_arrears
from ...extensions import db
from ..models import Opportunity, OpportunitySplit
from ..stages import OPEN_STAGES, Stage
from . import deadlines
from . import plan as plan_service
from .arithmetic import weighted
from .conversion import MissingPlanRate, to_reporting
from .expected_contributions import ContributionForecast
from .plan_report import PlanReport, end_of_day, plan_report

ZERO = Decimal("0.00")
TOP_OPPORTUNITIES = 10


@dataclass
class PipelineCell:
    """Open asks of one stage or one fiscal year: how many, their amount and weighted value, converted."""

    label: str
    key: str | int
    count: int = 0
    amount: Decimal | None = ZERO
    weighted: Decimal | None = ZERO
    by_currency: dict[str, Decimal] = field(default_factory=dict)

    def add(
        self, amount: Decimal | None, weighted_amount: Decimal | None, currency: str, raw: Decimal
    ) -> None:
        self.by_currency[currency] = self.by_currency.get(currency, ZERO) + raw
        if amount is None or self.amount is None:
            self.amount = None
        else:
            self.amount += amount
        if weighted_amount is None or self.weighted is None:
            self.weighted = None
        else:
            self.weighted += weighted_amount


@dataclass
class TopOpportunity:
    opportunity: Opportunity
    converted: Decimal | None
    weighted: Decimal | None


@dataclass
class BoardReport:
    as_of: date
    plan: PlanReport
    by_stage: list[PipelineCell]
    by_year: list[PipelineCell]
    top: list[TopOpportunity]
    arrears: FlaggedArrears
    #: The first few of each list, with how many there are (the deadlines page lists them all).
    upcoming_deliverables: deadlines.Shortlist
    late_instalments: deadlines.Shortlist
    missing_rates: list[MissingPlanRate]

    @property
    def reporting_currency(self) -> str:
        return self.plan.reporting_currency

    @property
    def contributions(self) -> ContributionForecast:
        """Collection by income group for the current fiscal year."""
        return self.plan.contributions[self.plan.years[0]]


def _open_asks(as_of: date):
    """The condition an open ask counted on `as_of` meets."""
    return sa.and_(
        Opportunity.stage.in_([stage.value for stage in OPEN_STAGES]),
        Opportunity.created_at <= end_of_day(as_of),
    )


def _stage_counts(as_of: date) -> dict[Stage, int]:
    """Open asks per stage, with or without a split (one query)."""
    rows = db.session.execute(
        sa.select(Opportunity.stage, sa.func.count()).where(_open_asks(as_of)).group_by(Opportunity.stage)
    )
    return {Stage(stage): count for stage, count in rows}


def _split_groups(as_of: date):
    """The open asks' splits, identical ones (same stage, currency, year, probability and amount) counted
    together: each split is converted and weighted on its own as before, in one query whatever their
    number, and the per-split arithmetic runs once per distinct split rather than once per split."""
    return db.session.execute(
        sa.select(
            Opportunity.stage,
            Opportunity.currency,
            Opportunity.probability,
            OpportunitySplit.fiscal_year,
            OpportunitySplit.amount,
            sa.func.count(),
        )
        .join(OpportunitySplit, OpportunitySplit.opportunity_id == Opportunity.id)
        .where(_open_asks(as_of))
        .group_by(
            Opportunity.stage,
            Opportunity.currency,
            Opportunity.probability,
            OpportunitySplit.fiscal_year,
            OpportunitySplit.amount,
        )
    ).all()


def _split_figures(
    split_amount: Decimal, probability: int, currency: str, fiscal_year: int, rates, reporting
):
    """One split converted, and its weighted share converted; (None, None, missing rate) without a rate."""
    conversion = to_reporting(split_amount, currency, fiscal_year, rates, reporting)
    if isinstance(conversion, MissingPlanRate):
        return None, None, conversion
    share_weighted = weighted(split_amount, probability, currency)
    weighted_conversion = to_reporting(share_weighted, currency, fiscal_year, rates, reporting)
    return conversion.amount, weighted_conversion.amount, None


#: How many asks the SQL ranking hands to the exact ranking in Python: more than shown, so that the float
#: arithmetic the ranking uses cannot leave out an ask whose exact total ranks among the top ones.
TOP_CANDIDATES = 5 * TOP_OPPORTUNITIES


def _top_opportunities(as_of: date, rates, reporting: str) -> list[TopOpportunity]:
    """The largest open asks in the reporting currency (asks with a missing rate last, by id): SQL ranks
    the asks by their splits converted approximately, then the candidates are converted exactly (three
    queries)."""
    keys = sorted(rates)
    rate_of = sa.case(
        (Opportunity.currency == reporting, sa.literal(1.0)),
        *[
            (
                sa.and_(OpportunitySplit.fiscal_year == year, Opportunity.currency == currency),
                sa.literal(1.0 / float(rates[(year, currency)])),
            )
            for year, currency in keys
            if rates[(year, currency)] and rates[(year, currency)] > 0
        ],
        else_=sa.null(),
    )
    amount = sa.cast(OpportunitySplit.amount, sa.Float)
    missing = sa.func.coalesce(
        sa.func.max(sa.case((sa.and_(rate_of.is_(None), OpportunitySplit.amount != 0), 1), else_=0)),
        0,
    )
    converted = sa.func.coalesce(sa.func.sum(amount * rate_of), 0.0)
    ranked = (
        sa.select(Opportunity.id)
        .outerjoin(OpportunitySplit, OpportunitySplit.opportunity_id == Opportunity.id)
        .where(_open_asks(as_of))
        .group_by(Opportunity.id)
        .order_by(missing, sa.case((missing == 1, 0.0), else_=converted).desc(), Opportunity.id)
        .limit(TOP_CANDIDATES)
    )
    ids = list(db.session.scalars(ranked))
    candidates = db.session.scalars(
        sa.select(Opportunity).where(Opportunity.id.in_(ids)).options(selectinload(Opportunity.splits))
    ).all()
    top = []
    for opportunity in candidates:
        total_converted: Decimal | None = ZERO
        total_weighted: Decimal | None = ZERO
        for split in opportunity.splits:
            amount_converted, weighted_amount, _missing = _split_figures(
                split.amount,
                opportunity.probability,
                opportunity.currency,
                split.fiscal_year,
                rates,
                reporting,
            )
            total_converted = (
                None
                if amount_converted is None or total_converted is None
                else total_converted + amount_converted
            )
            total_weighted = (
                None
                if weighted_amount is None or total_weighted is None
                else total_weighted + weighted_amount
            )
        top.append(TopOpportunity(opportunity, total_converted, total_weighted))
    top.sort(key=lambda item: (item.converted is None, -(item.converted or ZERO), item.opportunity.id))
    return top[:TOP_OPPORTUNITIES]


def board_report(as_of: date | None = None) -> BoardReport:
    """Plan against actuals for three years, the open pipeline by stage and year, the top asks, arrears and
    the deadlines coming up, as of a date (default today). A fixed number of queries whatever the data:
    the pipeline is summed from its distinct splits, never by loading every open ask."""
    as_of = as_of or today()
    years = plan_service.plan_years(fiscal_year_of(as_of))
    # One rate table for the plan's years and the splits' (an ask may be split over later years).
    rates = plan_service.rate_table(range(years[0] - 1, years[-1] + 6))
    plan = plan_report(years, as_of, rates=rates)
    reporting = plan.reporting_currency
    missing: set[MissingPlanRate] = set(plan.figures.missing_rates)

    stages = {stage: PipelineCell(stage.label, stage.value) for stage in OPEN_STAGES}
    for stage, count in _stage_counts(as_of).items():
        stages[stage].count = count
    year_cells: dict[int, PipelineCell] = {}
    for stage, currency, probability, fiscal_year, split_amount, count in _split_groups(as_of):
        stage_cell = stages[Stage(stage)]
        amount, weighted_amount, missing_rate = _split_figures(
            split_amount, probability, currency, fiscal_year, rates, reporting
        )
        if missing_rate is not None:
            missing.add(missing_rate)
        # `count` identical splits: their figures add up to `count` times one split's.
        amount = None if amount is None else amount * count
        weighted_amount = None if weighted_amount is None else weighted_amount * count
        raw = split_amount * count
        stage_cell.add(amount, weighted_amount, currency, raw)
        year_cell = year_cells.setdefault(fiscal_year, PipelineCell(f"FY{fiscal_year}", fiscal_year))
        year_cell.add(amount, weighted_amount, currency, raw)
        year_cell.count += count
    top = _top_opportunities(as_of, rates, reporting)

    upcoming = deadlines.upcoming_shortlist(as_of)
    late = deadlines.late_shortlist(as_of)
    current = years[0]
    arrears = flagged_arrears(current - 3, current)
    return BoardReport(
        as_of=as_of,
        plan=plan,
        by_stage=list(stages.values()),
        by_year=[year_cells[year] for year in sorted(year_cells)],
        top=top,
        arrears=arrears,
        upcoming_deliverables=upcoming,
        late_instalments=late,
        missing_rates=sorted(missing),
    )
