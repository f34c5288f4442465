"""The plan page, its targets and the plan's exchange rates, as the people who use them."""

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from app.common.audit import AuditEntry
from app.common.fiscal import current_fiscal_year
from app.contributions.models import Payment, PaymentMethod
from app.extensions import db
from app.pipeline.models import PlanExchangeRate, PlanTarget
from app.pipeline.services import plan as plan_service
from app.pipeline.sources import Source

D = Decimal


def _target(year, source, amount):
    target = PlanTarget(fiscal_year=year, source=source, amount=D(amount), currency="USD")
    db.session.add(target)
    return target


def _rate(year, currency, rate):
    row = PlanExchangeRate(fiscal_year=year, currency=currency, rate=D(rate), reporting_currency="USD")
    db.session.add(row)
    return row


def test_a_fundraiser_sets_a_years_targets(login_as):
    client = login_as("fundraising")
    year = current_fiscal_year()
    response = client.post(
        f"/pipeline/plan/{year}/targets",
        data={"foundations": "500000", "bilateral": "250000.50", "country_contributions": "", "other": "0"},
    )
    assert response.status_code == 302
    saved = plan_service.targets([year])
    assert {source: target.amount for (_y, source), target in saved.items()} == {
        Source.FOUNDATIONS: D("500000.00"),
        Source.BILATERAL: D("250000.50"),
        Source.OTHER: D("0.00"),
    }
    page = client.get("/pipeline/plan").get_data(as_text=True)
    assert "$750,000.50" in page
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.record_type == "PlanTarget")) == 3


def test_a_negative_target_is_refused_beside_its_field_and_nothing_is_saved(login_as):
    client = login_as("fundraising")
    year = current_fiscal_year()
    response = client.post(f"/pipeline/plan/{year}/targets", data={"foundations": "-5", "bilateral": "abc"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "An amount cannot be negative." in page
    assert page.count('class="field-error"') == 2
    assert plan_service.targets([year]) == {}


def test_operations_keep_the_plan_rates_and_a_fundraiser_cannot(login_as):
    operations = login_as("operations")
    response = operations.post(
        "/pipeline/plan/rates", data={"fiscal_year": "2027", "currency": "eur", "rate": "0.92"}
    )
    assert response.status_code == 302
    assert plan_service.rate_table([2027]) == {(2027, "EUR"): D("0.92000000")}
    assert "1 USD = 0.92 EUR" in operations.get("/pipeline/plan/rates").get_data(as_text=True)
    fundraiser = login_as("fundraising")
    assert (
        fundraiser.post(
            "/pipeline/plan/rates", data={"fiscal_year": "2027", "currency": "GBP", "rate": "0.8"}
        ).status_code
        == 403
    )


def test_a_rate_for_the_reporting_currency_or_below_zero_is_refused(login_as):
    operations = login_as("operations")
    page = operations.post(
        "/pipeline/plan/rates", data={"fiscal_year": "2027", "currency": "USD", "rate": "1"}
    )
    assert page.status_code == 422
    assert "USD is the reporting currency" in page.get_data(as_text=True)
    page = operations.post(
        "/pipeline/plan/rates", data={"fiscal_year": "2027", "currency": "EUR", "rate": "-1"}
    )
    assert "A rate must be more than zero." in page.get_data(as_text=True)
    assert plan_service.rates() == []


def test_the_plan_counts_contribution_payments_converted_at_the_plan_rate(login_as, make_member):
    year = current_fiscal_year()
    _target(year, Source.COUNTRY_CONTRIBUTIONS, "100000.00")
    _rate(year, "EUR", "0.80")
    member = make_member()
    db.session.add(
        Payment(
            member=member,
            amount=D("40000.00"),
            currency="EUR",
            received_on=date(year, 1, 15),
            method=PaymentMethod.WIRE,
        )
    )
    db.session.flush()
    page = login_as("board").get("/pipeline/plan").get_data(as_text=True)
    # 40000 EUR / 0.80 = 50000 USD secured; gap 100000 - 50000 = 50000.
    assert f'data-total="secured-{year}">$50,000.00' in page
    assert f'data-total="gap-{year}">$50,000.00' in page
    assert "1 USD = 0.8 EUR" in page
    assert "<svg" in page and "Plan against actuals" in page


def test_a_missing_plan_rate_is_shown_as_a_problem(login_as, make_member):
    year = current_fiscal_year()
    member = make_member()
    db.session.add(
        Payment(
            member=member,
            amount=D("10.00"),
            currency="EUR",
            received_on=date(year, 2, 1),
            method=PaymentMethod.WIRE,
        )
    )
    db.session.flush()
    page = login_as("board").get("/pipeline/plan").get_data(as_text=True)
    assert f"No plan rate for EUR in FY{year}" in page
    assert "rate missing" in page


def test_the_plan_shows_expected_contributions_or_says_why_not(login_as, make_member):
    make_member()
    page = login_as("board").get("/pipeline/plan").get_data(as_text=True)
    assert "Expected country contributions" in page
    assert f"There is no contribution policy for FY{current_fiscal_year()}." in page


def test_a_year_above_its_target_reads_over_target_by_not_a_negative_gap(login_as, make_member):
    year = current_fiscal_year()
    _target(year, Source.COUNTRY_CONTRIBUTIONS, "30000.00")
    _rate(year, "EUR", "0.80")
    db.session.add(
        Payment(
            member=make_member(),
            amount=D("40000.00"),
            currency="EUR",
            received_on=date(year, 1, 15),
            method=PaymentMethod.WIRE,
        )
    )
    db.session.flush()
    for url in ("/pipeline/plan", "/pipeline/board"):
        page = login_as("board").get(url).get_data(as_text=True)
        # 40000 EUR / 0.80 = 50000 USD secured, 20000 above the target of 30000.
        assert f'data-total="gap-{year}"><span class="ok">over target by $20,000.00</span>' in page, url
        assert "-$20,000.00" not in page and "−$20,000.00" not in page
