"""The board dashboard and the board pack: one service computes every figure both show, as of a date."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import lazyload

from ...common.fiscal import fiscal_year_of
from ...common.money import quantize
from ...common.time import today
from ...contributions.services.arrears import FlaggedArrears, flagged_arrears
from ...extensions import db
from .. import plan_totals
from ..models import Opportunity, OpportunitySplit
from ..stages import OPEN_STAGES, Stage
from . import deadlines
from . import plan as plan_service
from .arithmetic import weighted
from .conversion import MissingPlanRate, to_reporting
from .expected_contributions import ContributionForecast
from .plan_report import PlanReport, ask_as_of, end_of_day, plan_report

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
    """The condition an open ask counted on `as_of` meets (at the stage it had that day)."""
    stage, _probability = ask_as_of(as_of)
    return sa.and_(
        stage.in_([stage.value for stage in OPEN_STAGES]),
        Opportunity.created_at <= end_of_day(as_of),
    )


def _stage_counts(as_of: date) -> dict[Stage, int]:
    """Open asks per stage on `as_of`, with or without a split (one query over the records)."""
    stage, _probability = ask_as_of(as_of)
    rows = db.session.execute(sa.select(stage, sa.func.count()).where(_open_asks(as_of)).group_by(stage))
    return {Stage(value): count for value, count in rows}


def _split_groups(as_of: date):
    """The open asks' splits on `as_of`, identical ones (same stage, currency, year, probability and amount)
    counted together, in one query over the records; each group is weighted and converted on its own."""
    stage, probability = ask_as_of(as_of)
    rows = db.session.execute(
        sa.select(
            stage,
            Opportunity.currency,
            probability,
            OpportunitySplit.fiscal_year,
            OpportunitySplit.amount,
            sa.func.count(),
        )
        .join(OpportunitySplit, OpportunitySplit.opportunity_id == Opportunity.id)
        .where(_open_asks(as_of))
        .group_by(
            stage, Opportunity.currency, probability, OpportunitySplit.fiscal_year, OpportunitySplit.amount
        )
    ).all()
    return [
        (value, currency, chance, year, amount, count)
        for value, currency, chance, year, amount, count in rows
    ]


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


@dataclass(frozen=True)
class _Ranked:
    """An ask's exact totals in the reporting currency (None when a rate is missing), before its record is
    read (only the asks shown are)."""

    id: int
    converted: Decimal | None
    weighted: Decimal | None


#: How many asks the SQL ranking hands to the exact ranking in Python: more than shown, so that the float
#: arithmetic the ranking uses cannot leave out an ask whose exact total ranks among the top ones.
TOP_CANDIDATES = 5 * TOP_OPPORTUNITIES


def _top_opportunities(as_of: date, rates, reporting: str) -> list[_Ranked]:
    """The largest open asks in the reporting currency (asks with a missing rate last, by id): SQL ranks
    the asks by their splits converted approximately, then the candidates are converted exactly (two
    queries; `_shown` reads the records of those shown)."""
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
    return _exactly_ranked(list(db.session.scalars(ranked)), rates, reporting)


def _exactly_ranked(ids: list[int], rates, reporting: str) -> list[_Ranked]:
    """These asks converted exactly, largest first (asks with a missing rate last, by id); one query of their
    splits' plain columns (no ask is loaded: the candidates are many more than the asks shown)."""
    totals: dict[int, list[Decimal | None]] = {}
    rows = db.session.execute(
        sa.select(
            Opportunity.id,
            Opportunity.probability,
            Opportunity.currency,
            OpportunitySplit.fiscal_year,
            OpportunitySplit.amount,
        )
        .outerjoin(OpportunitySplit, OpportunitySplit.opportunity_id == Opportunity.id)
        .where(Opportunity.id.in_(ids))
    )
    for opportunity_id, probability, currency, fiscal_year, split_amount in rows:
        total = totals.setdefault(opportunity_id, [ZERO, ZERO])
        if split_amount is None:
            continue  # an ask without a split converts to nothing
        amount_converted, weighted_amount, _missing = _split_figures(
            split_amount, probability, currency, fiscal_year, rates, reporting
        )
        total[0] = None if amount_converted is None or total[0] is None else total[0] + amount_converted
        total[1] = None if weighted_amount is None or total[1] is None else total[1] + weighted_amount
    ranked = [
        _Ranked(opportunity_id, converted, weighted)
        for opportunity_id, (converted, weighted) in totals.items()
    ]
    ranked.sort(key=lambda item: (item.converted is None, -(item.converted or ZERO), item.id))
    return ranked


