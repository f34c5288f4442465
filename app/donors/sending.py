"""Sending acknowledgement letters by e-mail through the common mail log: queued in the transaction, delivered
after the commit, never to a person marked do not contact, and written in the gift's history."""

from __future__ import annotations

import sqlalchemy as sa

from ..common import mail
from ..common.documents import translate
from ..common.errors import DomainError
from ..common.locks import lock_and_refresh
from ..common.time import today
from ..extensions import db
from .letters import salutation
from .models import (
    AcknowledgementLetter,
    AcknowledgementStatus,
    Contact,
    Gift,
    GiftEvent,
    GiftEventKind,
    LetterKind,
    LetterMessage,
)
from .services import acknowledge_gift

#: What the mail log calls these messages.
MAIL_KIND = "acknowledgement_letter"


class LetterNotSendable(DomainError):
    """The letter cannot be e-mailed to its addressee; the message says why."""


def why_not_sendable(contact: Contact | None) -> str | None:
    """Why a letter addressed to this contact cannot be e-mailed, in words for the page; None when it can."""
    if contact is None:
        return "The letter is addressed to the organisation: choose a contact to e-mail it to."
    if contact.is_erased:
        return "This person's data was erased: the letter is kept, but cannot be e-mailed."
    if contact.do_not_contact:
        return (
            f"{contact.name} is marked do not contact: the letter is not e-mailed. "
            "Download it if it must reach them otherwise."
        )
    if not contact.email:
        return f"{contact.name} has no e-mail address."
    return None


def queue_letter(letter: AcknowledgementLetter, actor, send_token: str | None = None) -> mail.MailMessage:
    """Log the letter's e-mail as pending, to be sent after the commit; refuses do-not-contact people. A
    second request with the form's `send_token` sends nothing (`mail.RepeatedSend`)."""
    lock_and_refresh(letter)
    mail.refuse_repeated_send(send_token)
    contact = db.session.get(Contact, letter.contact_id) if letter.contact_id else None
    problem = why_not_sendable(contact)
    if problem:
        raise LetterNotSendable(problem)
    organisation = letter.organisation
    lang = letter.language.value
    if letter.kind is LetterKind.GIFT:
        subject = translate(lang, "Thank you for your gift")
    else:
        subject = translate(lang, "Your gifts in %(year)s", year=letter.year)
    message = mail.build_message(
        "acknowledgement",
        subject=subject,
        to=[contact.email],
        language=lang,
        context={
            "letter": letter,
            "organisation": organisation,
            "hub": letter.hub,
            "salutation_name": salutation(organisation, contact),
        },
        attachments=[mail.Attachment(letter.filename, letter.pdf_bytes)],
    )
    logged = mail.queue_message(
        message, kind=MAIL_KIND, actor=actor, about=str(letter), send_token=send_token
    )
    db.session.add(LetterMessage(message_id=logged.id, letter_id=letter.id))
    db.session.flush()
    return logged


@mail.on_delivery
def _log_delivery_on_the_gift(message: mail.MailMessage) -> None:
    # The mail module calls this in the transaction that records the outcome; other areas' messages pass by.
    # The history names who asked for the e-mail, not the process that happened to deliver it.
    link = db.session.get(LetterMessage, message.id)
    if link is None or link.letter.gift_id is None:
        return
    if not message.went_out:
        detail = f"Thank-you letter could not be e-mailed to {message.recipients}: {message.error}"
    elif message.transport == "outbox":
        detail = f"Thank-you letter for {message.recipients} saved to the outbox (no mail server configured)"
    else:
        detail = f"Thank-you letter e-mailed to {message.recipients}"
    gift = link.letter.gift
    db.session.add(
        GiftEvent(gift=gift, kind=GiftEventKind.LETTER_SENT, detail=detail, actor_id=message.requested_by_id)
    )
    # A thank-you that reached the mail server is the acknowledgement; one left in the outbox is not yet.
    if message.transport == "smtp" and message.went_out:
        _acknowledge_by_email(gift, message)


def _acknowledge_by_email(gift: Gift, message: mail.MailMessage) -> None:
    if gift.acknowledgement_status is not AcknowledgementStatus.TO_BE_ACKNOWLEDGED:
        return
    on = max(today(), gift.received_on)
    acknowledge_gift(gift, on, f"Thank-you letter e-mailed to {message.recipients}", message.requested_by)


def letter_messages(letter: AcknowledgementLetter) -> list[mail.MailMessage]:
    """The e-mails that carried this letter, newest first (what the letter's block shows)."""
    return list(
        db.session.scalars(
            sa.select(mail.MailMessage)
            .join(LetterMessage, LetterMessage.message_id == mail.MailMessage.id)
            .where(LetterMessage.letter_id == letter.id)
            .order_by(mail.MailMessage.created_at.desc(), mail.MailMessage.id.desc())
        )
    )


def deliver(messages: list[mail.MailMessage]) -> None:
    """After the commit: send the queued letters (the mail log records how each went)."""
    mail.deliver_pending(messages)


def outcome_message(message: mail.MailMessage) -> tuple[str, str]:
    """What to tell the user once the letter's e-mail was tried: (flash category, text)."""
    category, text = mail.outcome_message(message)
    if category == "success":
        return category, f"The letter was e-mailed to {message.recipients}."
    return category, text
