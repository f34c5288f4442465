"""Donors and foundations: organisations, contacts and their affiliations, connectors and introductions,
interactions with their next steps, gifts and acknowledgement letters.

Search: organisations and contacts keep `search_text`, a folded (unaccented, case-folded) copy of what the
list searches, set by the model whenever the name or e-mail changes. `app/donors/search.py` indexes it with
pg_trgm on PostgreSQL and an FTS5 trigram table on SQLite, so that a substring search does not scan.
Duplicate finding reads `name_key` and `email_key`, both indexed.

Money columns are Numeric(14, 2) beside a currency column; no float touches them.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm  # noqa: F401 - sa.orm.Session for the letter guard
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..common.db_types import MONEY, enum_column
from ..common.time import utcnow
from ..extensions import db
from .text import fold, name_key


class _Labelled(enum.StrEnum):
    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Language(_Labelled):
    """The languages documents and letters are written in."""

    EN = "en"
    FR = "fr"
    ES = "es"

    @property
    def label(self) -> str:
        return {"en": "English", "fr": "French", "es": "Spanish"}[self.value]


# --- Organisations -----------------------------------------------------------------------------------------


class OrganisationKind(_Labelled):
    PRIVATE_FOUNDATION = "private_foundation"
    CORPORATE_FOUNDATION = "corporate_foundation"
    BILATERAL_AGENCY = "bilateral_agency"
    MULTILATERAL = "multilateral"
    GOVERNMENT = "government"
    COMPANY = "company"
    INDIVIDUAL = "individual"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "government": "Government (non-member)",
            "individual": "Individual or family office",
        }.get(self.value, super().label)


class OrganisationStatus(_Labelled):
    PROSPECT = "prospect"
    ACTIVE = "active"
    LAPSED = "lapsed"


organisation_themes = sa.Table(
    "organisation_themes",
    db.metadata,
    sa.Column("organisation_id", sa.ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("theme_id", sa.ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Theme(db.Model):
    """A focus theme organisations are tagged with (anti-corruption, civic space, ...)."""

    __tablename__ = "themes"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)

    def __str__(self) -> str:
        return self.name


class Organisation(db.Model):
    """A prospective or current funder."""

    __tablename__ = "organisations"
    __audited__ = True
    __audit_exclude__ = {"search_text", "name_key"}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    #: name_key(name): what two spellings of one name share, for duplicate finding.
    name_key: Mapped[str] = mapped_column(sa.String(300), index=True)
    #: fold(name): what the list search matches (trigram-indexed, see search.py).
    search_text: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[OrganisationKind] = mapped_column(enum_column(OrganisationKind), index=True)
    #: ISO 3166-1 alpha-2; indexed by ix_organisations_country_list_order.
    country_code: Mapped[str | None] = mapped_column(sa.String(2))
    website: Mapped[str] = mapped_column(sa.String(300), default="")
    status: Mapped[OrganisationStatus] = mapped_column(
        enum_column(OrganisationStatus), default=OrganisationStatus.PROSPECT, index=True
    )
    #: The staff member who owns the relationship.
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    owner = relationship("User")
    themes: Mapped[list[Theme]] = relationship(secondary=organisation_themes, order_by="Theme.name")
    affiliations: Mapped[list[Affiliation]] = relationship(back_populates="organisation")

    __table_args__ = (
        # The list's order (folded name, then id), so that a page of it is read in order, not sorted (on
        # PostgreSQL too: it sorted all 50,000 organisations for every page; searches still take the trigram
        # index, see tests/donors/test_search.py). And the same order within a country, for the country
        # filter and the country block of duplicate finding.
        sa.Index("ix_organisations_list_order", "search_text", "id"),
        sa.Index("ix_organisations_country_list_order", "country_code", "search_text", "id"),
        # Duplicate finding's country block: the candidates' name keys (and lengths) read from the index, the
        # rows themselves only for the names long or short enough to be close.
        sa.Index("ix_organisations_country_name_key", "country_code", "name_key"),
    )

    @validates("name")
    def _keep_search_columns(self, key, value: str) -> str:
        self.name_key = name_key(value)
        self.search_text = fold(value)
        return value

    def __str__(self) -> str:
        return self.name


# --- Contacts ----------------------------------------------------------------------------------------------


class LawfulBasis(_Labelled):
    """GDPR article 6: why we may hold this person's data."""

    LEGITIMATE_INTEREST = "legitimate_interest"
    CONSENT = "consent"
    CONTRACT = "contract"


