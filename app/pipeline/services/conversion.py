"""Conversion into the reporting currency with the plan's rates: one rate per fiscal year and currency.

A rate is the number of units of a currency for one unit of the reporting currency (1 USD = 0.92 EUR), the
convention of the contribution policy's budget rates, so that operations read both tables the same way.
A missing rate is a problem to show, never a silent 1:1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from ...common.money import quantize


@dataclass(frozen=True)
class Converted:
    """An amount in the reporting currency, with the rate that made it (None when none was needed)."""

    amount: Decimal
    currency: str
    rate: Decimal | None
    source_amount: Decimal
    source_currency: str


@dataclass(frozen=True, order=True)
class MissingRate:
    fiscal_year: int
    currency: str

    def __str__(self) -> str:
        return f"No plan rate for {self.currency} in FY{self.fiscal_year}"


#: (fiscal year, currency) -> units of that currency per one unit of the reporting currency.
RateTable = Mapping[tuple[int, str], Decimal]


def to_reporting(
    amount: Decimal, currency: str, fiscal_year: int, rates: RateTable, reporting_currency: str
) -> Converted | MissingRate:
    """`amount` of `currency` in the reporting currency at the plan rate for `fiscal_year`."""
    if currency == reporting_currency:
        return Converted(amount, reporting_currency, None, amount, currency)
    rate = rates.get((fiscal_year, currency))
    if rate is None or rate <= 0:
        return MissingRate(fiscal_year, currency)
    return Converted(quantize(amount / rate, reporting_currency), reporting_currency, rate, amount, currency)
