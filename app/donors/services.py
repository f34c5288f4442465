"""Donor rules: organisations, contacts and affiliations, connectors and introductions, interactions and their
next steps, gifts and their acknowledgement, erasing a person's data.

Every function takes the acting user, flushes and never commits; the view commits once.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import phonenumbers
import pycountry
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import joinedload

from ..common import mail
from ..common.audit import AuditEntry
from ..common.errors import DomainError, ValidationFailed
from ..common.money import is_currency, quantize
from ..common.time import today, utcnow
from ..extensions import db
from .models import (
    AcknowledgementLetter,
    AcknowledgementStatus,
    Affiliation,
    Connection,
    Connector,
    ConnectorRole,
    Contact,
    Gift,
    GiftEvent,
    GiftEventKind,
    GiftMethod,
    Interaction,
    InteractionKind,
    Introduction,
    IntroductionStatus,
    Language,
    LawfulBasis,
    LetterMessage,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    Theme,
    interaction_contacts,
)
from .text import fold

#: A gift not thanked for after this many days is listed on the fundraising landing page.
ACKNOWLEDGEMENT_DUE_DAYS = 7
#: What an erased person's fields become; the record stays so that gifts and letters keep their donor.
ERASED_NAME = "Erased contact"
ERASED_TEXT = "[Removed: a participant's personal data was erased.]"
#: Contact fields that hold personal data, blanked by erase_contact() and in the audit log's history.
PERSONAL_FIELDS = (
    "name",
    "title",
    "email",
    "phone",
    "notes",
    "source",
    "name_key",
    "email_key",
    "search_text",
)


class AlreadyErased(DomainError):
    """This person's data was erased already."""


class NextStepAlreadyDone(DomainError):
    """The next step was completed already."""


# --- Lookups -----------------------------------------------------------------------------------------------


def countries() -> list[tuple[str, str]]:
    """(alpha-2, name) for every ISO 3166 country, by name."""
    return sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda pair: pair[1])


@functools.cache  # a few hundred codes; pycountry's look-up costs about 15 µs, once per row of an export
def country_name(code: str | None) -> str:
    country = pycountry.countries.get(alpha_2=code) if code else None
    return country.name if country else (code or "")


def normalise_email(raw: str) -> str:
    """The address as email-validator normalises it ('' stays ''); raises ValidationFailed on 'email'."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValidationFailed("Invalid e-mail address.", {"email": [str(error)]}) from error


def normalise_phone(raw: str, country_code: str | None = None) -> str:
    """E.164 ('+442079460000') from what a person typed; without a + it is read in `country_code`."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, country_code or None)
    except phonenumbers.NumberParseException as error:
        hint = "" if country_code else " Start with + and the country code."
        raise ValidationFailed("Invalid phone number.", {"phone": [f"Not a phone number.{hint}"]}) from error
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(
            "Invalid phone number.", {"phone": ["This number does not exist in its country."]}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str, viewer_country: str | None = None) -> str:
    """National format in its own country ('020 7946 0000'), international elsewhere."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    region = phonenumbers.region_code_for_number(number)
    if viewer_country and viewer_country != region:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def themes_from_text(text: str) -> list[Theme]:
    """'Civic space, gender and inclusion' -> those themes, made when new (matched case-insensitively)."""
    names = []
    for part in (text or "").split(","):
        name = " ".join(part.split())
        if name and name.casefold() not in {n.casefold() for n in names}:
            names.append(name[:80])
    if not names:
        return []
    existing = {t.name.casefold(): t for t in db.session.scalars(sa.select(Theme))}
    themes = []
    for name in names:
        theme = existing.get(name.casefold())
        if theme is None:
            theme = Theme(name=name)
            db.session.add(theme)
            existing[name.casefold()] = theme
        themes.append(theme)
    return themes


# --- Organisations -----------------------------------------------------------------------------------------


@dataclass
class OrganisationDetails:
    name: str
    kind: OrganisationKind | str
    status: OrganisationStatus | str = OrganisationStatus.PROSPECT
    country_code: str | None = None
    website: str = ""
    owner_id: int | None = None
    themes: str = ""
    notes: str = ""


def _check_organisation(details: OrganisationDetails) -> None:
    errors = {}
    if not details.name.strip():
        errors["name"] = ["Give the organisation's name."]
    if details.country_code and pycountry.countries.get(alpha_2=details.country_code) is None:
        errors["country_code"] = ["Choose a country from the list."]
    website = details.website.strip()
    if website and not website.startswith(("http://", "https://")):
        details.website = f"https://{website}"
    if errors:
        raise ValidationFailed("The organisation could not be saved.", errors)


def _apply_organisation(organisation: Organisation, details: OrganisationDetails) -> None:
    organisation.name = " ".join(details.name.split())
    organisation.kind = OrganisationKind(details.kind)
    organisation.status = OrganisationStatus(details.status)
    organisation.country_code = details.country_code or None
    organisation.website = details.website.strip()
    organisation.owner_id = details.owner_id
    organisation.notes = details.notes
    organisation.themes = themes_from_text(details.themes)


def create_organisation(details: OrganisationDetails, actor) -> Organisation:
    """Add a funder or prospect."""
    _check_organisation(details)
    organisation = Organisation()
    _apply_organisation(organisation, details)
    db.session.add(organisation)
    db.session.flush()
    return organisation


def update_organisation(organisation: Organisation, details: OrganisationDetails, actor) -> Organisation:
    """Change an organisation's details."""
    _check_organisation(details)
    _apply_organisation(organisation, details)
    db.session.flush()
    return organisation


