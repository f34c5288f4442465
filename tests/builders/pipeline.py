"""Builders for pipeline tests: make_opportunity(), make_pledge(), make_rate(), make_target()."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.auth.permissions import Role
from app.common.audit import acting_as
from app.common.time import today
from app.extensions import db
from app.pipeline.models import PlanExchangeRate, PlanTarget
from app.pipeline.services import opportunities
from app.pipeline.services.arithmetic import SplitRow
from app.pipeline.sources import Source
from app.pipeline.stages import Stage


@pytest.fixture
def fundraiser(make_user):
    return make_user(Role.FUNDRAISING)


@pytest.fixture
def make_opportunity(make_organisation, fundraiser):
    """make_opportunity(amount="100000.00", currency="USD", split={2027: "60000.00", 2028: "40000.00"},
    stage=Stage.PROPOSAL, probability=None, organisation=..., owner=..., **details)."""

    def build(amount="100000.00", currency="USD", split=None, stage=Stage.IDENTIFIED, **overrides):
        owner = overrides.pop("owner", fundraiser)
        organisation = overrides.pop("organisation", None) or make_organisation()
        probability = overrides.pop("probability", None)
        split = split or {2027: amount}
        details = opportunities.OpportunityDetails(
            organisation_id=organisation.id,
            title=overrides.pop("title", f"Support from {organisation.name}"),
            owner_id=owner.id,
            amount=Decimal(amount),
            currency=currency,
            split=[SplitRow(year, Decimal(value)) for year, value in split.items()],
            **overrides,
        )
        with acting_as(owner):
            opportunity = opportunities.create_opportunity(details, owner)
            if stage != Stage.IDENTIFIED:
                opportunities.move_stage(
                    opportunity,
                    stage,
                    owner,
                    reason="Not this year" if stage.needs_reason else "",
                    probability=probability,
                    agreed_on=today(),
                )
            elif probability is not None:
                opportunity.probability = probability
        db.session.flush()
        return opportunity

    return build


@pytest.fixture
def make_pledge(make_opportunity):
    """A won opportunity's pledge: make_pledge(amount=..., currency=..., split={year: amount})."""

    def build(**overrides):
        opportunity = make_opportunity(stage=Stage.WON, **overrides)
        return opportunity.pledge

    return build


@pytest.fixture
def make_rate():
    def build(fiscal_year: int, currency: str, rate: str) -> PlanExchangeRate:
        row = PlanExchangeRate(
            fiscal_year=fiscal_year, currency=currency, rate=Decimal(rate), reporting_currency="USD"
        )
        db.session.add(row)
        db.session.flush()
        return row

    return build


@pytest.fixture
def make_target():
    def build(fiscal_year: int, source: Source, amount: str) -> PlanTarget:
        row = PlanTarget(fiscal_year=fiscal_year, source=source, amount=Decimal(amount), currency="USD")
        db.session.add(row)
        db.session.flush()
        return row

    return build
