"""The board's open pipeline figures: per stage and year, each currency's sum weighted and converted once (as
the plan converts), asks ranked by their converted total, a missing rate named and never counted as 1:1."""

from __future__ import annotations

from decimal import Decimal

from app.common.fiscal import current_fiscal_year
from app.pipeline.services.board import board_report
from app.pipeline.services.conversion import MissingPlanRate
from app.pipeline.stages import Stage


def _cell(cells, key):
    return next(cell for cell in cells if cell.key == key)


def test_a_stage_converts_each_currencys_sum_once(make_opportunity, make_rate):
    year = current_fiscal_year()
    make_rate(year, "EUR", "0.80")
    for _ in range(2):
        make_opportunity(
            amount="1000.01", currency="EUR", split={year: "1000.01"}, stage=Stage.PROPOSAL, probability=33
        )
    proposal = _cell(board_report().by_stage, Stage.PROPOSAL.value)
    assert proposal.count == 2
    assert proposal.by_currency == {"EUR": Decimal("2000.02")}
    assert proposal.amount == Decimal("2500.03")  # 2000.02 / 0.80 = 2500.025, not 2 x 1250.01
    assert proposal.weighted == Decimal("825.01")  # 2000.02 x 33% = 660.0066 -> 660.01; / 0.80 = 825.0125


def test_the_top_asks_rank_by_converted_total_with_missing_rates_last(make_opportunity, make_rate):
    year = current_fiscal_year()
    make_rate(year, "EUR", "0.50")
    no_rate = make_opportunity(amount="900000.00", currency="GBP", split={year: "900000.00"})
    small = make_opportunity(amount="3000.00", currency="USD", split={year: "1000.00", year + 1: "2000.00"})
    euros = make_opportunity(amount="2000.00", currency="EUR", split={year: "2000.00"}, stage=Stage.QUALIFIED)
    report = board_report()
    assert [item.opportunity.id for item in report.top] == [euros.id, small.id, no_rate.id]
    assert [item.converted for item in report.top] == [Decimal("4000.00"), Decimal("3000.00"), None]
    assert MissingPlanRate(year, "GBP") in report.missing_rates
    assert _cell(report.by_stage, Stage.IDENTIFIED.value).amount is None
    assert _cell(report.by_stage, Stage.IDENTIFIED.value).count == 2
    this_year = _cell(report.by_year, year)
    assert this_year.count == 3 and this_year.amount is None
    assert _cell(report.by_year, year + 1).amount == Decimal("2000.00")
