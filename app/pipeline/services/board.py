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
from ..models import Deliverable, Instalment, Opportunity
from ..stages import OPEN_STAGES
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
    upcoming_deliverables: list[Deliverable]
    late_instalments: list[Instalment]
    missing_rates: list[MissingPlanRate]

    @property
    def reporting_currency(self) -> str:
        return self.plan.reporting_currency

    @property
    def contributions(self) -> ContributionForecast:
        """Collection by income group for the current fiscal year."""
        return self.plan.contributions[self.plan.years[0]]


def _open_opportunities(as_of: date) -> list[Opportunity]:
    return list(
        db.session.scalars(
            sa.select(Opportunity)
            .where(
                Opportunity.stage.in_([stage.value for stage in OPEN_STAGES]),
                Opportunity.created_at <= end_of_day(as_of),
            )
            .options(selectinload(Opportunity.splits))
            .order_by(Opportunity.id)
        )
    )


def board_report(as_of: date | None = None) -> BoardReport:
    """Plan against actuals for three years, the open pipeline by stage and year, the top asks, arrears and
    the deadlines coming up, as of a date (default today)."""
    as_of = as_of or today()
    years = plan_service.plan_years(fiscal_year_of(as_of))
    plan = plan_report(years, as_of)
    reporting = plan.reporting_currency
    rates = plan_service.rate_table(range(years[0] - 1, years[-1] + 6))
    missing: set[MissingPlanRate] = set(plan.figures.missing_rates)

    stages = {stage: PipelineCell(stage.label, stage.value) for stage in OPEN_STAGES}
    year_cells: dict[int, PipelineCell] = {}
    top = []
    for opportunity in _open_opportunities(as_of):
        stage_cell = stages[opportunity.stage]
        stage_cell.count += 1
        total_converted: Decimal | None = ZERO
        total_weighted: Decimal | None = ZERO
        for split in opportunity.splits:
            conversion = to_reporting(split.amount, opportunity.currency, split.fiscal_year, rates, reporting)
            share_weighted = weighted(split.amount, opportunity.probability, opportunity.currency)
            weighted_conversion = to_reporting(
                share_weighted, opportunity.currency, split.fiscal_year, rates, reporting
            )
            if isinstance(conversion, MissingPlanRate):
                missing.add(conversion)
                amount = weighted_amount = None
            else:
                amount, weighted_amount = conversion.amount, weighted_conversion.amount
            stage_cell.add(amount, weighted_amount, opportunity.currency, split.amount)
            year_cell = year_cells.setdefault(
                split.fiscal_year, PipelineCell(f"FY{split.fiscal_year}", split.fiscal_year)
            )
            year_cell.add(amount, weighted_amount, opportunity.currency, split.amount)
            year_cell.count += 1
            total_converted = None if amount is None or total_converted is None else total_converted + amount
            total_weighted = (
                None
                if weighted_amount is None or total_weighted is None
                else total_weighted + weighted_amount
            )
        top.append(TopOpportunity(opportunity, total_converted, total_weighted))
    top.sort(key=lambda item: (item.converted is None, -(item.converted or ZERO), item.opportunity.id))

    upcoming = deadlines.upcoming_deliverables(as_of)
    late = deadlines.late_instalments(as_of)
    current = years[0]
    arrears = flagged_arrears(current - 3, current)
    return BoardReport(
        as_of=as_of,
        plan=plan,
        by_stage=list(stages.values()),
        by_year=[year_cells[year] for year in sorted(year_cells)],
        top=top[:TOP_OPPORTUNITIES],
        arrears=arrears,
        upcoming_deliverables=upcoming,
        late_instalments=late,
        missing_rates=sorted(missing),
    )
