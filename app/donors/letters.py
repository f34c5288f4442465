"""Acknowledgement letters: a thank-you for one gift, and a yearly summary of a donor's gifts to one hub.

A letter is rendered once, on the receiving hub's letterhead and in the donor's language, and stored with its
SHA-256; every download returns those bytes. For the US entity the letter is the written acknowledgement the
IRS asks for: it says that no goods or services were given in exchange, or describes them with a good-faith
estimate of their value.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..common.documents import Recipient, render_document
from ..common.errors import DomainError
from ..common.money import sum_by_currency
from ..common.pdf import sha256_hex
from ..common.time import today
from ..extensions import db
from .models import (
    AcknowledgementLetter,
    Contact,
    Gift,
    GiftEventKind,
    Language,
    LetterKind,
    Organisation,
)
from .services import log_gift_event

#: The country of the entity whose letters carry the IRS written-acknowledgement wording.
US_ENTITY_COUNTRY = "US"


class LetterExists(DomainError):
    """This gift has its thank-you letter already: made once, downloaded or sent as often as needed."""


class NothingToSummarise(DomainError):
    """The donor made no gift to this hub in that year."""


def is_us_entity(hub) -> bool:
    return hub.country_code == US_ENTITY_COUNTRY


def _recipient(organisation: Organisation, contact: Contact | None) -> Recipient:
    return Recipient(
        name=organisation.name,
        country_code=organisation.country_code or "",
        contact_name=contact.name if contact else "",
        contact_title=contact.title if contact else "",
    )


def salutation(organisation: Organisation, contact: Contact | None) -> str:
    """Whom the letter greets: the person by name (a title is a job, not an address), else the donor."""
    if contact is None or contact.is_erased:
        return organisation.name
    return contact.name


def letter_language(contact: Contact | None, language: Language | str | None = None) -> Language:
    """The language asked for, else the contact's, else English."""
    if language:
        return Language(language)
    return contact.language if contact is not None else Language.EN


def render_gift_letter(gift: Gift, lang: Language) -> bytes:
    """The thank-you letter's PDF for a gift, dated today, on the receiving hub's letterhead."""
    return render_document(
        "pdf/donors/gift_letter.html",
        issuer=gift.hub,
        lang=lang.value,
        recipient=_recipient(gift.organisation, gift.contact),
        gift=gift,
        organisation=gift.organisation,
        salutation_name=salutation(gift.organisation, gift.contact),
        is_us_entity=is_us_entity(gift.hub),
        letter_date=today(),
        reference=f"G-{gift.id}",
    )


def create_gift_letter(gift: Gift, actor, language: Language | str | None = None) -> AcknowledgementLetter:
    """Render and store the thank-you letter for a gift (once)."""
    if db.session.scalar(sa.select(AcknowledgementLetter.id).where(AcknowledgementLetter.gift_id == gift.id)):
        raise LetterExists("This gift has its letter already.")
    lang = letter_language(gift.contact, language)
    pdf = render_gift_letter(gift, lang)
    letter = AcknowledgementLetter(
        kind=LetterKind.GIFT,
        organisation_id=gift.organisation_id,
        gift_id=gift.id,
        contact_id=gift.contact_id,
        hub_id=gift.hub_id,
        language=lang,
        pdf_bytes=pdf,
        pdf_sha256=sha256_hex(pdf),
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(letter)
    db.session.flush()
    log_gift_event(gift, GiftEventKind.LETTER_CREATED, actor, f"Thank-you letter in {lang.label}")
    return letter


@dataclass(frozen=True)
class SummaryRequest:
    organisation_id: int
    year: int
    hub_id: int
    contact_id: int | None = None
    language: Language | str | None = None


def gifts_for_summary(organisation_id: int, year: int, hub_id: int) -> list[Gift]:
    """A donor's gifts to one hub in a calendar year, by date."""
    return list(
        db.session.scalars(
            sa.select(Gift)
            .where(
                Gift.organisation_id == organisation_id,
                Gift.hub_id == hub_id,
                sa.extract("year", Gift.received_on) == year,
            )
            .order_by(Gift.received_on, Gift.id)
        )
    )


def create_yearly_summary(request: SummaryRequest, actor) -> AcknowledgementLetter:
    """Render and store a summary of a donor's gifts to one hub in a calendar year, totals per currency."""
    from ..hubs.models import Hub

    organisation = db.session.get(Organisation, request.organisation_id)
    hub = db.session.get(Hub, request.hub_id)
    contact = db.session.get(Contact, request.contact_id) if request.contact_id else None
    gifts = gifts_for_summary(request.organisation_id, request.year, request.hub_id)
    if not gifts:
        raise NothingToSummarise(f"{organisation.name} made no gift to {hub.name} in {request.year}.")
    lang = letter_language(contact, request.language)
    pdf = render_document(
        "pdf/donors/yearly_summary.html",
        issuer=hub,
        lang=lang.value,
        recipient=_recipient(organisation, contact),
        organisation=organisation,
        year=request.year,
        gifts=gifts,
        totals=sum_by_currency((gift.amount, gift.currency) for gift in gifts),
        salutation_name=salutation(organisation, contact),
        is_us_entity=is_us_entity(hub),
        letter_date=today(),
        reference=f"{request.year}-{organisation.id}",
    )
    letter = AcknowledgementLetter(
        kind=LetterKind.YEARLY_SUMMARY,
        organisation_id=organisation.id,
        year=request.year,
        contact_id=contact.id if contact else None,
        hub_id=hub.id,
        language=lang,
        pdf_bytes=pdf,
        pdf_sha256=sha256_hex(pdf),
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(letter)
    db.session.flush()
    return letter
