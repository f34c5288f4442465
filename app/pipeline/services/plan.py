"""The plan's targets and exchange rates: set, change and read them (operations keep the rates)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from ...common.decimals import AMOUNT_OR_ZERO, RATE, decimal_problem
from ...common.errors import ValidationFailed
from ...common.fiscal import current_fiscal_year
from ...common.money import is_currency
from ...extensions import db
from ..models import PlanExchangeRate, PlanTarget
from ..sources import Source

#: The board reviews the current fiscal year and the next two.
PLAN_YEARS = 3


def reporting_currency() -> str:
    return current_app.config.get("REPORTING_CURRENCY") or "USD"


def plan_years(first_year: int | None = None) -> list[int]:
    """The years a plan page shows: from `first_year` (default: the current fiscal year), three of them."""
    first_year = first_year or current_fiscal_year()
    return list(range(first_year, first_year + PLAN_YEARS))


def targets(years: Iterable[int]) -> dict[tuple[int, Source], PlanTarget]:
    """Each (year, source) target set for these years."""
    rows = db.session.scalars(sa.select(PlanTarget).where(PlanTarget.fiscal_year.in_(list(years))))
    return {(row.fiscal_year, row.source): row for row in rows}


def set_targets(fiscal_year: int, amounts: dict[Source, Decimal | None], notes: str = "") -> list[PlanTarget]:
    """Set one year's targets per source in the reporting currency; a blank amount removes that target."""
    currency = reporting_currency()
    errors = {}
    for source, amount in amounts.items():
        if amount is not None and (problem := decimal_problem(amount, AMOUNT_OR_ZERO, currency)) is not None:
            errors[source.value] = [problem]
    if not 2000 <= fiscal_year <= 2100:
        errors["fiscal_year"] = ["Give a fiscal year between 2000 and 2100."]
    if errors:
        raise ValidationFailed("The targets were not saved.", errors)
    existing = targets([fiscal_year])
    saved = []
    for source, amount in amounts.items():
        target = existing.get((fiscal_year, source))
        if amount is None:
            if target is not None:
                db.session.delete(target)
            continue
        if target is None:
            target = PlanTarget(fiscal_year=fiscal_year, source=source)
            db.session.add(target)
        target.amount = amount
        target.currency = currency
        target.notes = notes
        saved.append(target)
    db.session.flush()
    return saved


def rates() -> list[PlanExchangeRate]:
    """Every plan rate, latest year first."""
    return list(
        db.session.scalars(
            sa.select(PlanExchangeRate).order_by(
                PlanExchangeRate.fiscal_year.desc(), PlanExchangeRate.currency
            )
        )
    )


def rate_table(years: Iterable[int]) -> dict[tuple[int, str], Decimal]:
    """(fiscal year, currency) -> rate, for the conversions of these years."""
    rows = db.session.execute(
        sa.select(PlanExchangeRate.fiscal_year, PlanExchangeRate.currency, PlanExchangeRate.rate).where(
            PlanExchangeRate.fiscal_year.in_(list(years))
        )
    )
    return {(year, currency): rate for year, currency, rate in rows}


def set_rate(fiscal_year: int, currency: str, rate: Decimal | None, user) -> PlanExchangeRate:
    """Add or change the plan rate of a currency for a fiscal year (units of it per one reporting unit)."""
    currency = (currency or "").strip().upper()
    errors: dict[str, list[str]] = {}
    if not is_currency(currency):
        errors["currency"] = ["Give an ISO 4217 currency code such as EUR."]
    elif currency == reporting_currency():
        errors["currency"] = [f"{currency} is the reporting currency: it needs no rate."]
    if rate is None:
        errors["rate"] = ["Give a rate above zero, such as 0.9200."]
    elif (problem := decimal_problem(rate, RATE)) is not None:
        errors["rate"] = [problem]
    if not 2000 <= (fiscal_year or 0) <= 2100:
        errors["fiscal_year"] = ["Give a fiscal year between 2000 and 2100."]
    if errors:
        raise ValidationFailed("The rate was not saved.", errors)
    row = db.session.scalar(
        sa.select(PlanExchangeRate).where(
            PlanExchangeRate.fiscal_year == fiscal_year, PlanExchangeRate.currency == currency
        )
    )
    if row is None:
        row = PlanExchangeRate(fiscal_year=fiscal_year, currency=currency)
        db.session.add(row)
    row.rate = rate
    row.reporting_currency = reporting_currency()
    row.updated_by_id = getattr(user, "id", None)
    db.session.flush()
    return row


def delete_rate(rate: PlanExchangeRate) -> None:
    """Remove a plan rate; figures in that currency and year show as missing a rate until one is set again."""
    db.session.delete(rate)
    db.session.flush()