# --- Contacts ----------------------------------------------------------------------------------------------


@dataclass
class ContactDetails:
    name: str
    title: str = ""
    email: str = ""
    phone: str = ""
    language: Language | str = Language.EN
    do_not_contact: bool = False
    notes: str = ""
    lawful_basis: LawfulBasis | str = LawfulBasis.LEGITIMATE_INTEREST
    source: str = ""
    privacy_notice_sent_on: date | None = None
    email_consent: bool = False
    email_consent_on: date | None = None


def _apply_contact(contact: Contact, details: ContactDetails, country_code: str | None) -> None:
    errors: dict[str, list[str]] = {}
    if not details.name.strip():
        errors["name"] = ["Give the person's name."]
    try:
        email = normalise_email(details.email)
    except ValidationFailed as failed:
        errors.update(failed.field_errors)
    try:
        phone = normalise_phone(details.phone, country_code)
    except ValidationFailed as failed:
        errors.update(failed.field_errors)
    if details.email_consent and not email and "email" not in errors:
        errors["email_consent"] = ["Consent to e-mail needs an e-mail address."]
    if errors:
        raise ValidationFailed("The contact could not be saved.", errors)
    contact.name = " ".join(details.name.split())
    contact.title = details.title.strip()
    contact.email = email
    contact.phone = phone
    contact.language = Language(details.language)
    contact.do_not_contact = details.do_not_contact
    contact.notes = details.notes
    contact.lawful_basis = LawfulBasis(details.lawful_basis)
    contact.source = details.source.strip()
    contact.privacy_notice_sent_on = details.privacy_notice_sent_on
    if details.email_consent and not contact.email_consent:
        contact.email_consent_on = details.email_consent_on or today()
    elif not details.email_consent:
        contact.email_consent_on = None
    contact.email_consent = details.email_consent


def create_contact(
    details: ContactDetails,
    actor,
    organisation: Organisation | None = None,
    role: str = "",
    started_on: date | None = None,
) -> Contact:
    """Add a person, at an organisation when one is given (phones without + are read in its country)."""
    contact = Contact(name=details.name or "")
    _apply_contact(contact, details, organisation.country_code if organisation else None)
    db.session.add(contact)
    if organisation is not None:
        db.session.add(
            Affiliation(contact=contact, organisation=organisation, role=role.strip(), started_on=started_on)
        )
    db.session.flush()
    return contact


def update_contact(contact: Contact, details: ContactDetails, actor) -> Contact:
    """Change a person's details."""
    if contact.is_erased:
        raise AlreadyErased("This person's data was erased; the record cannot be edited.")
    current = next((a for a in contact.affiliations if a.is_current), None)
    _apply_contact(contact, details, current.organisation.country_code if current else None)
    db.session.flush()
    return contact


