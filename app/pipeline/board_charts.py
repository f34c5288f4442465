"""Charts of the plan page, the board dashboard and the board pack, made from the one report they share."""

from __future__ import annotations

from flask import url_for

from .charts import PALETTE, BarChart, Series
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


#: Income groups as the chart's axis names them (the table beside it has the full names).
SHORT_GROUP_LABELS = {
    "high": "High",
    "upper_middle": "Upper-middle",
    "lower_middle": "Lower-middle",
    "low": "Low",
    "local": "Local",
    "unknown": "Unknown",
}


def board_charts(report, links: bool = True) -> dict[str, BarChart]:
    """Every chart of the dashboard and the pack, from the one board report."""
    plan = plan_chart(report.plan, links)
    plan.id = "board-plan-chart"
    stage_chart = BarChart(
        id="stage-chart",
        title="Open pipeline by stage",
        unit=report.reporting_currency,
        categories=[cell.label for cell in report.by_stage],
        series=[
            Series("Amount asked", [cell.amount for cell in report.by_stage]),
            Series("Weighted", [cell.weighted for cell in report.by_stage], colour=PALETTE[2]),
        ],
        category_urls=[
            url_for("pipeline.list_opportunities", stage=cell.key) if links else None
            for cell in report.by_stage
        ],
    )
    year_chart = BarChart(
        id="year-chart",
        title="Open pipeline by fiscal year",
        unit=report.reporting_currency,
        categories=[cell.label for cell in report.by_year],
        series=[
            Series("Amount asked", [cell.amount for cell in report.by_year]),
            Series("Weighted", [cell.weighted for cell in report.by_year], colour=PALETTE[2]),
        ],
        category_urls=[
            url_for("pipeline.list_opportunities", fiscal_year=cell.key) if links else None
            for cell in report.by_year
        ],
    )
    forecast = report.contributions
    collection_chart = BarChart(
        id="collection-chart",
        title=f"FY{forecast.fiscal_year} contribution collection by income group",
        unit=report.reporting_currency,
        categories=[SHORT_GROUP_LABELS.get(group.group, group.label) for group in forecast.groups],
        series=[
            Series("Expected", [group.weighted.converted for group in forecast.groups]),
            Series("Invoiced", [group.invoiced.converted for group in forecast.groups], colour=PALETTE[1]),
            Series("Paid", [group.paid.converted for group in forecast.groups], colour=PALETTE[2]),
        ],
        category_urls=[_members_url(group.group) if links else None for group in forecast.groups],
    )
    return {"plan": plan, "stage": stage_chart, "year": year_chart, "collection": collection_chart}


def _members_url(group: str) -> str:
    if group == "local":
        return url_for("contributions.list_members", kind="local", status="active")
    if group == "unknown":
        return url_for("contributions.list_members", status="active")
    return url_for("contributions.list_members", income_group=group, status="active")
