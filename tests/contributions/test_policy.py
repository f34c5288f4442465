"""The contribution policy: per fiscal year, amounts per income group and for local members."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.common.errors import ValidationFailed
from app.contributions.models import ContributionPolicy, PolicyExchangeRate
from app.contributions.services import policy as service
from app.extensions import db


def policy_form(**overrides) -> dict:
    data = {
        "fiscal_year": "2031",
        "currency": "USD",
        "high": "50000.00",
        "upper_middle": "25000.00",
        "lower_middle": "10000.00",
        "low": "5000.00",
        "local": "2500.00",
        "notes": "Steering Committee decision SC-2030-11",
    }
    data.update(overrides)
    return data


def policy_of(year: int) -> ContributionPolicy | None:
    return db.session.scalar(sa.select(ContributionPolicy).where(ContributionPolicy.fiscal_year == year))


def test_operations_set_a_years_policy_and_see_it_in_the_list(login_as):
    client = login_as("operations")
    response = client.post("/contributions/policy/new", data=policy_form())
    assert response.status_code == 302

    policy = policy_of(2031)
    assert (policy.currency, policy.high_amount, policy.local_amount) == (
        "USD",
        Decimal("50000.00"),
        Decimal("2500.00"),
    )
    page = client.get("/contributions/policy/").text
    assert "FY2031" in page and "$50,000.00" in page and "$2,500.00" in page


def test_the_new_policy_form_starts_in_the_reporting_currency(app, login_as):
    page = login_as("operations").get("/contributions/policy/new").text
    assert f'name="currency" required type="text" value="{app.config["REPORTING_CURRENCY"]}"' in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("high", "-1", "An amount cannot be negative."),
        ("local", "", "Give an amount (0 if nothing is expected)."),
        ("currency", "XYZ", "Give an ISO 4217 currency code such as USD or EUR."),
    ],
)
def test_bad_figures_are_refused_beside_the_field(login_as, field, value, message):
    response = login_as("operations").post("/contributions/policy/new", data=policy_form(**{field: value}))
    assert response.status_code == 422
    assert f'id="{field}-error">{message}' in response.text
    assert policy_of(2031) is None


def test_zero_is_an_allowed_amount(login_as):
    login_as("operations").post("/contributions/policy/new", data=policy_form(low="0", currency="eur"))
    assert (policy_of(2031).low_amount, policy_of(2031).currency) == (Decimal("0.00"), "EUR")


def test_a_year_has_one_policy(login_as, make_policy):
    make_policy(2031)
    response = login_as("operations").post("/contributions/policy/new", data=policy_form())
    assert (
        response.status_code == 422 and 'id="fiscal_year-error">FY2031 already has a policy.' in response.text
    )


def test_editing_changes_the_amounts_and_is_audited(login_as, make_policy):
    from app.common.audit import AuditEntry

    policy = make_policy(2031, currency="USD", high="50000.00")
    client = login_as("operations")
    assert "$50,000.00" not in client.get("/contributions/policy/2031").text  # the form shows plain numbers
    response = client.post("/contributions/policy/2031", data=policy_form(high="52000.00"))
    assert response.status_code == 302
    assert policy.high_amount == Decimal("52000.00")
    changes = db.session.scalars(
        sa.select(AuditEntry.changes).where(
            AuditEntry.record_type == "ContributionPolicy", AuditEntry.action == "update"
        )
    ).all()
    assert any(change.get("high_amount") == ["50000.00", "52000.00"] for change in changes)


def test_editing_warns_when_that_years_invoices_are_already_issued(
    login_as, make_policy, make_issued_invoice
):
    make_policy(2027)
    make_issued_invoice(fiscal_year=2027, kind="annual_contribution")
    page = login_as("operations").get("/contributions/policy/2027").text
    assert "1 annual contribution invoice for FY2027 was already issued" in page


def test_copy_forward_starts_a_year_from_the_previous_one(login_as, make_policy):
    make_policy(2030, currency="USD", high="48000.00", local="2400.00")
    response = login_as("operations").post("/contributions/policy/copy", data={"fiscal_year": "2031"})

    assert response.status_code == 302 and response.headers["Location"].endswith("/contributions/policy/2031")
    copied = policy_of(2031)
    assert (copied.currency, copied.high_amount, copied.local_amount) == (
        "USD",
        Decimal("48000.00"),
        Decimal("2400.00"),
    )


def test_copy_forward_refuses_a_year_that_exists_or_has_nothing_to_copy(login_as, make_policy):
    make_policy(2030, high="48000.00")
    make_policy(2031, high="50000.00")
    client = login_as("operations")

    response = client.post("/contributions/policy/copy", data={"fiscal_year": "2031"})
    assert response.status_code == 422 and "FY2031 already has a policy." in response.text
    assert policy_of(2031).high_amount == Decimal("50000.00")

    response = client.post("/contributions/policy/copy", data={"fiscal_year": "2040"})
    assert response.status_code == 422 and "There is no FY2039 policy to copy from." in response.text
    assert policy_of(2040) is None


def test_the_copy_form_proposes_the_year_after_the_latest(login_as, make_policy):
    make_policy(2030)
    page = login_as("operations").get("/contributions/policy/").text
    assert 'name="fiscal_year" required type="number" value="2031"' in page


def test_the_service_refuses_negative_amounts_without_touching_the_policy(make_policy):
    policy = make_policy(2031, high="50000.00")
    details = service.PolicyDetails(
        2031, "USD", Decimal("-1"), Decimal(0), Decimal(0), Decimal(0), Decimal(0)
    )
    with pytest.raises(ValidationFailed) as failed:
        service.update_policy(policy, details)
    assert failed.value.field_errors == {"high": ["An amount cannot be negative."]}
    assert policy.high_amount == Decimal("50000.00")


def test_board_reads_the_policy_and_gets_403_on_every_change(login_as, make_policy):
    make_policy(2030)
    board = login_as("board")
    page = board.get("/contributions/policy/")
    assert page.status_code == 200 and "FY2030" in page.text and "Copy" not in page.text
    assert board.post("/contributions/policy/new", data=policy_form()).status_code == 403
    assert board.post("/contributions/policy/2030", data=policy_form(fiscal_year="2030")).status_code == 403
    assert board.post("/contributions/policy/copy", data={"fiscal_year": "2031"}).status_code == 403
    assert board.get("/contributions/policy/2030").status_code == 403
    assert policy_of(2031) is None


# --- Budget exchange rates ---------------------------------------------------------------------------------


@pytest.fixture
def hubs(make_hub):
    """The headquarters in USD, the Brussels hub in EUR, and a closed office in GBP that needs no rate."""
    from app.hubs.models import HubStatus

    return {
        "hq": make_hub(name="Washington DC headquarters", invoice_prefix="HQ", base_currency="USD"),
        "brussels": make_hub(name="Brussels hub", invoice_prefix="BE", base_currency="EUR"),
        "london": make_hub(
            name="London office", invoice_prefix="LN", base_currency="GBP", status=HubStatus.CLOSED
        ),
    }


def rate_of(year: int, currency: str):
    return policy_of(year).rate_to(currency)


def test_the_form_asks_one_rate_per_other_currency_of_the_open_hubs(login_as, hubs):
    page = login_as("operations").get("/contributions/policy/new").text
    assert '<label for="rate_EUR">EUR for 1 USD</label>' in page
    assert "Used by Brussels hub." in page
    assert 'name="rate_USD"' not in page  # the policy's own currency needs no rate
    assert 'name="rate_GBP"' not in page  # a closed hub invoices nothing


def test_operations_set_the_years_budget_rate_and_the_list_shows_it(login_as, hubs):
    from app.common.audit import AuditEntry

    client = login_as("operations")
    response = client.post("/contributions/policy/new", data=policy_form(rate_EUR="0.92"))
    assert response.status_code == 302
    assert rate_of(2031, "EUR") == Decimal("0.92")
    assert db.session.scalar(
        sa.select(sa.func.count(AuditEntry.id)).where(
            AuditEntry.record_type == "PolicyExchangeRate", AuditEntry.action == "create"
        )
    )
    assert "1 USD = 0.9200 EUR" in client.get("/contributions/policy/").text
    # The edit form shows the stored rate plainly, and a new value replaces it.
    edit_page = client.get("/contributions/policy/2031").text
    assert 'name="rate_EUR" step="any" type="number" value="0.9200"' in edit_page
    client.post("/contributions/policy/2031", data=policy_form(rate_EUR="0.935"))
    assert rate_of(2031, "EUR") == Decimal("0.935")


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        ("0", "A rate must be more than zero."),
        ("-0.92", "A rate must be more than zero."),
        ("0.123456789", "Use at most 8 decimal places."),
        ("0,92", "Enter a rate in digits, with a point before the decimals, such as 0.9215."),
    ],
)
def test_a_bad_rate_is_refused_beside_its_field(login_as, hubs, make_policy, rate, message):
    policy = make_policy(2031, currency="USD")
    policy.exchange_rates.append(PolicyExchangeRate(currency="EUR", rate=Decimal("0.92")))
    db.session.flush()
    response = login_as("operations").post("/contributions/policy/2031", data=policy_form(rate_EUR=rate))
    assert response.status_code == 422
    assert f'id="rate_EUR-error">{message}' in response.text
    assert rate_of(2031, "EUR") == Decimal("0.92")


def test_the_service_refuses_a_zero_rate_too(make_policy):
    policy = make_policy(2031, currency="USD")
    details = service.PolicyDetails(
        2031, "USD", *(Decimal("1000") for _ in range(5)), rates={"EUR": Decimal("0")}
    )
    with pytest.raises(ValidationFailed) as failed:
        service.update_policy(policy, details)
    assert failed.value.field_errors == {"rate_EUR": ["A rate must be more than zero."]}
    assert policy.exchange_rates == []


def test_a_missing_rate_is_shown_in_the_list_and_a_blank_field_removes_a_rate(login_as, hubs, make_policy):
    policy = make_policy(2031, currency="USD")
    policy.exchange_rates.append(PolicyExchangeRate(currency="EUR", rate=Decimal("0.92")))
    db.session.flush()
    client = login_as("operations")

    client.post("/contributions/policy/2031", data=policy_form(rate_EUR=""))
    assert rate_of(2031, "EUR") is None
    page = client.get("/contributions/policy/").text
    assert "No EUR rate" in page and "needed by Brussels hub" in page


def test_copy_forward_copies_the_budget_rates(login_as, hubs, make_policy):
    policy = make_policy(2030, currency="USD", high="48000.00")
    policy.exchange_rates.append(PolicyExchangeRate(currency="EUR", rate=Decimal("0.91")))
    db.session.flush()

    response = login_as("operations").post(
        "/contributions/policy/copy", data={"fiscal_year": "2031"}, follow_redirects=True
    )

    assert rate_of(2031, "EUR") == Decimal("0.91") and rate_of(2030, "EUR") == Decimal("0.91")
    assert "check the amounts and the budget rates" in response.text
    assert 'name="rate_EUR" step="any" type="number" value="0.9100"' in response.text
