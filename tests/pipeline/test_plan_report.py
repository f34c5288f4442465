"""The plan report on a hand-computed case: pledges, unapplied gifts and weighted asks in three currencies."""

from datetime import date
from decimal import Decimal

from app.common.fiscal import current_fiscal_year
from app.common.time import today
from app.donors.models import OrganisationKind
from app.pipeline.services.conversion import MissingPlanRate
from app.pipeline.services.plan_report import plan_report
from app.pipeline.sources import Source
from app.pipeline.stages import Stage

D = Decimal


def test_secured_weighted_and_gap_from_pledges_gifts_and_open_asks(
    make_opportunity, make_pledge, make_gift, make_organisation, make_rate, make_target
):
    year = current_fiscal_year()
    make_target(year, Source.FOUNDATIONS, "500000.00")
    make_rate(year, "EUR", "0.80")
    make_rate(year, "GBP", "0.78")
    make_rate(year + 1, "EUR", "0.80")
    # 60% of the EUR 60000 share for this year: 36000 EUR = 45000 USD weighted.
    make_opportunity(
        amount="100000.00",
        currency="EUR",
        split={year: "60000.00", year + 1: "40000.00"},
        stage=Stage.PROPOSAL,
    )
    make_pledge(amount="50000.00", split={year: "50000.00"})  # secured in full
    agency = make_organisation(kind=OrganisationKind.BILATERAL_AGENCY)
    make_gift(
        organisation=agency, amount=D("7800.00"), currency="GBP", received_on=date(year, 1, 5)
    )  # 10000 USD

    report = plan_report([year, year + 1], as_of=today())

    foundations = report.figures.cell(year, Source.FOUNDATIONS)
    assert foundations.secured.converted == D("50000.00")
    assert foundations.weighted.by_currency == {"EUR": D("36000.00")}
    assert foundations.weighted.converted == D("45000.00")
    assert foundations.gap == D("405000.00")
    bilateral = report.figures.cell(year, Source.BILATERAL)
    assert bilateral.secured.by_currency == {"GBP": D("7800.00")}
    assert bilateral.secured.converted == D("10000.00")
    assert report.figures.cell(year + 1, Source.FOUNDATIONS).weighted.converted == D("30000.00")  # 24000 EUR
    assert report.figures.rates_used == {
        (year, "EUR"): D("0.80"),
        (year, "GBP"): D("0.78"),
        (year + 1, "EUR"): D("0.80"),
    }


def test_an_ask_in_a_currency_without_a_plan_rate_is_named_and_never_counted_one_to_one(make_opportunity):
    year = current_fiscal_year()
    make_opportunity(amount="1000.00", currency="CHF", split={year: "1000.00"}, stage=Stage.QUALIFIED)
    report = plan_report([year], as_of=today())
    assert report.figures.missing_rates == [MissingPlanRate(year, "CHF")]
    assert report.figures.totals[year].weighted.converted is None
