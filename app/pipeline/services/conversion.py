"""Conversion into the reporting currency with the plan's rates: one rate per fiscal year and currency.

A rate is the number of units of a currency for one unit of the reporting currency (1 USD = 0.92 EUR), the
convention of the contribution policy's budget rates, so that operations read both tables the same way.
The conversion itself is app/common/money.py's `convert` (quoted per target: the amount is divided by the
rate); this module only looks the year's rate up. A missing rate is a problem to show, never a silent 1:1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from ...common.money import Converted, MissingRate, convert


@dataclass(frozen=True, order=True)
class MissingPlanRate:
    """The plan has no rate for a currency in a fiscal year: a problem the pages name."""

    fiscal_year: int
    currency: str

    def __str__(self) -> str:
        return f"No plan rate for {self.currency} in FY{self.fiscal_year}"


#: (fiscal year, currency) -> units of that currency per one unit of the reporting currency.
RateTable = Mapping[tuple[int, str], Decimal]


def to_reporting(
    amount: Decimal, currency: str, fiscal_year: int, rates: RateTable, reporting_currency: str
) -> Converted | MissingPlanRate:
    """`amount` of `currency` in the reporting currency at the plan rate for `fiscal_year`."""
    try:
        return convert(
            amount, currency, reporting_currency, rates.get((fiscal_year, currency)), per_target=True
        )
    except MissingRate:
        return MissingPlanRate(fiscal_year, currency)