def add_affiliation(
    contact: Contact, organisation: Organisation, role: str, started_on: date | None, actor
) -> Affiliation:
    """Record that a person holds a position at an organisation (from `started_on`, still current)."""
    if any(a.organisation_id == organisation.id and a.is_current for a in contact.affiliations):
        raise ValidationFailed(
            "Already there.", {"organisation_id": [f"{contact.name} is already at {organisation.name}."]}
        )
    affiliation = Affiliation(
        contact=contact, organisation=organisation, role=role.strip(), started_on=started_on
    )
    db.session.add(affiliation)
    db.session.flush()
    return affiliation


def end_affiliation(affiliation: Affiliation, ended_on: date, actor) -> Affiliation:
    """The person left: the position becomes history, and their connections stay with them."""
    if affiliation.started_on and ended_on < affiliation.started_on:
        raise ValidationFailed("Dates out of order.", {"ended_on": ["The end comes before the start."]})
    affiliation.ended_on = ended_on
    db.session.flush()
    return affiliation


def move_contact(
    contact: Contact, organisation: Organisation, role: str, moved_on: date, actor
) -> Affiliation:
    """A person changes organisation: their current positions end on `moved_on`, the new one starts then."""
    for affiliation in contact.affiliations:
        if affiliation.is_current and affiliation.organisation_id != organisation.id:
            end_affiliation(affiliation, moved_on, actor)
    return add_affiliation(contact, organisation, role, moved_on, actor)


# --- Connectors and introductions --------------------------------------------------------------------------


def create_connector(
    name: str,
    role: ConnectorRole | str,
    actor,
    user_id: int | None = None,
    contact_id: int | None = None,
    email: str = "",
    notes: str = "",
) -> Connector:
    """Add someone who knows people: with a login (user), as one of our contacts, or neither."""
    errors = {}
    if not name.strip():
        errors["name"] = ["Give the connector's name."]
    if user_id and db.session.scalar(sa.select(Connector.id).where(Connector.user_id == user_id)):
        errors["user_id"] = ["This user is a connector already."]
    if contact_id and db.session.scalar(sa.select(Connector.id).where(Connector.contact_id == contact_id)):
        errors["contact_id"] = ["This contact is a connector already."]
    try:
        email = normalise_email(email)
    except ValidationFailed as failed:
        errors.update(failed.field_errors)
    if errors:
        raise ValidationFailed("The connector could not be saved.", errors)
    connector = Connector(
        name=" ".join(name.split()),
        role=ConnectorRole(role),
        user_id=user_id or None,
        contact_id=contact_id or None,
        email=email,
        notes=notes,
    )
    db.session.add(connector)
    db.session.flush()
    return connector


def add_connection(connector: Connector, contact: Contact, nature: str, actor) -> Connection:
    """Record that a connector knows a contact, and how."""
    if db.session.scalar(
        sa.select(Connection.id).where(
            Connection.connector_id == connector.id, Connection.contact_id == contact.id
        )
    ):
        raise ValidationFailed(
            "Known already.", {"contact_id": [f"{connector.name} already knows {contact.name}."]}
        )
    if connector.contact_id == contact.id:
        raise ValidationFailed(
            "Same person.", {"contact_id": ["A connector cannot be their own connection."]}
        )
    connection = Connection(connector=connector, contact=contact, nature=nature.strip())
    db.session.add(connection)
    db.session.flush()
    return connection


def request_introduction(
    connector: Connector, target: Contact, for_user_id: int, purpose: str, requested_on: date, actor
) -> Introduction:
    """Ask a connector to introduce someone (often the CEO) to a contact at their current organisation."""
    if target.is_erased:
        raise ValidationFailed("Erased.", {"target_contact_id": ["This person's data was erased."]})
    current = next((a for a in target.affiliations if a.is_current), None)
    introduction = Introduction(
        connector=connector,
        target_contact=target,
        organisation_id=current.organisation_id if current else None,
        requested_by_id=actor.id,
        for_user_id=for_user_id,
        purpose=purpose.strip(),
        requested_on=requested_on,
        status=IntroductionStatus.REQUESTED,
    )
    db.session.add(introduction)
    db.session.flush()
    return introduction


def set_introduction_status(
    introduction: Introduction, status: IntroductionStatus | str, on: date, outcome: str, actor
) -> Introduction:
    """Record that the introduction was made, declined or went unanswered (or reopen it), with the outcome."""
    status = IntroductionStatus(status)
    if on < introduction.requested_on:
        raise ValidationFailed("Date too early.", {"on": ["This comes before the request was made."]})
    introduction.status = status
    introduction.status_changed_on = None if status is IntroductionStatus.REQUESTED else on
    if outcome.strip():
        introduction.outcome = outcome.strip()
    db.session.flush()
    return introduction


