"""The plan's pure arithmetic: fiscal-year splits, weighted amounts, instalment schedules.

No database and no request here: plain Decimals in, plain rows out, so that every rule is checked on
hand-computed cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from ...common.errors import DomainError
from ...common.fiscal import fiscal_year
from ...common.money import quantize

ZERO = Decimal("0.00")


class SplitDoesNotAddUp(DomainError):
    """The rows of a fiscal-year split do not add up to the amount they split."""


class AwardBelowPaid(DomainError):
    """An award cannot be less than what its instalments have already received."""


@dataclass(frozen=True)
class SplitRow:
    fiscal_year: int
    amount: Decimal


def check_split(total: Decimal, rows: Iterable[SplitRow], currency: str) -> list[SplitRow]:
    """The rows sorted by year, or SplitDoesNotAddUp when they do not sum exactly to `total`."""
    rows = sorted(rows, key=lambda row: row.fiscal_year)
    years = [row.fiscal_year for row in rows]
    if not rows:
        raise SplitDoesNotAddUp("Give at least one fiscal year.")
    if len(set(years)) != len(years):
        raise SplitDoesNotAddUp("Each fiscal year may appear only once.")
    if any(row.amount <= 0 for row in rows):
        raise SplitDoesNotAddUp("Each year's amount must be more than zero.")
    if any(quantize(row.amount, currency) != row.amount for row in rows):
        raise SplitDoesNotAddUp(f"Amounts have at most the decimals {currency} allows.")
    added = sum((row.amount for row in rows), ZERO)
    if added != total:
        raise SplitDoesNotAddUp(f"The years add up to {added}, not to the amount of {total}.")
    return rows


def even_split(total: Decimal, years: Sequence[int], currency: str) -> list[SplitRow]:
    """Spread `total` evenly over `years`; rounding goes to the last year, so that the rows add up."""
    if not years:
        raise SplitDoesNotAddUp("Give at least one fiscal year.")
    share = quantize(total / len(years), currency)
    rows = [SplitRow(year, share) for year in years[:-1]]
    rows.append(SplitRow(years[-1], total - share * (len(years) - 1)))
    return rows


def weighted(amount: Decimal, probability: int, currency: str) -> Decimal:
    """What an open ask is worth to the plan: amount times probability, rounded to the currency's unit."""
    return quantize(amount * Decimal(probability) / Decimal(100), currency)


@dataclass(frozen=True)
class ScheduledInstalment:
    """One instalment of a pledge as the schedule sees it; `received` is what gifts have applied to it."""

    amount: Decimal
    expected_on: date
    received: Decimal = ZERO
    id: int | None = None

    @property
    def is_touched(self) -> bool:
        """Any money received freezes an instalment: regenerating a schedule never moves it."""
        return self.received > 0


def expected_date_for(year: int, agreed_on: date, first_month: int | None = None) -> date:
    """When a fiscal year's instalment is expected: at agreement within that year, else on its first day."""
    period = fiscal_year(year, first_month)
    return agreed_on if agreed_on in period else max(period.starts_on, agreed_on)


def schedule_from_split(
    split: Sequence[SplitRow], agreed_on: date, first_month: int | None = None
) -> list[ScheduledInstalment]:
    """One instalment per fiscal-year row of the split, expected at agreement or at the start of its year."""
    return [
        ScheduledInstalment(row.amount, expected_date_for(row.fiscal_year, agreed_on, first_month))
        for row in split
    ]


def regenerate_schedule(
    current: Sequence[ScheduledInstalment],
    award: Decimal,
    wanted: Sequence[ScheduledInstalment],
    currency: str,
) -> list[ScheduledInstalment]:
    """A new schedule for `award`: instalments that received money stay as they are, and the rest of the
    award is spread over the wanted unpaid instalments in their proportions (the last takes the rounding
    remainder), so that the whole always adds up to the award."""
    kept = [instalment for instalment in current if instalment.is_touched]
    kept_total = sum((instalment.amount for instalment in kept), ZERO)
    if award < kept_total:
        raise AwardBelowPaid(
            f"The award cannot be less than {kept_total}, scheduled on instalments that received money."
        )
    remaining = award - kept_total
    if remaining == 0:
        return sorted(kept, key=lambda instalment: instalment.expected_on)
    fresh = [
        replace(instalment, received=ZERO, id=None) for instalment in wanted if not instalment.is_touched
    ]
    if not fresh:
        last = max((instalment.expected_on for instalment in kept), default=None)
        raise AwardBelowPaid(
            "Every instalment has received money; add an instalment for the rest of the award"
            + (f" (after {last.isoformat()})." if last else ".")
        )
    wanted_total = sum((instalment.amount for instalment in fresh), ZERO)
    spread: list[ScheduledInstalment] = []
    given = ZERO
    for index, instalment in enumerate(fresh):
        if index == len(fresh) - 1:
            amount = remaining - given
        elif wanted_total > 0:
            amount = quantize(remaining * instalment.amount / wanted_total, currency)
        else:
            amount = quantize(remaining / len(fresh), currency)
        given += amount
        spread.append(replace(instalment, amount=amount))
    # Reuse the ids of the unpaid instalments being replaced, so that their links (calendar UIDs) stay stable.
    reusable = [instalment.id for instalment in current if not instalment.is_touched and instalment.id]
    spread = [
        replace(instalment, id=reusable[i] if i < len(reusable) else None)
        for i, instalment in enumerate(spread)
    ]
    return sorted(kept + spread, key=lambda instalment: (instalment.expected_on, instalment.amount))
