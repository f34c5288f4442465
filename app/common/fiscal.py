"""Fiscal years. A fiscal year starts in the configured month and is named by the calendar year it ends in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app, has_app_context

from .time import today

#: The fiscal years anyone may type or ask for in a URL.
FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR = 2000, 2100


def start_month() -> int:
    return int(current_app.config["FISCAL_YEAR_START_MONTH"]) if has_app_context() else 1


def fiscal_year_of(day: date, first_month: int | None = None) -> int:
    """The fiscal year a date falls in."""
    first_month = first_month or start_month()
    if first_month == 1:
        return day.year
    return day.year + 1 if day.month >= first_month else day.year


@dataclass(frozen=True)
class FiscalYear:
    year: int
    starts_on: date
    ends_on: date

    def __contains__(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    def __str__(self) -> str:
        return f"FY{self.year}"


def fiscal_year(year: int, first_month: int | None = None) -> FiscalYear:
    """The first and last day of fiscal year `year`."""
    first_month = first_month or start_month()
    start = date(year, first_month, 1) if first_month == 1 else date(year - 1, first_month, 1)
    next_start = date(start.year + 1, start.month, 1)
    return FiscalYear(year, start, next_start - timedelta(days=1))


def current_fiscal_year() -> int:
    return fiscal_year_of(today())
