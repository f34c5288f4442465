"""Donors: make_organisation(), make_contact(), make_affiliation(), make_connector(), make_gift()."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest

from app.donors.models import (
    Affiliation,
    Connection,
    Connector,
    ConnectorRole,
    Contact,
    Gift,
    GiftMethod,
    Organisation,
    OrganisationKind,
)
from app.extensions import db

_numbers = itertools.count(1)


def _save(obj):
    db.session.add(obj)
    db.session.flush()
    return obj


@pytest.fixture
def make_organisation():
    """make_organisation(name=..., kind=..., status=..., country_code=..., owner=..., themes=[...])."""

    def build(**overrides) -> Organisation:
        number = next(_numbers)
        defaults = dict(
            name=f"Foundation {number}", kind=OrganisationKind.PRIVATE_FOUNDATION, country_code="US"
        )
        defaults.update(overrides)
        return _save(Organisation(**defaults))

    return build


@pytest.fixture
def make_contact(make_organisation):
    """make_contact(name=..., email=..., organisation=org, role=...): currently there when given one."""

    def build(
        organisation: Organisation | None = None, role: str = "Programme officer", **overrides
    ) -> Contact:
        number = next(_numbers)
        defaults = dict(name=f"Person {number}", email=f"person{number}@example.org")
        defaults.update(overrides)
        contact = _save(Contact(**defaults))
        if organisation is not None:
            _save(
                Affiliation(
                    contact=contact, organisation=organisation, role=role, started_on=date(2024, 1, 1)
                )
            )
        return contact

    return build


@pytest.fixture
def make_affiliation():
    def build(contact: Contact, organisation: Organisation, **overrides) -> Affiliation:
        return _save(Affiliation(contact=contact, organisation=organisation, **overrides))

    return build


@pytest.fixture
def make_connector():
    """make_connector(name=..., role=ConnectorRole.BOARD, user=..., contact=..., knows=[contact, ...])."""

    def build(knows=(), nature: str = "Former colleague", **overrides) -> Connector:
        number = next(_numbers)
        defaults = dict(name=f"Connector {number}", role=ConnectorRole.STEERING_COMMITTEE)
        defaults.update(overrides)
        connector = _save(Connector(**defaults))
        for contact in knows:
            _save(Connection(connector=connector, contact=contact, nature=nature))
        return connector

    return build


@pytest.fixture
def make_gift(make_organisation, make_hub):
    """make_gift(organisation=..., amount=Decimal("1000.00"), currency="USD", hub=..., received_on=...)."""

    def build(**overrides) -> Gift:
        if "hub" not in overrides and "hub_id" not in overrides:
            overrides["hub"] = make_hub(base_currency=overrides.get("currency", "USD"))
        if "organisation" not in overrides:
            overrides["organisation"] = make_organisation()
        defaults = dict(
            received_on=date(2026, 3, 2), amount=Decimal("1000.00"), currency="USD", method=GiftMethod.WIRE
        )
        defaults.update(overrides)
        return _save(Gift(**defaults))

    return build
