"""Hubs: `make_hub`, and `hub`, the Brussels hub (EUR, prefix BE) most tests bill from."""

from __future__ import annotations

import itertools

import pytest

from app.extensions import db
from app.hubs.models import Hub, HubKind, HubStatus

_hub_numbers = itertools.count(1)


@pytest.fixture
def make_hub():
    """Build a hub: make_hub(name=..., base_currency="EUR", invoice_prefix="BE", ...). Valid bank details."""

    def build(**overrides) -> Hub:
        number = next(_hub_numbers)
        currency = overrides.pop("base_currency", "USD")
        defaults = dict(
            name=f"Hub {number}",
            kind=HubKind.HUB_OFFICE,
            status=HubStatus.OPEN,
            legal_name=f"Tributary Hub {number} AISBL",
            street_address="Rue de la Loi 42",
            city="Brussels",
            postal_code="1000",
            country_code="BE",
            registration_number="0403.170.701",
            vat_number="BE0403170701",
            base_currency=currency,
            bank_name="Demo Bank",
            iban="BE71096123456769",
            bic="GKCCBEBB",
            invoice_prefix=f"H{number}",
            payment_terms_days=30,
            tax_statement={
                "en": "VAT exempt, art. 44",
                "fr": "Exonéré de TVA, art. 44",
                "es": "Exento de IVA",
            },
            legal_mentions={
                "en": "Registered in Brussels",
                "fr": "Enregistrée à Bruxelles",
                "es": "Registrada",
            },
        )
        defaults.update(overrides)
        hub = Hub(**defaults)
        db.session.add(hub)
        db.session.flush()
        return hub

    return build


@pytest.fixture
def hub(make_hub):
    return make_hub(name="Brussels hub", base_currency="EUR", invoice_prefix="BE")
