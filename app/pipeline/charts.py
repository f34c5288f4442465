"""Bar charts drawn on the server as SVG, the same in the page and in the board pack.

The geometry is computed here (with Decimals: no float near the figures) and drawn by the Jinja macro in
`templates/pipeline/_chart.html`, which puts the numbers in a table beside each chart so that it reads without
the picture and without JavaScript.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from babel.numbers import format_compact_decimal

#: Series colours, distinguishable for the common colour-vision deficiencies (Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")

WIDTH = Decimal(560)
HEIGHT = Decimal(250)
LEFT = Decimal(58)
RIGHT = Decimal(10)
TOP = Decimal(34)
BOTTOM = Decimal(40)
TICKS = 4


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Decimal | None]  # one per category; None draws nothing (unknown, e.g. a missing rate)
    colour: str = ""


@dataclass(frozen=True)
class Bar:
    series: str
    category: str
    value: Decimal
    x: str
    y: str
    width: str
    height: str
    colour: str


@dataclass(frozen=True)
class Tick:
    y: str
    label_y: str
    label: str


@dataclass
class BarChart:
    """A grouped vertical bar chart: categories along the bottom, one bar per series in each."""

    title: str
    categories: Sequence[str]
    series: Sequence[Series]
    unit: str = ""  # e.g. "USD", shown in the axis title
    category_urls: Sequence[str | None] = field(default_factory=list)
    id: str = "chart"

    width: str = str(WIDTH)
    height: str = str(HEIGHT)

    @property
    def coloured_series(self) -> list[Series]:
        return [
            Series(s.name, s.values, s.colour or PALETTE[index % len(PALETTE)])
            for index, s in enumerate(self.series)
        ]

    @property
    def maximum(self) -> Decimal:
        values = [value for s in self.series for value in s.values if value is not None]
        return nice_ceiling(max(values, default=Decimal(0)))

    def ticks(self) -> list[Tick]:
        maximum = self.maximum
        plot_height = HEIGHT - TOP - BOTTOM
        ticks = []
        for step in range(TICKS + 1):
            value = maximum * step / TICKS
            y = HEIGHT - BOTTOM - plot_height * step / TICKS
            ticks.append(Tick(_coordinate(y), _coordinate(y + 4), compact(value)))
        return ticks

    def bars(self) -> list[Bar]:
        maximum = self.maximum
        plot_width = WIDTH - LEFT - RIGHT
        plot_height = HEIGHT - TOP - BOTTOM
        group_width = plot_width / max(len(self.categories), 1)
        inner = group_width * Decimal("0.8")
        bar_width = inner / max(len(self.series), 1)
        bars = []
        for s_index, series in enumerate(self.coloured_series):
            for c_index, category in enumerate(self.categories):
                value = series.values[c_index] if c_index < len(series.values) else None
                if value is None:
                    continue
                height = plot_height * max(value, Decimal(0)) / maximum if maximum else Decimal(0)
                x = LEFT + group_width * c_index + group_width * Decimal("0.1") + bar_width * s_index
                bars.append(
                    Bar(
                        series.name,
                        category,
                        value,
                        _coordinate(x),
                        _coordinate(HEIGHT - BOTTOM - height),
                        _coordinate(bar_width - Decimal(2)),
                        _coordinate(height),
                        series.colour,
                    )
                )
        return bars

    def category_labels(self) -> list[tuple[str, str]]:
        plot_width = WIDTH - LEFT - RIGHT
        group_width = plot_width / max(len(self.categories), 1)
        return [
            (_coordinate(LEFT + group_width * index + group_width / 2), category)
            for index, category in enumerate(self.categories)
        ]

    @property
    def grid_right(self) -> str:
        return _coordinate(WIDTH - RIGHT)

    @property
    def label_y(self) -> str:
        return _coordinate(HEIGHT - BOTTOM + 16)

    def legend(self) -> list[tuple[str, str, str, str]]:
        """(swatch x, text x, colour, name) of each series along the top."""
        entries = []
        x = LEFT
        for series in self.coloured_series:
            entries.append((_coordinate(x), _coordinate(x + 16), series.colour, series.name))
            x += Decimal(24) + Decimal(7) * len(series.name)
        return entries

    def rows(self) -> list[tuple[str, str | None, list[Decimal | None]]]:
        """The numbers as table rows: (category, its link, one value per series)."""
        urls = list(self.category_urls) + [None] * len(self.categories)
        return [
            (category, urls[index], [s.values[index] if index < len(s.values) else None for s in self.series])
            for index, category in enumerate(self.categories)
        ]


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten) at least `value`,
    so that the axis divides into four readable ticks (0 stays 0)."""
    if value <= 0:
        return Decimal(0)
    exponent = value.adjusted()
    steps = ("1", "1.2", "1.6", "2", "2.4", "3", "4", "5", "6", "8", "10")
    for mantissa in (Decimal(step) for step in steps):
        candidate = mantissa.scaleb(exponent)
        if candidate >= value:
            return candidate
    return Decimal(10).scaleb(exponent)  # pragma: no cover - 10 x 10^e always exceeds value


def compact(value: Decimal) -> str:
    """Axis labels: 250K, 1.25M."""
    return format_compact_decimal(value, locale="en", fraction_digits=2)


def _coordinate(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.1"), rounding=ROUND_CEILING))