class Contact(db.Model):
    """A person, usually at an organisation (see Affiliation for where and when)."""

    __tablename__ = "contacts"
    __audited__ = True
    __audit_exclude__ = {"search_text", "name_key", "email_key"}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: Indexed with the id (ix_contacts_name_key): the same name's contacts are read in id order.
    name_key: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    #: As email-validator normalised it; "" when unknown.
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    #: email.casefold(): duplicates are found by it.
    email_key: Mapped[str] = mapped_column(sa.String(254), default="", index=True)
    #: E.164 (+4420...), shown in national format; "" when unknown.
    phone: Mapped[str] = mapped_column(sa.String(20), default="")
    language: Mapped[Language] = mapped_column(enum_column(Language), default=Language.EN)
    do_not_contact: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    #: fold(name + e-mail): what the list search matches (trigram-indexed, see search.py).
    search_text: Mapped[str] = mapped_column(sa.String(460), default="")

    # Data protection (the Belgian hub is under the GDPR).
    lawful_basis: Mapped[LawfulBasis] = mapped_column(
        enum_column(LawfulBasis), default=LawfulBasis.LEGITIMATE_INTEREST
    )
    #: Where the data came from ("met at the OGP summit 2026", "import from the 2025 event list").
    source: Mapped[str] = mapped_column(sa.String(300), default="")
    privacy_notice_sent_on: Mapped[date | None]
    #: Consent to receive e-mail (newsletters, appeals), separate from the lawful basis for holding the data.
    email_consent: Mapped[bool] = mapped_column(default=False)
    email_consent_on: Mapped[date | None]
    #: Set when the person's data was erased; name and details are then placeholders.
    erased_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    erased_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    affiliations: Mapped[list[Affiliation]] = relationship(
        back_populates="contact", order_by="Affiliation.started_on.desc()"
    )

    __table_args__ = (
        # By name key then id: the "same name" suggestions (the first few by id) come from the index. With the
        # key alone, PostgreSQL walked the primary key for a common name and filtered all 200,000 contacts.
        sa.Index("ix_contacts_name_key", "name_key", "id"),
    )

    @validates("name", "email")
    def _keep_search_columns(self, key, value: str) -> str:
        value = value or ""
        name = value if key == "name" else (self.name or "")
        email = value if key == "email" else (self.email or "")
        self.name_key = name_key(name)
        self.search_text = self.search_text_for(name, email)
        if key == "email":
            self.email_key = value.casefold()
        return value

    @staticmethod
    def search_text_for(name: str, email: str) -> str:
        """The folded text the search matches, for bulk inserts that bypass the model."""
        return fold(f"{name} {email}")

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    def __str__(self) -> str:
        return self.name


class Affiliation(db.Model):
    """A contact's position at an organisation, with dates: people move and keep their history."""

    __tablename__ = "affiliations"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    #: Their title or role there ("Programme Officer, Governance").
    role: Mapped[str] = mapped_column(sa.String(200), default="")
    started_on: Mapped[date | None]
    #: None while current.
    ended_on: Mapped[date | None]

    contact: Mapped[Contact] = relationship(back_populates="affiliations")
    organisation: Mapped[Organisation] = relationship(back_populates="affiliations")

    __table_args__ = (
        sa.CheckConstraint(
            "ended_on IS NULL OR started_on IS NULL OR ended_on >= started_on", name="dates_order"
        ),
    )

    @property
    def is_current(self) -> bool:
        return self.ended_on is None

    def __str__(self) -> str:
        return f"{self.contact} at {self.organisation}"


# --- Who knows whom ----------------------------------------------------------------------------------------


class ConnectorRole(_Labelled):
    BOARD = "board"
    STEERING_COMMITTEE = "steering_committee"
    STAFF = "staff"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "board": "Board member",
            "steering_committee": "Steering Committee member",
            "staff": "Staff",
            "other": "Other",
        }[self.value]