# --- Interactions ------------------------------------------------------------------------------------------


@dataclass
class InteractionDetails:
    kind: InteractionKind | str
    occurred_on: date
    organisation_id: int | None
    summary: str = ""
    contact_ids: list[int] = field(default_factory=list)
    staff_ids: list[int] = field(default_factory=list)
    next_step: str = ""
    next_step_due_on: date | None = None
    next_step_owner_id: int | None = None


def log_interaction(details: InteractionDetails, actor) -> Interaction:
    """Record a meeting, call, e-mail, event or site visit, with its next step if any."""
    from ..auth.models import User

    errors = {}
    if details.next_step.strip() and not details.next_step_owner_id:
        errors["next_step_owner_id"] = ["Say who takes the next step."]
    if not details.next_step.strip() and (details.next_step_due_on or details.next_step_owner_id):
        errors["next_step"] = ["Say what the next step is, or clear its date and owner."]
    if errors:
        raise ValidationFailed("The interaction could not be saved.", errors)
    interaction = Interaction(
        kind=InteractionKind(details.kind),
        occurred_on=details.occurred_on,
        organisation_id=details.organisation_id,
        summary=details.summary.strip(),
        created_by_id=actor.id,
        next_step=details.next_step.strip(),
        next_step_due_on=details.next_step_due_on if details.next_step.strip() else None,
        next_step_owner_id=details.next_step_owner_id if details.next_step.strip() else None,
    )
    if details.contact_ids:
        interaction.contacts = list(
            db.session.scalars(sa.select(Contact).where(Contact.id.in_(details.contact_ids)))
        )
    staff_ids = set(details.staff_ids) or {actor.id}
    interaction.staff = list(db.session.scalars(sa.select(User).where(User.id.in_(staff_ids))))
    db.session.add(interaction)
    db.session.flush()
    return interaction


def complete_next_step(interaction: Interaction, actor) -> Interaction:
    """Mark the interaction's next step done."""
    if not interaction.has_next_step:
        raise DomainError("This interaction has no next step.")
    if interaction.next_step_done_at is not None:
        raise NextStepAlreadyDone("This next step was completed already.")
    interaction.next_step_done_at = utcnow()
    db.session.flush()
    return interaction


# --- Gifts -------------------------------------------------------------------------------------------------


@dataclass
class GiftDetails:
    organisation_id: int
    received_on: date
    amount: Decimal
    currency: str
    hub_id: int
    method: GiftMethod | str
    contact_id: int | None = None
    is_restricted: bool = False
    purpose: str = ""
    introduction_id: int | None = None
    goods_or_services: str = ""
    goods_or_services_value: Decimal | None = None
    acknowledgement_status: AcknowledgementStatus | str = AcknowledgementStatus.TO_BE_ACKNOWLEDGED
    notes: str = ""


def record_gift(details: GiftDetails, actor) -> Gift:
    """Record money received from a donor; it waits to be thanked for unless marked otherwise."""
    errors: dict[str, list[str]] = {}
    currency = (details.currency or "").upper()
    if not is_currency(currency):
        errors["currency"] = ["Choose a currency (ISO 4217, e.g. USD)."]
    if details.amount is None or details.amount <= 0:
        errors["amount"] = ["A gift is more than zero."]
    if details.is_restricted and not details.purpose.strip():
        errors["purpose"] = ["Say what a restricted gift is for."]
    if details.goods_or_services_value is not None and details.goods_or_services_value < 0:
        errors["goods_or_services_value"] = ["A value cannot be negative."]
    if details.goods_or_services_value and not details.goods_or_services.strip():
        errors["goods_or_services"] = ["Describe what the donor received."]
    status = AcknowledgementStatus(details.acknowledgement_status)
    if status is AcknowledgementStatus.ACKNOWLEDGED:
        errors["acknowledgement_status"] = ["Record the gift first, then how it was acknowledged."]
    if errors:
        raise ValidationFailed("The gift could not be recorded.", errors)
    amount = quantize(details.amount, currency)
    if amount != details.amount:
        raise ValidationFailed(
            "Too many decimals.", {"amount": [f"{currency} has fewer decimals than that."]}
        )
    gift = Gift(
        organisation_id=details.organisation_id,
        contact_id=details.contact_id,
        received_on=details.received_on,
        amount=amount,
        currency=currency,
        hub_id=details.hub_id,
        method=GiftMethod(details.method),
        is_restricted=details.is_restricted,
        purpose=details.purpose.strip() if details.is_restricted else "",
        introduction_id=details.introduction_id,
        goods_or_services=details.goods_or_services.strip(),
        goods_or_services_value=(
            quantize(details.goods_or_services_value, currency)
            if details.goods_or_services_value is not None
            else None
        ),
        acknowledgement_status=status,
        notes=details.notes,
        created_by_id=actor.id,
    )
    db.session.add(gift)
    db.session.flush()
    _log(
        gift,
        GiftEventKind.RECORDED,
        actor,
        f"{amount} {currency} received on {details.received_on.isoformat()}",
    )
    return gift


