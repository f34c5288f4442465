"""Acknowledgement letters read back as the donor reads them: their name, the amount in their locale's format,
the date; the US entity's IRS wording; stored once and downloaded byte-identical; never e-mailed to a person
marked do not contact."""

from __future__ import annotations

import hashlib
import re
import subprocess
from datetime import date
from decimal import Decimal

import pytest

from app.common import mail
from app.common.mail import MailMessage
from app.common.time import today
from app.donors import letters, sending
from app.donors.models import AcknowledgementLetter, GiftEvent, Language, LetterIsFrozen
from app.extensions import db
from tests.conftest import count


def pdf_text(pdf: bytes) -> str:
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return " ".join(text.replace("\u202f", " ").replace("\u00a0", " ").split())


@pytest.fixture
def fundraiser(make_user):
    return make_user("fundraising")


@pytest.fixture
def brussels(make_hub):
    return make_hub(
        name="Brussels hub", legal_name="Tributary Europe AISBL", base_currency="EUR", country_code="BE"
    )


@pytest.fixture
def washington(make_hub):
    return make_hub(
        name="Washington DC",
        legal_name="Tributary Inc.",
        base_currency="USD",
        country_code="US",
        city="Washington",
        postal_code="20005",
        street_address="1100 K Street NW",
    )


def test_a_french_letter_speaks_french(make_organisation, make_contact, make_gift, brussels, fundraiser):
    organisation = make_organisation(name="Fondation Émile Durand", country_code="FR")
    contact = make_contact(name="Claire Martin", organisation=organisation, language=Language.FR)
    gift = make_gift(
        organisation=organisation,
        contact=contact,
        hub=brussels,
        currency="EUR",
        amount=Decimal("12500.50"),
        received_on=date(2026, 3, 14),
    )
    text = pdf_text(letters.create_gift_letter(gift, fundraiser).pdf_bytes)
    assert "Fondation Émile Durand" in text and "Claire Martin" in text
    assert "12 500,50 €" in text
    assert "14 mars 2026" in text
    assert "Merci pour votre don" in text and "Cher·e Claire Martin," in text


def test_a_spanish_letter_speaks_spanish(make_organisation, make_contact, make_gift, brussels, fundraiser):
    organisation = make_organisation(name="Fundación Zúñiga", country_code="ES")
    contact = make_contact(name="Lucía Pérez", organisation=organisation, language=Language.ES)
    gift = make_gift(
        organisation=organisation,
        contact=contact,
        hub=brussels,
        currency="EUR",
        amount=Decimal("7500.00"),
        received_on=date(2026, 5, 2),
    )
    text = pdf_text(letters.create_gift_letter(gift, fundraiser).pdf_bytes)
    assert "Fundación Zúñiga" in text and "Lucía Pérez" in text
    assert "7.500,00 €" in text
    assert "2 de mayo de 2026" in text
    assert "Gracias por su donación" in text and "Estimado/a Lucía Pérez:" in text


def test_the_us_letter_carries_the_irs_statement(make_organisation, make_gift, washington, fundraiser):
    gift = make_gift(
        organisation=make_organisation(name="Ford Foundation"), hub=washington, amount=Decimal("50000.00")
    )
    text = pdf_text(letters.create_gift_letter(gift, fundraiser).pdf_bytes)
    assert "$50,000.00" in text
    assert "No goods or services were provided in exchange for this contribution." in text


def test_the_us_letter_describes_goods_given_with_their_value(
    make_organisation, make_gift, washington, fundraiser
):
    gift = make_gift(
        organisation=make_organisation(),
        hub=washington,
        amount=Decimal("1000.00"),
        goods_or_services="two gala dinner tickets",
        goods_or_services_value=Decimal("150.00"),
    )
    text = pdf_text(letters.create_gift_letter(gift, fundraiser).pdf_bytes)
    assert "two gala dinner tickets" in text and "$150.00" in text
    assert "No goods or services were provided" not in text


