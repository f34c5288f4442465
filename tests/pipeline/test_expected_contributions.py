"""Expected country contributions: policy amounts weighted by each member's payment record, by hand."""

from decimal import Decimal

from app.pipeline.services.conversion import MissingPlanRate
from app.pipeline.services.expected_contributions import contribution_forecast

D = Decimal


def _invoice(make_issued_invoice, member, year, amount, paid):
    invoice = make_issued_invoice(member=member, fiscal_year=year, amount=amount)
    invoice.amount_paid = D(paid)
    return invoice


def test_expected_contributions_weighted_by_the_last_three_years(
    make_member, make_policy, make_issued_invoice
):
    make_policy(2027, currency="USD", lower_middle="10000.00", high="50000.00", local="2500.00")
    steady = make_member(income_group="lower_middle", fiscal_year=2027)
    _invoice(make_issued_invoice, steady, 2025, "10000.00", "10000.00")
    _invoice(make_issued_invoice, steady, 2026, "10000.00", "5000.00")  # record 15000 / 20000 = 75%
    _invoice(make_issued_invoice, steady, 2027, "10000.00", "2000.00")  # this year: 20% paid
    make_member(income_group="high", fiscal_year=2027)  # no record: counted in full
    city = make_member(kind="local")
    _invoice(make_issued_invoice, city, 2026, "2500.00", "0.00")  # record 0%

    forecast = contribution_forecast(2027, {(2027, "EUR"): D("0.80")}, "USD", current_year=2027)

    assert forecast.record_years == [2024, 2025, 2026]
    by_member = {m.member.id: m for m in forecast.members}
    assert by_member[steady.id].record == D("0.75")
    assert by_member[steady.id].weighted == D("7500.00")
    assert by_member[steady.id].still_expected == D("6000.00")  # 7500 x (1 - 0.20)
    assert by_member[city.id].weighted == D("0.00")
    groups = {group.group: group for group in forecast.groups}
    assert groups["high"].weighted.converted == D("50000.00")
    assert groups["lower_middle"].invoiced.by_currency == {"EUR": D("10000.00")}
    assert groups["lower_middle"].invoiced.converted == D("12500.00")  # 10000 EUR / 0.80
    assert forecast.total.expected.converted == D("62500.00")
    assert forecast.total.weighted.converted == D("57500.00")
    assert forecast.total.paid.converted == D("2500.00")
    assert forecast.rates_used == {(2027, "EUR"): D("0.80")}


def test_a_missing_rate_leaves_the_invoiced_total_unconverted(make_member, make_policy, make_issued_invoice):
    make_policy(2027, currency="USD")
    member = make_member(income_group="low", fiscal_year=2027)
    _invoice(make_issued_invoice, member, 2027, "5000.00", "0.00")
    forecast = contribution_forecast(2027, {}, "USD", current_year=2027)
    assert forecast.total.invoiced.converted is None
    assert forecast.total.expected.converted == D("5000.00")
    assert forecast.missing_rates == [MissingPlanRate(2027, "EUR")]
