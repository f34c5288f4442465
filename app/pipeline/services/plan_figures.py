"""Plan against actuals: per fiscal year and source, the target, secured money, weighted pipeline and gap.

Inputs are plain figures (year, source, amount, currency); sums stay per currency, and the reporting-currency
totals use the plan's rates, naming each rate used and each one missing. A year with a missing rate has no
converted total or gap: showing a number that ignored some money would mislead the board.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ..sources import Source
from .conversion import Converted, MissingPlanRate, RateTable, to_reporting

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Figure:
    """One amount that counts towards the plan: secured money, or an open ask already weighted."""

    fiscal_year: int
    source: Source
    amount: Decimal
    currency: str


@dataclass
class Measure:
    """Secured or weighted money of one cell: summed per currency, then each currency's sum converted once."""

    by_currency: dict[str, Decimal] = field(default_factory=dict)
    #: The reporting-currency total; None while a rate is missing.
    converted: Decimal | None = ZERO

    def add(self, amount: Decimal, currency: str) -> None:
        self.by_currency[currency] = self.by_currency.get(currency, ZERO) + amount

    def convert(
        self, fiscal_year: int, rates: RateTable, reporting_currency: str
    ) -> list[tuple[str, Converted | MissingPlanRate]]:
        """Set `converted` from the per-currency sums; returns each currency with its conversion (or the
        rate missing)."""
        conversions = [
            (currency, to_reporting(amount, currency, fiscal_year, rates, reporting_currency))
            for currency, amount in sorted(self.by_currency.items())
        ]
        if any(isinstance(conversion, MissingPlanRate) for _currency, conversion in conversions):
            self.converted = None
        else:
            self.converted = sum((conversion.amount for _currency, conversion in conversions), ZERO)
        return conversions

    def absorb(self, other: Measure) -> None:
        for currency, amount in other.by_currency.items():
            self.add(amount, currency)
        if self.converted is None or other.converted is None:
            self.converted = None
        else:
            self.converted += other.converted


@dataclass
class PlanCell:
    fiscal_year: int
    source: Source | None  # None for a year's total over every source
    target: Decimal | None = None
    secured: Measure = field(default_factory=Measure)
    weighted: Measure = field(default_factory=Measure)

    @property
    def forecast(self) -> Decimal | None:
        """Secured plus weighted pipeline, in the reporting currency (None while a rate is missing)."""
        if self.secured.converted is None or self.weighted.converted is None:
            return None
        return self.secured.converted + self.weighted.converted

    @property
    def gap(self) -> Decimal | None:
        """What the target needs beyond secured and weighted money; negative when the forecast exceeds it."""
        if self.target is None or self.forecast is None:
            return None
        return self.target - self.forecast

    @property
    def over_target_by(self) -> Decimal | None:
        """How far the forecast is above the target (the gap's other side), or None when it is not."""
        gap = self.gap
        return -gap if gap is not None and gap < 0 else None

    @property
    def secured_share(self) -> Decimal | None:
        """Secured as a percentage of the target, for the charts."""
        if not self.target or self.secured.converted is None:
            return None
        return (self.secured.converted * 100 / self.target).quantize(Decimal("1"))


@dataclass
class PlanFigures:
    reporting_currency: str
    years: list[int]
    cells: dict[tuple[int, Source], PlanCell]
    totals: dict[int, PlanCell]
    rates_used: dict[tuple[int, str], Decimal]
    missing_rates: list[MissingPlanRate]

    def cell(self, year: int, source: Source) -> PlanCell:
        return self.cells[(year, source)]


def plan_figures(
    years: Sequence[int],
    targets: dict[tuple[int, Source], Decimal],
    secured: Iterable[Figure],
    weighted: Iterable[Figure],
    rates: RateTable,
    reporting_currency: str,
) -> PlanFigures:
    """Target, secured, weighted and gap per year and source, and per year over all sources."""
    cells = {
        (year, source): PlanCell(year, source, targets.get((year, source)))
        for year in years
        for source in Source
    }
    rates_used: dict[tuple[int, str], Decimal] = {}
    missing: set[MissingPlanRate] = set()

    for figure in secured:
        if (cell := cells.get((figure.fiscal_year, figure.source))) is not None:
            cell.secured.add(figure.amount, figure.currency)
    for figure in weighted:
        if (cell := cells.get((figure.fiscal_year, figure.source))) is not None:
            cell.weighted.add(figure.amount, figure.currency)
    for (year, _source), cell in cells.items():
        for measure in (cell.secured, cell.weighted):
            for currency, conversion in measure.convert(year, rates, reporting_currency):
                if isinstance(conversion, MissingPlanRate):
                    missing.add(conversion)
                elif conversion.rate is not None:
                    rates_used[(year, currency)] = conversion.rate

    totals = {}
    for year in years:
        total = PlanCell(year, None)
        year_targets = [cells[(year, source)].target for source in Source]
        total.target = (
            sum((t for t in year_targets if t is not None), ZERO)
            if any(t is not None for t in year_targets)
            else None
        )
        for source in Source:
            total.secured.absorb(cells[(year, source)].secured)
            total.weighted.absorb(cells[(year, source)].weighted)
        totals[year] = total
    return PlanFigures(
        reporting_currency, list(years), cells, totals, dict(sorted(rates_used.items())), sorted(missing)
    )
