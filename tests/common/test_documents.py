"""A document on a hub's letterhead, in the reader's language: read back from the PDF as a person reads it."""

from __future__ import annotations

import subprocess
from datetime import date
from decimal import Decimal

import pytest
from jinja2 import ChoiceLoader, DictLoader

from app.common.documents import (
    DocumentQr,
    Recipient,
    document_language,
    epc_qr,
    in_language,
    letterhead,
    recipient_lines,
    render_document,
    translate,
    url_qr,
)
from app.common.languages import Language

#: A letter as an area writes one: it extends the letter base and fills its blocks.
THANK_YOU = """{% extends "pdf/_letter.html" %}
{% block doc_title %}{{ _('Statement of account') }}{% endblock %}
{% block subject %}{{ _('Statement of account') }} · {{ gift_amount|money('EUR', lang) }}{% endblock %}
{% block body %}<p>{{ _('Payment received') }}: {{ gift_amount|money('EUR', lang) }}.</p>{% endblock %}
{% block signature %}Ada Lovelace, CEO{% endblock %}
"""


def pdf_text(pdf: bytes) -> str:
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return " ".join(text.replace("\u202f", " ").replace("\u00a0", " ").split())


@pytest.fixture
def letter_template(app, monkeypatch):
    loader = ChoiceLoader([DictLoader({"pdf/thank_you.html": THANK_YOU}), app.jinja_env.loader])
    monkeypatch.setattr(app.jinja_env, "loader", loader)
    return "pdf/thank_you.html"


@pytest.fixture
def brussels(make_hub):
    return make_hub(name="Brussels", legal_name="Tributary Europe AISBL", base_currency="EUR")


def test_a_letter_is_on_the_hubs_letterhead_addressed_and_in_the_readers_language(
    app, brussels, letter_template
):
    recipient = Recipient(
        name="Fondation Lumière",
        address="12 rue des Arts\n75001 Paris",
        country_code="FR",
        contact_name="Claire Martin",
        contact_title="Directrice",
    )
    with app.test_request_context():
        pdf = render_document(
            letter_template,
            issuer=brussels,
            lang=Language.FR,
            recipient=recipient,
            letter_date=date(2027, 3, 4),
            reference="GIFT-42",
            gift_amount=Decimal("25000.00"),
        )

    text = pdf_text(pdf)
    assert "Tributary Europe AISBL" in text and "Rue de la Loi 42" in text and "Belgique" in text
    assert "Fondation Lumière" in text and "75001 Paris" in text and "France" in text
    assert "À l'attention de : Claire Martin, Directrice" in text
    assert "Relevé de compte · 25 000,00 €" in text and "Paiement reçu: 25 000,00 €." in text
    assert "4 mars 2027" in text and "GIFT-42" in text and "Ada Lovelace, CEO" in text
    assert "Exonéré de TVA" in text  # the hub's legal mentions, in French
    assert "Facturé à" not in text  # a letter has no "Bill to" label


def test_the_same_letter_reads_in_spanish_and_english(app, brussels, letter_template):
    common = dict(issuer=brussels, recipient=Recipient(name="Fundación Sol", country_code="ES"))
    with app.test_request_context():
        spanish = pdf_text(
            render_document(letter_template, lang="es", letter_date=date(2027, 3, 4), gift_amount=1, **common)
        )
        english = pdf_text(
            render_document(letter_template, lang="en", letter_date=date(2027, 3, 4), gift_amount=1, **common)
        )
    assert "Estado de cuenta" in spanish and "4 de marzo de 2027" in spanish and "España" in spanish
    assert "Statement of account" in english and "March 4, 2027" in english and "Spain" in english


def test_a_document_can_carry_a_qr_code_with_its_caption(app, brussels, letter_template, tmp_path):
    with app.test_request_context():
        pdf = render_document(
            letter_template,
            issuer=brussels,
            lang="en",
            qr=DocumentQr(url_qr("https://example.org/receipt/42"), "Scan to read this receipt online"),
            letter_date=date(2027, 3, 4),
            gift_amount=1,
        )
    assert "Scan to read this receipt online" in pdf_text(pdf)
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, check=True).stdout
    assert len(listing.decode().strip().splitlines()) == 3  # two header lines and the one QR code


def test_an_unknown_language_falls_back_to_english():
    assert document_language("de") == "en" and document_language(None) == "en"
    assert document_language(Language.ES) == "es"
    assert translate("fr", "Invoice") == "Facture" and translate("xx", "Invoice") == "Invoice"
    with in_language("es") as code:
        assert code == "es"


def test_the_letterhead_writes_the_address_as_the_country_does(make_hub):
    washington = make_hub(
        name="Washington DC", street_address="1100 13th St NW", city="Washington", postal_code="DC 20005",
        country_code="US",
    )  # fmt: skip
    assert letterhead(washington, "en")["hub_address"] == [
        "1100 13th St NW",
        "Washington DC 20005",
        "United States",
    ]
    assert letterhead(washington, "fr")["hub_address"][-1] == "États-Unis"


def test_recipient_lines_read_a_frozen_recipient_and_print_the_office_once():
    frozen = {
        "name": "Republic of Senegal",
        "address": "Ministère des Finances\nAvenue Carde\nDakar",
        "country_code": "SN",
        "office": "Ministère des Finances",
        "unknown_key": "ignored",
    }
    lines = recipient_lines(frozen, "fr")
    assert lines["address"] == ["Ministère des Finances", "Avenue Carde", "Dakar", "Sénégal"]
    assert lines["office"] == ""  # already the address's first line
    assert Recipient.from_dict(frozen).as_dict()["office"] == "Ministère des Finances"
    assert recipient_lines({}, "en")["name"] == ""


def test_the_sepa_qr_code_is_made_only_for_euro_amounts_the_standard_allows(brussels):
    assert epc_qr(brussels, Decimal("10000.00"), "EUR", "BE-2027-0001").startswith("data:image/png;base64,")
    assert epc_qr(brussels, Decimal("10000.00"), "USD", "HQ-2027-0001") is None
    assert epc_qr(brussels, Decimal("1000000000.00"), "EUR", "BE-2027-0001") is None
    assert epc_qr(brussels, Decimal("0.00"), "EUR", "BE-2027-0001") is None
