"""Helpers of the hub tests (pictures, the add-a-hub form); the builders are in tests/builders/."""

from __future__ import annotations

import io

from PIL import Image


def picture(kind: str = "PNG", size=(120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "#1565c0").save(buffer, kind)
    return buffer.getvalue()


def hub_form(**overrides) -> dict:
    """What a person types to add a Belgian hub office; every identifier is valid."""
    data = {
        "name": "Antwerp hub",
        "kind": "hub_office",
        "status": "planned",
        "opening_date": "2027-03-01",
        "legal_name": "Tributary Antwerp AISBL",
        "street_address": "Meir 1",
        "postal_code": "2000",
        "city": "Antwerp",
        "country_code": "BE",
        "registration_number": "0888.776.653",
        "vat_number": "BE0888776653",
        "base_currency": "EUR",
        "invoice_prefix": "ANT",
        "payment_terms_days": "30",
        "bank_name": "Belfius Bank",
        "iban": "BE22 0960 0123 4547",
        "bic": "GKCCBEBB",
        "account_number": "",
        "routing_number": "",
        "tax_statement_en": "Outside the scope of Belgian VAT.",
        "tax_statement_fr": "Hors du champ d'application de la TVA belge.",
        "tax_statement_es": "",
        "legal_mentions_en": "International non-profit association under Belgian law.",
        "legal_mentions_fr": "",
        "legal_mentions_es": "",
        "checklist_template": "",
    }
    data.update(overrides)
    return data
