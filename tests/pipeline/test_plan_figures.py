"""Plan against actuals on hand-computed cases: per currency, converted with the plan's rates, gaps."""

from decimal import Decimal

from app.pipeline.services.conversion import MissingPlanRate
from app.pipeline.services.plan_figures import Figure, plan_figures
from app.pipeline.sources import Source

D = Decimal
F = Source.FOUNDATIONS
B = Source.BILATERAL


def test_target_secured_weighted_and_gap_per_year_and_source():
    figures = plan_figures(
        years=[2027, 2028],
        targets={(2027, F): D("500000.00"), (2028, F): D("600000.00"), (2027, B): D("200000.00")},
        secured=[Figure(2027, F, D("150000.00"), "USD"), Figure(2027, F, D("46000.00"), "EUR")],
        weighted=[Figure(2027, F, D("60000.00"), "USD"), Figure(2028, B, D("92000.00"), "EUR")],
        rates={(2027, "EUR"): D("0.92"), (2028, "EUR"): D("0.80")},
        reporting_currency="USD",
    )
    cell = figures.cell(2027, F)
    assert cell.secured.by_currency == {"USD": D("150000.00"), "EUR": D("46000.00")}
    assert cell.secured.converted == D("200000.00")  # 150000 + 46000 / 0.92
    assert cell.weighted.converted == D("60000.00")
    assert cell.gap == D("240000.00")  # 500000 - 200000 - 60000
    assert cell.secured_share == D("40")
    bilateral_2028 = figures.cell(2028, B)
    assert bilateral_2028.target is None and bilateral_2028.gap is None
    assert bilateral_2028.weighted.converted == D("115000.00")  # 92000 / 0.80
    total_2027 = figures.totals[2027]
    assert total_2027.target == D("700000.00")
    assert total_2027.forecast == D("260000.00")
    assert total_2027.gap == D("440000.00")
    assert figures.rates_used == {(2027, "EUR"): D("0.92"), (2028, "EUR"): D("0.80")}
    assert figures.missing_rates == []


def test_a_missing_rate_leaves_the_year_without_a_converted_total_and_is_named():
    figures = plan_figures(
        years=[2027],
        targets={(2027, F): D("100000.00")},
        secured=[Figure(2027, F, D("10000.00"), "USD"), Figure(2027, F, D("5000.00"), "GBP")],
        weighted=[],
        rates={(2027, "EUR"): D("0.92")},
        reporting_currency="USD",
    )
    cell = figures.cell(2027, F)
    assert cell.secured.by_currency == {"USD": D("10000.00"), "GBP": D("5000.00")}
    assert cell.secured.converted is None and cell.gap is None
    assert figures.totals[2027].gap is None
    assert figures.missing_rates == [MissingPlanRate(2027, "GBP")]


def test_each_currency_is_summed_before_it_is_converted_once():
    # Two 1000.00 EUR gifts at 0.93: converting each gives 1075.27 twice (2150.54), the sum gives 2150.54 too,
    # but three of 10.00 at 0.3 show the difference: 33.33 * 3 = 99.99 against 30.00 / 0.3 = 100.00.
    figures = plan_figures(
        years=[2027],
        targets={},
        secured=[Figure(2027, F, D("10.00"), "EUR")] * 3,
        weighted=[],
        rates={(2027, "EUR"): D("0.3")},
        reporting_currency="USD",
    )
    assert figures.cell(2027, F).secured.converted == D("100.00")


def test_figures_outside_the_years_shown_are_left_out():
    figures = plan_figures([2027], {}, [Figure(2030, F, D("1.00"), "USD")], [], {}, "USD")
    assert figures.totals[2027].secured.converted == D("0.00")