def _shown(ranked: list[_Ranked]) -> list[TopOpportunity]:
    """The first TOP_OPPORTUNITIES asks ranked, with their records (one query: the lists show no split)."""
    ranked = ranked[:TOP_OPPORTUNITIES]
    opportunities = {
        opportunity.id: opportunity
        for opportunity in db.session.scalars(
            sa.select(Opportunity)
            .where(Opportunity.id.in_([item.id for item in ranked]))
            .options(lazyload(Opportunity.splits))
        )
    }
    return [TopOpportunity(opportunities[item.id], item.converted, item.weighted) for item in ranked]


def _top_from_index(as_of: date, rates, reporting: str, currencies: list[str]) -> list[_Ranked] | None:
    """The largest open asks read from the top of each currency's amounts (an index), then converted
    exactly: two queries (`_shown` reads the records of those shown). An ask's converted total is at most
    its amount times the largest factor its currency converts at, so once the smallest candidate of every
    currency is below the tenth total found, no other ask can rank among them. None when that cannot be
    shown (the caller ranks every ask)."""
    if not currencies:
        return []
    factors = {}
    for currency in currencies:
        if currency == reporting:
            factors[currency] = Decimal(1)
            continue
        known = [1 / rate for (_year, code), rate in rates.items() if code == currency and rate and rate > 0]
        if known:
            factors[currency] = max(known)
    # A currency without any rate has only asks ranked last (missing a rate): they matter only when fewer
    # than ten asks convert, and then every ask is ranked.
    unconverted = [currency for currency in currencies if currency not in factors]
    currencies = [currency for currency in currencies if currency in factors]
    if not currencies:
        return None
    branches = [
        sa.select(Opportunity.id, Opportunity.currency, Opportunity.amount)
        .where(Opportunity.currency == currency, _open_asks(as_of))
        .order_by(Opportunity.amount.desc(), Opportunity.id)
        .limit(TOP_CANDIDATES)
        .subquery()
        for currency in currencies
    ]
    rows = db.session.execute(sa.union_all(*[sa.select(branch) for branch in branches])).all()
    ranked = _exactly_ranked([row.id for row in rows], rates, reporting)
    cut = [
        currency for currency in currencies if sum(row.currency == currency for row in rows) == TOP_CANDIDATES
    ]
    if not cut and not unconverted:
        return ranked  # every open ask is a candidate
    exact = [item for item in ranked if item.converted is not None]
    if len(exact) < TOP_OPPORTUNITIES:
        return None
    tenth = exact[TOP_OPPORTUNITIES - 1].converted
    for currency in cut:
        smallest = min(Decimal(row.amount) for row in rows if row.currency == currency)
        if smallest * factors[currency] >= tenth:
            return None
    return ranked


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
    year_cells: dict[int, PipelineCell] = {}

    def add(stage_value, currency, fiscal_year, amount_raw, weighted_raw, count):
        stage_cell = stages[Stage(stage_value)]
        amount = to_reporting(amount_raw, currency, fiscal_year, rates, reporting)
        if isinstance(amount, MissingPlanRate):
            missing.add(amount)
            amount_converted = weighted_converted = None
        else:
            amount_converted = amount.amount
            weighted_converted = to_reporting(weighted_raw, currency, fiscal_year, rates, reporting).amount
        stage_cell.add(amount_converted, weighted_converted, currency, amount_raw)
        year_cell = year_cells.setdefault(fiscal_year, PipelineCell(f"FY{fiscal_year}", fiscal_year))
        year_cell.add(amount_converted, weighted_converted, currency, amount_raw)
        year_cell.count += count

    top = None
    if plan.pipeline_rows is not None:
        # Today: from the kept totals, each (stage, year, currency) sum weighted and converted once.
        currencies = set()
        for row in plan.pipeline_rows:
            if row.measure == plan_totals.ASKS:
                stages[Stage(row.stage)].count += row.count
                if row.count:
                    currencies.add(row.currency)
            elif row.count:
                amount_raw = Decimal(row.amount_cents).scaleb(-2)
                weighted_raw = quantize(Decimal(row.weighted).scaleb(-4), row.currency)
                add(row.stage, row.currency, row.fiscal_year, amount_raw, weighted_raw, row.count)
        top = _top_from_index(as_of, rates, reporting, sorted(currencies))
    else:
        # An earlier day: from the records, each ask at the stage it had then.
        for stage, count in _stage_counts(as_of).items():
            stages[stage].count = count
        for stage, currency, probability, fiscal_year, split_amount, count in _split_groups(as_of):
            # `count` identical splits: their figures add up to `count` times one split's.
            add(stage, currency, fiscal_year, split_amount * count,
                weighted(split_amount, probability, currency) * count, count)  # fmt: skip
    if top is None:
        top = _top_opportunities(as_of, rates, reporting)
    top = _shown(top)

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