def acknowledge_gift(gift: Gift, on: date, how: str, actor) -> Gift:
    """Record that the gift was thanked for, when and how."""
    if on < gift.received_on:
        raise ValidationFailed(
            "Date too early.", {"acknowledged_on": ["This comes before the gift arrived."]}
        )
    if not how.strip():
        raise ValidationFailed("Say how.", {"acknowledged_how": ["Say how it was acknowledged."]})
    gift.acknowledgement_status = AcknowledgementStatus.ACKNOWLEDGED
    gift.acknowledged_on = on
    gift.acknowledged_how = how.strip()[:200]
    _log(gift, GiftEventKind.ACKNOWLEDGED, actor, f"{how.strip()} on {on.isoformat()}")
    db.session.flush()
    return gift


def set_acknowledgement_status(gift: Gift, status: AcknowledgementStatus | str, actor) -> Gift:
    """Mark a gift not to be acknowledged, or as waiting again."""
    status = AcknowledgementStatus(status)
    if status is AcknowledgementStatus.ACKNOWLEDGED:
        raise ValidationFailed("Say when.", {"acknowledgement_status": ["Use 'Record acknowledgement'."]})
    gift.acknowledgement_status = status
    gift.acknowledged_on = None
    gift.acknowledged_how = ""
    db.session.flush()
    return gift


def _log(gift: Gift, kind: GiftEventKind, actor, detail: str) -> None:
    db.session.add(GiftEvent(gift=gift, kind=kind, actor_id=getattr(actor, "id", None), detail=detail))


def log_gift_event(gift: Gift, kind: GiftEventKind, actor, detail: str) -> None:
    """Add a line to the gift's history (letters made and sent)."""
    _log(gift, kind, actor, detail)
    db.session.flush()


