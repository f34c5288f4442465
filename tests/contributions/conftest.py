"""Fixtures of the contribution tests: the annual run's scenarios, and Stripe's fakes. The builders
(make_member, make_issued_invoice...) are in tests/builders/contributions.py, loaded for every directory."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.contributions.models import (
    AdjustmentKind,
    IncomeGroup,
    Language,
    MemberContact,
    MemberStatus,
    PolicyExchangeRate,
)
from app.extensions import db
from app.hubs.models import HubKind

# Stripe in tests: the fake Stripe API and the fixture that switches online payment on (see stripe_fakes.py).
from .stripe_fakes import stripe_api, stripe_keys  # noqa: F401

# --- The annual run's scenarios (test_annual_run.py and test_annual_run_preview.py) -------------------------


@pytest.fixture
def headquarters(make_hub):
    return make_hub(
        name="Washington DC headquarters",
        kind=HubKind.HEADQUARTERS,
        base_currency="USD",
        invoice_prefix="HQ",
        country_code="US",
    )


@pytest.fixture
def membership(hub, headquarters, make_member, make_policy, make_adjustment):
    """A FY2027 policy in EUR (with its budget rate into USD, 1 EUR = 1.08 USD), and members in both hubs:
    groups, a local member, an adjustment, a waiver and three problems."""
    policy = make_policy(
        2027, currency="EUR", high="50000.00", lower_middle="10000.00", low="5000.00", local="2500.00"
    )
    policy.exchange_rates.append(PolicyExchangeRate(currency="USD", rate=Decimal("1.08")))
    members = {
        "high": make_member(name="Highland", income_group=IncomeGroup.HIGH, hub=headquarters),
        "lower_1": make_member(name="Lowerton", income_group=IncomeGroup.LOWER_MIDDLE, language=Language.FR),
        "lower_2": make_member(name="Midvale", income_group=IncomeGroup.LOWER_MIDDLE, hub=headquarters),
        "local": make_member(name="Porto Alegre", kind="local"),
        "reduced": make_member(name="Reducia", income_group=IncomeGroup.HIGH),
        "waived": make_member(name="Waivonia", income_group=IncomeGroup.LOW),
        "no_group": make_member(name="Nogroup", income_group=None),
        "no_contact": make_member(name="Nocontact", with_contact=False),
        "no_email": make_member(name="Noemail", with_contact=False),
        "inactive": make_member(name="Sleepyland", status=MemberStatus.INACTIVE),
    }
    members["no_email"].contacts.append(MemberContact(name="Phone only", email="", is_primary=True))
    make_adjustment(member=members["reduced"], amount="20000.00", approval_reference="SC-2026-04")
    make_adjustment(member=members["waived"], kind=AdjustmentKind.WAIVER, approval_reference="SC-2026-05")
    db.session.commit()
    return members


@pytest.fixture
def dollar_policy(hub, headquarters, make_member, make_policy):
    """FY2027 in USD, as DESIGN.md sets it: a Brussels member (EUR hub) and a headquarters member (USD)."""
    policy = make_policy(2027, currency="USD", lower_middle="10000.00")
    members = {
        "brussels": make_member(
            name="Bruxellia", income_group=IncomeGroup.LOWER_MIDDLE, language=Language.FR
        ),
        "washington": make_member(name="Columbia", income_group=IncomeGroup.LOWER_MIDDLE, hub=headquarters),
    }
    return policy, members


@pytest.fixture
def converted(dollar_policy):
    """FY2027 in USD with a budget rate into EUR: Bruxellia (Brussels) is converted, Columbia is not."""
    policy, members = dollar_policy
    policy.exchange_rates.append(PolicyExchangeRate(currency="EUR", rate=Decimal("0.92")))
    db.session.commit()
    return policy, members
