"""Erasing a person's data also erases what the mail log kept of the messages sent to them (the MIME copy,
their address, the outbox file), while the log still shows that a message of that kind went out and when;
gifts and letters, which are financial records, stay."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import sqlalchemy as sa

from app.common.mail import MailMessage, MailStatus
from app.donors.models import AcknowledgementLetter, Gift, GiftEvent
from app.extensions import db


def _send_letter(client, gift) -> MailMessage:
    assert client.post(f"/donors/gifts/{gift.id}/letter", data={"language": ""}).status_code == 302
    letter = db.session.scalar(
        sa.select(AcknowledgementLetter).where(AcknowledgementLetter.gift_id == gift.id)
    )
    assert client.post(f"/donors/letters/{letter.id}/send").status_code == 302
    return db.session.scalars(sa.select(MailMessage).order_by(MailMessage.id.desc())).first()


def test_erasing_a_person_forgets_the_copies_of_what_was_sent_to_them_and_keeps_that_it_was_sent(
    login_as, make_organisation, make_contact, make_gift
):
    organisation = make_organisation(name="Ford Foundation")
    person = make_contact(name="Maya Chen", email="maya@ford.example", organisation=organisation)
    colleague = make_contact(name="Li Wei", email="li@ford.example", organisation=organisation)
    gift = make_gift(organisation=organisation, contact=person)
    other_gift = make_gift(organisation=organisation, contact=colleague)
    client = login_as("fundraising")
    to_person = _send_letter(client, gift)
    to_colleague = _send_letter(client, other_gift)
    outbox_file = Path(to_person.outbox_path)
    assert outbox_file.exists() and b"maya@ford.example" in to_person.mime
    sent_at = to_person.sent_at

    response = client.post(f"/donors/contacts/{person.id}/erase", data={"confirm": "erase"})

    assert response.status_code == 302
    db.session.expire_all()
    message = db.session.get(MailMessage, to_person.id)
    assert message.mime is None and not message.has_copy
    assert message.recipients == "[erased]" and message.outbox_path == ""
    assert not outbox_file.exists()
    # That a thank-you went out, and when, is still on record.
    assert (message.kind, message.status, message.sent_at) == (
        "acknowledgement_letter",
        MailStatus.SENT,
        sent_at,
    )
    # The gift and its letter stay; its history no longer names the address.
    assert db.session.get(Gift, gift.id) is not None
    assert db.session.scalar(sa.select(AcknowledgementLetter).where(AcknowledgementLetter.gift_id == gift.id))
    details = db.session.scalars(sa.select(GiftEvent.detail).where(GiftEvent.gift_id == gift.id)).all()
    assert details and not any("maya@ford.example" in detail for detail in details)
    # Someone else's message is untouched.
    kept = db.session.get(MailMessage, to_colleague.id)
    assert kept.recipients == "li@ford.example" and kept.mime and Path(kept.outbox_path).exists()


def test_a_message_to_a_longer_address_that_contains_the_persons_is_not_erased(
    make_organisation, make_contact, make_user
):
    from app.common import mail
    from app.donors import services

    organisation = make_organisation()
    person = make_contact(name="Ann Lee", email="ann@x.example", organisation=organisation)
    for to in ("ann@x.example", "joann@x.example", "Someone <ANN@x.example>, bo@x.example"):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "news@example.org", to, "Hello"
        message.set_content("Hello")
        mail.queue_message(message, kind="newsletter", actor=None)
    db.session.flush()

    services.erase_contact(person, make_user("fundraising"))

    recipients = db.session.scalars(sa.select(MailMessage.recipients).order_by(MailMessage.id)).all()
    assert recipients == ["[erased]", "joann@x.example", "[erased]"]
