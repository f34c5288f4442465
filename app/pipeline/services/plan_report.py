"""The figures the plan page, the board dashboard and the board pack all show: one service computes them.

Secured money per fiscal year: contribution payments received in the year (country contributions).
Everything is summed per currency in SQL and converted with the plan's rates (see plan_figures).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from ...common.fiscal import fiscal_year
from ...common.time import today
from ...contributions.models import Payment
from ...extensions import db
from ..sources import Source
from . import plan as plan_service
from .plan_figures import Figure, PlanFigures, plan_figures

ZERO = Decimal("0.00")


@dataclass
class PlanReport:
    as_of: date
    figures: PlanFigures

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
            Figure(year, Source.COUNTRY_CONTRIBUTIONS, Decimal(amount), currency)
            for currency, amount in rows
            if amount
        ]
    return figures


def plan_report(years: list[int], as_of: date | None = None) -> PlanReport:
    """Target, secured, weighted and gap per year and source, as of a date (default today)."""
    as_of = as_of or today()
    targets = {key: target.amount for key, target in plan_service.targets(years).items()}
    secured = contribution_payments(years, as_of)
    figures = plan_figures(
        years,
        targets,
        secured,
        [],
        plan_service.rate_table(years),
        plan_service.reporting_currency(),
    )
    return PlanReport(as_of, figures)