def gifts_awaiting_acknowledgement(on: date, limit: int = 20) -> list[Gift]:
    """Gifts received more than ACKNOWLEDGEMENT_DUE_DAYS ago and still not thanked for, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Gift)
            .where(
                Gift.acknowledgement_status == AcknowledgementStatus.TO_BE_ACKNOWLEDGED,
                Gift.received_on < on - timedelta(days=ACKNOWLEDGEMENT_DUE_DAYS),
            )
            .options(joinedload(Gift.organisation))
            .order_by(Gift.received_on, Gift.id)
            .limit(limit)
        )
    )


def count_gifts_awaiting_acknowledgement(on: date) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Gift.id)).where(
            Gift.acknowledgement_status == AcknowledgementStatus.TO_BE_ACKNOWLEDGED,
            Gift.received_on < on - timedelta(days=ACKNOWLEDGEMENT_DUE_DAYS),
        )
    )


# --- Data protection ---------------------------------------------------------------------------------------


def erase_contact(contact: Contact, actor) -> Contact:
    """Anonymise a person: name, details, notes, and the text of interactions and introductions about them.

    Gifts and acknowledgement letters stay (financial records). The audit log keeps that the data was
    changed and by whom, but its copies of the personal values are blanked too.
    """
    if contact.is_erased:
        raise AlreadyErased("This person's data was erased already.")
    _erase_sent_copies(contact)
    contact.name = f"{ERASED_NAME} #{contact.id}"
    contact.title = ""
    contact.email = ""
    contact.phone = ""
    contact.notes = ""
    contact.source = ""
    contact.do_not_contact = True
    contact.email_consent = False
    contact.email_consent_on = None
    contact.erased_at = utcnow()
    contact.erased_by_id = actor.id
    interactions = db.session.scalars(
        sa.select(Interaction).where(
            Interaction.id.in_(
                sa.select(interaction_contacts.c.interaction_id).where(
                    interaction_contacts.c.contact_id == contact.id
                )
            )
        )
    )
    for interaction in interactions:
        interaction.summary = ERASED_TEXT
        if interaction.next_step:
            interaction.next_step = ERASED_TEXT
    for introduction in db.session.scalars(
        sa.select(Introduction).where(Introduction.target_contact_id == contact.id)
    ):
        introduction.purpose = ERASED_TEXT if introduction.purpose else ""
        introduction.outcome = ERASED_TEXT if introduction.outcome else ""
    for connection in db.session.scalars(sa.select(Connection).where(Connection.contact_id == contact.id)):
        connection.nature = ""
    connector = db.session.scalar(sa.select(Connector).where(Connector.contact_id == contact.id))
    if connector is not None:
        connector.name = contact.name
        connector.email = ""
        connector.notes = ""
    db.session.flush()
    _blank_audit_history(contact)
    return contact


def _erase_sent_copies(contact: Contact) -> None:
    """The mail log's copies of what was sent to the person (letters and anything else to their address):
    the MIME bytes, the address and the outbox file go; that a message was sent, when and of what kind stays.
    The gifts' history keeps its lines with the address blanked."""
    letter_ids = sa.select(AcknowledgementLetter.id).where(AcknowledgementLetter.contact_id == contact.id)
    letter_messages = db.session.scalars(
        sa.select(mail.MailMessage)
        .join(LetterMessage, LetterMessage.message_id == mail.MailMessage.id)
        .where(LetterMessage.letter_id.in_(letter_ids))
    ).all()
    mail.erase_copies(letter_messages)
    if contact.email:
        mail.erase_copies(db.session.scalars(mail.messages_to(contact.email)).all(), address=contact.email)
        gift_ids = sa.union(
            sa.select(Gift.id).where(Gift.contact_id == contact.id),
            sa.select(AcknowledgementLetter.gift_id).where(
                AcknowledgementLetter.id.in_(letter_ids), AcknowledgementLetter.gift_id.is_not(None)
            ),
        )
        for event in db.session.scalars(sa.select(GiftEvent).where(GiftEvent.gift_id.in_(gift_ids))):
            event.detail = _without(event.detail, contact.email)
        for gift in db.session.scalars(sa.select(Gift).where(Gift.id.in_(gift_ids))):
            gift.acknowledged_how = _without(gift.acknowledged_how, contact.email)


def _without(text: str, address: str) -> str:
    """`text` with every spelling of `address` (any case) replaced by the erased marker."""
    if not text or not address:
        return text
    return re.sub(re.escape(address), mail.ERASED_RECIPIENT, text, flags=re.IGNORECASE)


def _blank_audit_history(contact: Contact) -> None:
    # The audit log is append-only for the application, but erasure is the one case where the law asks
    # for its copies of a person's data to go; what changed, when and by whom stays.
    entries = db.session.execute(
        sa.select(AuditEntry.id, AuditEntry.changes).where(
            AuditEntry.record_type == "Contact", AuditEntry.record_id == str(contact.id)
        )
    ).all()
    for entry_id, changes in entries:
        blanked = {
            key: (["[erased]", "[erased]"] if key in PERSONAL_FIELDS else value)
            for key, value in (changes or {}).items()
        }
        db.session.execute(
            sa.update(AuditEntry.__table__)
            .where(AuditEntry.__table__.c.id == entry_id)
            .values(changes=blanked)
        )
    db.session.execute(
        sa.update(AuditEntry.__table__)
        .where(
            AuditEntry.__table__.c.record_type == "Contact",
            AuditEntry.__table__.c.record_id == str(contact.id),
        )
        .values(record_label=contact.name)
    )


def contact_has_personal_data(contact: Contact) -> bool:
    """Whether anything identifying is left on the record (for the GDPR panel and the tests)."""
    return any(
        fold(getattr(contact, name) or "") for name in ("title", "email", "phone", "notes", "source")
    ) or not contact.name.startswith(ERASED_NAME)
