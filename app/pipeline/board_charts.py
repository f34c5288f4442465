"""Charts of the plan page, the board dashboard and the board pack, made from the one report they share."""

from __future__ import annotations

from flask import url_for

from .charts import BarChart, Series
from .services.plan_report import PlanReport


def plan_chart(report: PlanReport, links: bool = True) -> BarChart:
    """Target, secured and weighted pipeline per fiscal year, in the reporting currency."""
    totals = [report.figures.totals[year] for year in report.years]
    return BarChart(
        id="plan-chart",
        title="Plan against actuals",
        unit=report.reporting_currency,
        categories=[f"FY{year}" for year in report.years],
        series=[
            Series("Target", [total.target for total in totals]),
            Series("Secured", [total.secured.converted for total in totals]),
            Series("Weighted pipeline", [total.weighted.converted for total in totals]),
        ],
        category_urls=[
            url_for("pipeline.show_plan", from_year=year, _anchor=f"fy{year}") if links else None
            for year in report.years
        ],
    )
