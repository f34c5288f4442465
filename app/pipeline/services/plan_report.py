"""The figures the plan page, the board dashboard and the board pack all show: one service computes them.

Secured money per fiscal year: contribution payments received in the year (country contributions).
Weighted pipeline: for country contributions, the expected contributions (weighted by each member's payment
record) that the year's payments have not yet met.
Everything is summed per currency and converted with the plan's rates (see plan_figures).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from ...common.fiscal import fiscal_year, fiscal_year_of
from ...common.money import quantize
from ...common.time import today
from ...contributions.models import Payment
from ...extensions import db
from ..sources import Source
from . import plan as plan_service
from .expected_contributions import ContributionForecast, contribution_forecast
from .plan_figures import Figure, PlanFigures, plan_figures

ZERO = Decimal("0.00")


@dataclass
class PlanReport:
    as_of: date
    figures: PlanFigures
    contributions: dict[int, ContributionForecast]

    @property
    def years(self) -> list[int]:
        return self.figures.years

    @property
    def reporting_currency(self) -> str:
        return self.figures.reporting_currency


def contribution_payments(years: list[int], as_of: date) -> list[Figure]:
    """Contribution payments received per fiscal year up to `as_of` (net of refunds), per currency."""
    figures = []
    for year in years:
        period = fiscal_year(year)
        rows = db.session.execute(
            sa.select(Payment.currency, sa.func.sum(Payment.amount - Payment.refunded_amount))
            .where(Payment.received_on.between(period.starts_on, min(period.ends_on, as_of)))
            .group_by(Payment.currency)
        )
        figures += [
            Figure(year, Source.COUNTRY_CONTRIBUTIONS, quantize(Decimal(amount), currency), currency)
            for currency, amount in rows
            if amount
        ]
    return figures


def expected_contributions(forecasts: dict[int, ContributionForecast]) -> list[Figure]:
    """Per year and currency, the weighted expected contributions not yet met by the year's payments."""
    figures = []
    for year, forecast in forecasts.items():
        totals: dict[str, Decimal] = {}
        for member in forecast.members:
            if (remaining := member.still_expected) is not None:
                totals[member.currency] = totals.get(member.currency, ZERO) + remaining
        figures += [
            Figure(year, Source.COUNTRY_CONTRIBUTIONS, amount, currency)
            for currency, amount in totals.items()
            if amount
        ]
    return figures


def plan_report(years: list[int], as_of: date | None = None) -> PlanReport:
    """Target, secured, weighted and gap per year and source, as of a date (default today)."""
    as_of = as_of or today()
    rates = plan_service.rate_table(years)
    reporting_currency = plan_service.reporting_currency()
    targets = {key: target.amount for key, target in plan_service.targets(years).items()}
    forecasts = {
        year: contribution_forecast(year, rates, reporting_currency, current_year=fiscal_year_of(as_of))
        for year in years
    }
    secured = contribution_payments(years, as_of)
    weighted = expected_contributions(forecasts)
    figures = plan_figures(years, targets, secured, weighted, rates, reporting_currency)
    return PlanReport(as_of, figures, forecasts)