def test_a_belgian_letter_has_no_irs_wording(make_organisation, make_gift, brussels, fundraiser):
    gift = make_gift(organisation=make_organisation(), hub=brussels, currency="EUR")
    assert "No goods or services" not in pdf_text(letters.create_gift_letter(gift, fundraiser).pdf_bytes)


def test_a_letter_is_made_once_and_downloads_byte_identical(
    login_as, make_organisation, make_gift, washington, fundraiser
):
    gift = make_gift(organisation=make_organisation(), hub=washington)
    letter = letters.create_gift_letter(gift, fundraiser)
    with pytest.raises(letters.LetterExists):
        letters.create_gift_letter(gift, fundraiser)
    client = login_as("board")
    first = client.get(f"/donors/letters/{letter.id}.pdf")
    second = client.get(f"/donors/letters/{letter.id}.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert first.data == second.data
    assert hashlib.sha256(first.data).hexdigest() == letter.pdf_sha256
    letter.pdf_bytes = b"%PDF-forged"
    with pytest.raises(LetterIsFrozen):
        db.session.flush()
    db.session.rollback()


def test_the_yearly_summary_lists_every_gift_with_totals_per_currency(
    make_organisation, make_gift, washington, fundraiser
):
    organisation = make_organisation(name="Hewlett Foundation")
    make_gift(
        organisation=organisation, hub=washington, amount=Decimal("1000.00"), received_on=date(2026, 2, 1)
    )
    make_gift(
        organisation=organisation, hub=washington, amount=Decimal("2500.00"), received_on=date(2026, 9, 1)
    )
    make_gift(
        organisation=organisation,
        hub=washington,
        amount=Decimal("300.00"),
        currency="GBP",
        received_on=date(2026, 10, 1),
    )
    make_gift(
        organisation=organisation, hub=washington, amount=Decimal("9999.00"), received_on=date(2025, 12, 31)
    )
    summary = letters.create_yearly_summary(
        letters.SummaryRequest(organisation_id=organisation.id, year=2026, hub_id=washington.id), fundraiser
    )
    text = pdf_text(summary.pdf_bytes)
    assert "Your gifts in 2026" in text
    assert "$3,500.00" in text and "£300.00" in text
    assert "$9,999.00" not in text
    assert "No goods or services were provided in exchange for these contributions." in text


def history(gift) -> list[str]:
    events = db.session.query(GiftEvent).filter_by(gift_id=gift.id).order_by(GiftEvent.id)
    return [f"{event.kind.value}: {event.detail}" for event in events]


def test_a_letter_is_e_mailed_after_the_commit_with_the_stored_pdf_attached(
    smtp_server, login_as, make_organisation, make_contact, make_gift, washington
):
    organisation = make_organisation(name="Ford Foundation")
    contact = make_contact(name="Maya Chen", email="maya@ford.example", organisation=organisation)
    gift = make_gift(organisation=organisation, contact=contact, hub=washington)
    client = login_as("fundraising")
    assert client.post(f"/donors/gifts/{gift.id}/letter", data={"language": ""}).status_code == 302
    letter = db.session.query(AcknowledgementLetter).one()

    response = client.post(f"/donors/letters/{letter.id}/send", follow_redirects=True)

    assert "The letter was e-mailed to maya@ford.example." in response.text
    (received,) = smtp_server.messages()
    assert received["To"] == "maya@ford.example"
    assert str(received["Subject"]) == "Thank you for your gift"
    (attachment,) = list(received.iter_attachments())
    assert attachment.get_filename() == letter.filename
    assert attachment.get_content() == letter.pdf_bytes
    (logged,) = db.session.query(MailMessage).all()
    assert (logged.kind, logged.status.value, logged.transport) == ("acknowledgement_letter", "sent", "smtp")
    assert history(gift)[-2:] == [
        "letter_sent: Thank-you letter e-mailed to maya@ford.example",
        f"acknowledged: Thank-you letter e-mailed to maya@ford.example on {today().isoformat()}",
    ]
    db.session.refresh(gift)
    assert gift.acknowledgement_status.value == "acknowledged"
    assert gift.acknowledged_how == "Thank-you letter e-mailed to maya@ford.example"
    page = client.get(f"/donors/gifts/{gift.id}").text
    assert "E-mail to maya@ford.example: Sent" in page
    assert "Thank-you letter e-mailed to maya@ford.example" in page


def test_a_letter_the_mail_server_refuses_is_logged_as_not_sent_on_the_gift(
    unreachable_smtp_server, login_as, make_organisation, make_contact, make_gift, washington, fundraiser
):
    organisation = make_organisation()
    contact = make_contact(name="Maya Chen", email="maya@ford.example", organisation=organisation)
    gift = make_gift(organisation=organisation, contact=contact, hub=washington)
    letter = letters.create_gift_letter(gift, fundraiser)
    db.session.commit()

    response = login_as("fundraising").post(f"/donors/letters/{letter.id}/send", follow_redirects=True)

    assert "could not be sent" in response.text
    assert db.session.query(MailMessage).one().status.value == "failed"
    assert history(gift)[-1].startswith(
        "letter_sent: Thank-you letter could not be e-mailed to maya@ford.example"
    )


def test_a_letter_queued_in_a_transaction_that_rolls_back_is_never_sent(
    smtp_server, make_organisation, make_contact, make_gift, washington, fundraiser
):
    organisation = make_organisation()
    contact = make_contact(email="maya@ford.example", organisation=organisation)
    gift = make_gift(organisation=organisation, contact=contact, hub=washington)
    letter = letters.create_gift_letter(gift, fundraiser)
    savepoint = db.session.begin_nested()
    queued = sending.queue_letter(letter, fundraiser)
    savepoint.rollback()

    sending.deliver([queued])

    assert smtp_server.envelopes == []
    assert count(MailMessage) == 0


def test_a_do_not_contact_person_gets_no_email_and_the_page_says_why(
    login_as, make_organisation, make_contact, make_gift, washington, fundraiser
):
    organisation = make_organisation()
    contact = make_contact(name="Pat Doe", organisation=organisation, do_not_contact=True)
    gift = make_gift(organisation=organisation, contact=contact, hub=washington)
    letter = letters.create_gift_letter(gift, fundraiser)
    with pytest.raises(sending.LetterNotSendable):
        sending.queue_letter(letter, fundraiser)
    client = login_as("fundraising")
    page = client.get(f"/donors/gifts/{gift.id}")
    assert "marked do not contact" in page.text
    response = client.post(f"/donors/letters/{letter.id}/send", follow_redirects=True)
    assert "marked do not contact" in response.text
    assert count(MailMessage) == 0


def test_a_double_click_on_e_mail_it_sends_the_letter_once(
    smtp_server, login_as, make_organisation, make_contact, make_gift, washington
):
    organisation = make_organisation(name="Ford Foundation")
    contact = make_contact(name="Maya Chen", email="maya@ford.example", organisation=organisation)
    gift = make_gift(organisation=organisation, contact=contact, hub=washington)
    client = login_as("fundraising")
    client.post(f"/donors/gifts/{gift.id}/letter", data={"language": ""})
    letter = db.session.query(AcknowledgementLetter).one()
    page = client.get(f"/donors/gifts/{gift.id}").text
    (token,) = re.findall(rf'name="{mail.SEND_TOKEN_FIELD}" value="([^"]+)"', page)

    first = client.post(f"/donors/letters/{letter.id}/send", data={mail.SEND_TOKEN_FIELD: token})
    second = client.post(
        f"/donors/letters/{letter.id}/send", data={mail.SEND_TOKEN_FIELD: token}, follow_redirects=True
    )

    assert first.status_code == 302
    assert "That was the same button pressed again, so nothing more was sent." in second.text
    assert len(smtp_server.envelopes) == 1
    assert count(MailMessage) == 1
    assert [event for event in history(gift) if event.startswith("letter_sent")] == [
        "letter_sent: Thank-you letter e-mailed to maya@ford.example"
    ]