class Connector(db.Model):
    """Someone who knows people: a board or Steering Committee member, staff, a friendly contact.

    A connector may have a login (user_id), be one of our contacts (contact_id), or neither.
    """

    __tablename__ = "connectors"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[ConnectorRole] = mapped_column(enum_column(ConnectorRole), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), unique=True)
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL"), unique=True
    )
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    user = relationship("User")
    contact: Mapped[Contact | None] = relationship()
    connections: Mapped[list[Connection]] = relationship(back_populates="connector")

    def __str__(self) -> str:
        return self.name


class Connection(db.Model):
    """A connector knows a contact, and how ("Steering Committee member, former colleague")."""

    __tablename__ = "connections"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(sa.ForeignKey("connectors.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    nature: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    connector: Mapped[Connector] = relationship(back_populates="connections")
    contact: Mapped[Contact] = relationship()

    __table_args__ = (sa.UniqueConstraint("connector_id", "contact_id"),)

    def __str__(self) -> str:
        return f"{self.connector} knows {self.contact}"


class IntroductionStatus(_Labelled):
    REQUESTED = "requested"
    MADE = "made"
    DECLINED = "declined"
    NO_RESPONSE = "no_response"

    @property
    def is_open(self) -> bool:
        return self is IntroductionStatus.REQUESTED


class Introduction(db.Model):
    """A staff member asks a connector to introduce someone (often the CEO) to a target contact."""

    __tablename__ = "introductions"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(sa.ForeignKey("connectors.id"), index=True)
    target_contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contacts.id"), index=True)
    #: The target's organisation when asked (people move; the ask was about this funder).
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: Whom the connector is asked to introduce (often the CEO).
    for_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[IntroductionStatus] = mapped_column(
        enum_column(IntroductionStatus), default=IntroductionStatus.REQUESTED, index=True
    )
    requested_on: Mapped[date]
    #: When it was made, declined or marked as unanswered.
    status_changed_on: Mapped[date | None]
    #: Why we asked and what we hope for.
    purpose: Mapped[str] = mapped_column(sa.Text, default="")
    outcome: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    connector: Mapped[Connector] = relationship()
    target_contact: Mapped[Contact] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    for_user = relationship("User", foreign_keys=[for_user_id])

    def __str__(self) -> str:
        return f"Introduction of {self.for_user} to {self.target_contact} by {self.connector}"


# --- Interactions ------------------------------------------------------------------------------------------


class InteractionKind(_Labelled):
    MEETING = "meeting"
    CALL = "call"
    EMAIL = "email"
    EVENT = "event"
    SITE_VISIT = "site_visit"

    @property
    def label(self) -> str:
        return {"email": "E-mail"}.get(self.value, super().label)


interaction_contacts = sa.Table(
    "interaction_contacts",
    db.metadata,
    sa.Column("interaction_id", sa.ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("contact_id", sa.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True),
)

interaction_staff = sa.Table(
    "interaction_staff",
    db.metadata,
    sa.Column("interaction_id", sa.ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Interaction(db.Model):
    """A meeting, call, e-mail, event or site visit, with an optional next step."""

    __tablename__ = "interactions"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[InteractionKind] = mapped_column(enum_column(InteractionKind))
    occurred_on: Mapped[date] = mapped_column(index=True)
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    # The optional next step: what, by when, by whom, and when it was done.
    next_step: Mapped[str] = mapped_column(sa.String(500), default="")
    next_step_due_on: Mapped[date | None]
    #: Indexed by ix_interactions_open_next_steps_due (open steps only: no user is ever deleted).
    next_step_owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    next_step_done_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    organisation: Mapped[Organisation | None] = relationship()
    contacts: Mapped[list[Contact]] = relationship(secondary=interaction_contacts, order_by="Contact.name")
    staff = relationship("User", secondary=interaction_staff, order_by="User.full_name")
    created_by = relationship("User", foreign_keys=[created_by_id])
    next_step_owner = relationship("User", foreign_keys=[next_step_owner_id])

    __table_args__ = (
        # "My next steps" and the calendar feed: the open steps of one owner, by due date, counted and paged
        # from the index alone (partial: done steps, the great majority, are not in it).
        sa.Index(
            "ix_interactions_open_next_steps_due",
            "next_step_owner_id",
            "next_step_due_on",
            "id",
            sqlite_where=sa.text("next_step_done_at IS NULL AND next_step <> ''"),
            postgresql_where=sa.text("next_step_done_at IS NULL AND next_step <> ''"),
        ),
        # An organisation's newest interactions, read in order (the organisation page).
        sa.Index("ix_interactions_organisation_recent", "organisation_id", "occurred_on", "id"),
    )

    @property
    def has_next_step(self) -> bool:
        return bool(self.next_step)

    @property
    def next_step_is_open(self) -> bool:
        return self.has_next_step and self.next_step_done_at is None

    def __str__(self) -> str:
        return f"{self.kind.label} on {self.occurred_on.isoformat()}"


# --- Gifts and letters -------------------------------------------------------------------------------------


class GiftMethod(_Labelled):
    WIRE = "wire"
    CHEQUE = "cheque"
    CARD = "card"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"wire": "Wire transfer"}.get(self.value, super().label)


class AcknowledgementStatus(_Labelled):
    TO_BE_ACKNOWLEDGED = "to_be_acknowledged"
    ACKNOWLEDGED = "acknowledged"
    DO_NOT_ACKNOWLEDGE = "do_not_acknowledge"


class Gift(db.Model):
    """Money received from a donor, and whether it was thanked for."""

    __tablename__ = "gifts"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    #: The person the thank-you goes to; None when the organisation itself is addressed.
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    received_on: Mapped[date] = mapped_column(index=True)
    #: Amount received, in `currency` (ISO 4217).
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3))
    hub_id: Mapped[int] = mapped_column(sa.ForeignKey("hubs.id"), index=True)
    method: Mapped[GiftMethod] = mapped_column(enum_column(GiftMethod))
    is_restricted: Mapped[bool] = mapped_column(default=False)
    #: What a restricted gift is for.
    purpose: Mapped[str] = mapped_column(sa.String(500), default="")
    #: The introduction that led to it ("introduced by").
    introduction_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("introductions.id", ondelete="SET NULL"), index=True
    )
    #: What the donor received in exchange, for the IRS written acknowledgement ("" when nothing).
    goods_or_services: Mapped[str] = mapped_column(sa.String(500), default="")
    #: Good-faith estimate of their value, in `currency`.
    goods_or_services_value: Mapped[Decimal | None] = mapped_column(MONEY)
    acknowledgement_status: Mapped[AcknowledgementStatus] = mapped_column(
        enum_column(AcknowledgementStatus), default=AcknowledgementStatus.TO_BE_ACKNOWLEDGED
    )
    acknowledged_on: Mapped[date | None]
    #: How it was thanked ("letter by e-mail", "call from the CEO").
    acknowledged_how: Mapped[str] = mapped_column(sa.String(200), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    contact: Mapped[Contact | None] = relationship()
    hub = relationship("Hub")
    introduction: Mapped[Introduction | None] = relationship()
    events: Mapped[list[GiftEvent]] = relationship(
        back_populates="gift", cascade="all, delete-orphan", order_by="GiftEvent.at"
    )

    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint(
            "goods_or_services_value IS NULL OR goods_or_services_value >= 0", name="goods_value_not_negative"
        ),
        sa.CheckConstraint("NOT is_restricted OR purpose <> ''", name="restricted_has_purpose"),
        sa.CheckConstraint(
            "(acknowledgement_status = 'acknowledged') = (acknowledged_on IS NOT NULL)",
            name="acknowledged_has_date",
        ),
        # The fundraising landing page lists the gifts still to thank for, oldest first.
        sa.Index("ix_gifts_acknowledgement_due", "acknowledgement_status", "received_on"),
    )

    def __str__(self) -> str:
        return f"Gift of {self.amount} {self.currency} on {self.received_on.isoformat()}"


class GiftEventKind(_Labelled):
    RECORDED = "recorded"
    LETTER_CREATED = "letter_created"
    LETTER_SENT = "letter_sent"
    ACKNOWLEDGED = "acknowledged"


class GiftEvent(db.Model):
    """The gift's history: recorded, letter made, letter sent to whom, acknowledged."""

    __tablename__ = "gift_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    gift_id: Mapped[int] = mapped_column(sa.ForeignKey("gifts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    kind: Mapped[GiftEventKind] = mapped_column(enum_column(GiftEventKind))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    detail: Mapped[str] = mapped_column(sa.Text, default="")

    gift: Mapped[Gift] = relationship(back_populates="events")
    actor = relationship("User")


class LetterKind(_Labelled):
    GIFT = "gift"
    YEARLY_SUMMARY = "yearly_summary"


class AcknowledgementLetter(db.Model):
    """A thank-you PDF, rendered once and stored with its SHA-256: every download returns these bytes."""

    __tablename__ = "acknowledgement_letters"
    __audited__ = True
    __audit_exclude__ = {"pdf_bytes"}

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[LetterKind] = mapped_column(enum_column(LetterKind))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    #: The gift thanked for (a gift letter), or None (a yearly summary).
    gift_id: Mapped[int | None] = mapped_column(sa.ForeignKey("gifts.id"))
    #: The calendar year a summary covers.
    year: Mapped[int | None]
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contacts.id", ondelete="SET NULL"))
    hub_id: Mapped[int] = mapped_column(sa.ForeignKey("hubs.id"))
    language: Mapped[Language] = mapped_column(enum_column(Language))
    pdf_bytes: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    pdf_sha256: Mapped[str] = mapped_column(sa.String(64))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    gift: Mapped[Gift | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
    hub = relationship("Hub")

    __table_args__ = (
        sa.CheckConstraint(
            "(kind = 'gift' AND gift_id IS NOT NULL AND year IS NULL) "
            "OR (kind = 'yearly_summary' AND gift_id IS NULL AND year IS NOT NULL)",
            name="kind_matches_subject",
        ),
        # A gift is thanked for once: its letter is made once and sent as often as needed.
        sa.Index(
            "uq_acknowledgement_letters_gift",
            "gift_id",
            unique=True,
            sqlite_where=sa.text("gift_id IS NOT NULL"),
            postgresql_where=sa.text("gift_id IS NOT NULL"),
        ),
    )

    @property
    def filename(self) -> str:
        if self.kind is LetterKind.GIFT:
            return f"thank-you-{self.gift_id}-{self.language.value}.pdf"
        return f"gifts-{self.year}-{self.organisation_id}-{self.language.value}.pdf"

    def __str__(self) -> str:
        return f"{self.kind.label} letter for {self.organisation}"


class LetterIsFrozen(Exception):
    """A stored letter's bytes never change and it is never deleted: it is a financial record."""


_FROZEN_LETTER_COLUMNS = ("pdf_bytes", "pdf_sha256", "kind", "gift_id", "year", "organisation_id", "hub_id")


@sa.event.listens_for(sa.orm.Session, "before_flush")
def _refuse_changes_to_stored_letters(session, flush_context, instances):
    for obj in session.deleted:
        if isinstance(obj, AcknowledgementLetter):
            raise LetterIsFrozen("Acknowledgement letters are kept: they cannot be deleted.")
    for obj in session.dirty:
        if isinstance(obj, AcknowledgementLetter):
            state = sa.inspect(obj)
            changed = [name for name in _FROZEN_LETTER_COLUMNS if state.attrs[name].history.has_changes()]
            if changed:
                raise LetterIsFrozen(f"A stored letter cannot change ({', '.join(changed)}).")


class LetterMessage(db.Model):
    """Links a message in the common mail log to the acknowledgement letter it carried."""

    __tablename__ = "acknowledgement_letter_messages"

    message_id: Mapped[int] = mapped_column(
        sa.ForeignKey("mail_messages.id", ondelete="CASCADE"), primary_key=True
    )
    letter_id: Mapped[int] = mapped_column(sa.ForeignKey("acknowledgement_letters.id"), index=True)

    letter: Mapped[AcknowledgementLetter] = relationship()
    message = relationship("MailMessage", lazy="joined", innerjoin=True)
