"""Pipeline tables: opportunities with their fiscal-year split and stage history, pledges with instalments,
gifts applied to them and deliverables; the fundraising plan (targets and the plan's exchange rates); and
calendar feed keys.

Money columns are Numeric(14, 2) beside a currency column; rates are Numeric(18, 8).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..common.db_types import MONEY, RATE, enum_column
from ..common.time import as_utc, utcnow
from ..extensions import db
from .sources import Source
from .stages import Stage

ZERO = Decimal("0.00")


class PlanTarget(db.Model):
    """What the plan aims to raise from one source in one fiscal year, in the reporting currency."""

    __tablename__ = "plan_targets"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(index=True)
    source: Mapped[Source] = mapped_column(enum_column(Source))
    #: In `currency`, the reporting currency when the target was set.
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("fiscal_year", "source", name="uq_plan_targets_fiscal_year_source"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    def __str__(self) -> str:
        return f"FY{self.fiscal_year} {self.source.label} target"


class PlanExchangeRate(db.Model):
    """The plan's rate for one fiscal year and currency, kept by operations; every plan figure uses it."""

    __tablename__ = "plan_exchange_rates"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(index=True)
    #: The foreign currency (ISO 4217), e.g. EUR.
    currency: Mapped[str] = mapped_column(sa.String(3))
    #: Units of `currency` per one unit of `reporting_currency` (1 USD = 0.92000000 EUR).
    rate: Mapped[Decimal] = mapped_column(RATE)
    reporting_currency: Mapped[str] = mapped_column(sa.String(3))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    updated_by = relationship("User")

    __table_args__ = (
        sa.UniqueConstraint("fiscal_year", "currency", name="uq_plan_exchange_rates_fiscal_year_currency"),
        sa.CheckConstraint("rate > 0", name="rate_positive"),
    )

    def __str__(self) -> str:
        return f"FY{self.fiscal_year}: 1 {self.reporting_currency} = {self.rate} {self.currency}"


class CalendarFeed(db.Model):
    """How often a user renewed their calendar feed's URL. The URL's token signs (user, version): renewing
    bumps the version, so every earlier URL stops working, and no secret is stored. Without a row, the
    version is 1."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    renewed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    user = relationship("User")

    def __str__(self) -> str:
        return f"Calendar feed of user {self.user_id}"


# --- Opportunities -----------------------------------------------------------------------------------------


class Opportunity(db.Model):
    """An ask to one organisation, moving through the stages; a multi-year ask is split by fiscal year."""

    __tablename__ = "opportunities"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    primary_contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    stage: Mapped[Stage] = mapped_column(enum_column(Stage), default=Stage.IDENTIFIED, index=True)
    #: Percent chance of winning: the stage's default unless the owner set another.
    probability: Mapped[int] = mapped_column(default=Stage.IDENTIFIED.default_probability)
    #: Asked, in `currency`; the fiscal-year split adds up to it.
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3))
    is_restricted: Mapped[bool] = mapped_column(default=False)
    purpose: Mapped[str] = mapped_column(sa.String(500), default="")
    expected_decision_on: Mapped[date | None] = mapped_column(index=True)
    proposal_due_on: Mapped[date | None] = mapped_column(index=True)
    next_step: Mapped[str] = mapped_column(sa.String(500), default="")
    next_step_due_on: Mapped[date | None]
    introduction_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("introductions.id", ondelete="SET NULL"), index=True
    )
    #: Why it was lost or declined.
    close_reason: Mapped[str] = mapped_column(sa.Text, default="")
    #: When the current stage began (the latest stage change), for "days in stage" without a query per card.
    stage_changed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    organisation = relationship("Organisation", lazy="joined", innerjoin=True)
    owner = relationship("User", foreign_keys=[owner_id], lazy="joined", innerjoin=True)
    primary_contact = relationship("Contact", foreign_keys=[primary_contact_id])
    introduction = relationship("Introduction")
    splits: Mapped[list[OpportunitySplit]] = relationship(
        back_populates="opportunity",
        cascade="all, delete-orphan",
        order_by="OpportunitySplit.fiscal_year",
        lazy="selectin",
    )
    contacts: Mapped[list[OpportunityContact]] = relationship(
        back_populates="opportunity", cascade="all, delete-orphan", order_by="OpportunityContact.id"
    )
    stage_changes: Mapped[list[StageChange]] = relationship(
        back_populates="opportunity", cascade="all, delete-orphan", order_by="StageChange.changed_at"
    )
    pledge: Mapped[Pledge | None] = relationship(back_populates="opportunity", uselist=False)

    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("probability BETWEEN 0 AND 100", name="probability_range"),
        sa.CheckConstraint("NOT is_restricted OR purpose <> ''", name="restricted_has_purpose"),
    )

    def days_in_stage(self, on: date) -> int:
        """Whole days since the current stage began."""
        return max((on - as_utc(self.stage_changed_at).date()).days, 0)

    def __str__(self) -> str:
        return self.title


class OpportunitySplit(db.Model):
    """The part of an opportunity's amount that falls in one fiscal year."""

    __tablename__ = "opportunity_splits"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(sa.ForeignKey("opportunities.id", ondelete="CASCADE"))
    fiscal_year: Mapped[int] = mapped_column(index=True)
    #: In the opportunity's currency.
    amount: Mapped[Decimal] = mapped_column(MONEY)

    opportunity: Mapped[Opportunity] = relationship(back_populates="splits")

    __table_args__ = (
        sa.UniqueConstraint("opportunity_id", "fiscal_year"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )

    def __str__(self) -> str:
        return f"FY{self.fiscal_year} share of opportunity {self.opportunity_id}"


class OpportunityContact(db.Model):
    """Another person involved in an ask, with their role in it (programme officer, signatory...)."""

    __tablename__ = "opportunity_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(sa.ForeignKey("opportunities.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(200), default="")

    opportunity: Mapped[Opportunity] = relationship(back_populates="contacts")
    contact = relationship("Contact")

    __table_args__ = (sa.UniqueConstraint("opportunity_id", "contact_id"),)


def _stage_column(name: str) -> sa.Enum:
    # Two stage columns in one table need two differently named CHECK constraints (PostgreSQL refuses twins).
    return sa.Enum(
        Stage,
        native_enum=False,
        length=30,
        validate_strings=True,
        create_constraint=True,
        name=name,
        values_callable=lambda members: [member.value for member in members],
    )


class StageChange(db.Model):
    """One move of an opportunity from a stage to another, with when, who and why."""

    __tablename__ = "opportunity_stage_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        sa.ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    from_stage: Mapped[Stage | None] = mapped_column(_stage_column("from_stage"))
    to_stage: Mapped[Stage] = mapped_column(_stage_column("to_stage"))
    changed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(sa.Text, default="")

    opportunity: Mapped[Opportunity] = relationship(back_populates="stage_changes")
    changed_by = relationship("User")


# --- Pledges -----------------------------------------------------------------------------------------------


class Pledge(db.Model):
    """A grant agreement: what a won opportunity awarded, its instalments and the donor's deadlines."""

    __tablename__ = "pledges"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(sa.ForeignKey("opportunities.id"), unique=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    #: Awarded, in `currency`; the instalments always add up to it.
    awarded_amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3))
    agreed_on: Mapped[date]
    reference: Mapped[str] = mapped_column(sa.String(200), default="")  # the donor's grant number
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    opportunity: Mapped[Opportunity] = relationship(back_populates="pledge")
    organisation = relationship("Organisation", lazy="joined", innerjoin=True)
    instalments: Mapped[list[Instalment]] = relationship(
        back_populates="pledge",
        cascade="all, delete-orphan",
        order_by="(Instalment.expected_on, Instalment.id)",
        lazy="selectin",
    )
    deliverables: Mapped[list[Deliverable]] = relationship(
        back_populates="pledge", cascade="all, delete-orphan", order_by="(Deliverable.due_on, Deliverable.id)"
    )

    __table_args__ = (sa.CheckConstraint("awarded_amount > 0", name="awarded_amount_positive"),)

    @property
    def received_amount(self) -> Decimal:
        return sum((instalment.received_amount for instalment in self.instalments), ZERO)

    def __str__(self) -> str:
        return f"Pledge for {self.opportunity.title}" if self.opportunity else f"Pledge #{self.id}"


class InstalmentStatus(enum.StrEnum):
    PAID = "paid"
    PART_PAID = "part_paid"
    DUE = "due"
    LATE = "late"

    @property
    def label(self) -> str:
        return {"paid": "Paid", "part_paid": "Part paid", "due": "Due", "late": "Late"}[self.value]


class Instalment(db.Model):
    """One expected payment of a pledge; gifts applied to it make up `received_amount`."""

    __tablename__ = "pledge_instalments"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(sa.ForeignKey("pledges.id", ondelete="CASCADE"), index=True)
    #: Expected, in the pledge's currency.
    amount: Mapped[Decimal] = mapped_column(MONEY)
    expected_on: Mapped[date] = mapped_column(index=True)
    #: The fiscal year of `expected_on`, kept so that plan sums group by it in SQL.
    fiscal_year: Mapped[int] = mapped_column(index=True)
    #: Applied from gifts so far, in the pledge's currency; kept equal to the sum of its applications.
    received_amount: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)

    pledge: Mapped[Pledge] = relationship(back_populates="instalments")
    applications: Mapped[list[GiftApplication]] = relationship(
        back_populates="instalment", order_by="GiftApplication.id"
    )

    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint(
            "received_amount >= 0 AND received_amount <= amount", name="received_within_amount"
        ),
    )

    def status(self, on: date) -> InstalmentStatus:
        if self.received_amount >= self.amount:
            return InstalmentStatus.PAID
        if self.expected_on < on:
            return InstalmentStatus.LATE
        return InstalmentStatus.PART_PAID if self.received_amount > 0 else InstalmentStatus.DUE

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.received_amount

    def __str__(self) -> str:
        return f"Instalment of {self.amount} due {self.expected_on.isoformat()}"


class GiftApplication(db.Model):
    """Part of a gift applied to a pledge instalment (a gift may pay several, or part of one).

    The table is the pipeline's: the donors area records gifts and knows nothing of pledges."""

    __tablename__ = "gift_applications"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    gift_id: Mapped[int] = mapped_column(sa.ForeignKey("gifts.id", ondelete="CASCADE"), index=True)
    instalment_id: Mapped[int] = mapped_column(sa.ForeignKey("pledge_instalments.id"), index=True)
    #: Applied, in the gift's currency, which is the pledge's.
    amount: Mapped[Decimal] = mapped_column(MONEY)
    applied_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    applied_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    gift = relationship("Gift", lazy="joined", innerjoin=True)
    instalment: Mapped[Instalment] = relationship(back_populates="applications")

    __table_args__ = (
        sa.UniqueConstraint("gift_id", "instalment_id"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )

    def __str__(self) -> str:
        return f"{self.amount} of gift {self.gift_id} to instalment {self.instalment_id}"


class DeliverableKind(enum.StrEnum):
    LETTER_OF_INTENT = "letter_of_intent"
    PROPOSAL = "proposal"
    NARRATIVE_REPORT = "narrative_report"
    FINANCIAL_REPORT = "financial_report"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class DeliverableStatus(enum.StrEnum):
    TO_DO = "to_do"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"

    @property
    def label(self) -> str:
        return {
            "to_do": "To do",
            "in_progress": "In progress",
            "submitted": "Submitted",
            "accepted": "Accepted",
        }[self.value]

    @property
    def is_done(self) -> bool:
        return self in (DeliverableStatus.SUBMITTED, DeliverableStatus.ACCEPTED)


class Deliverable(db.Model):
    """A reporting deadline the donor set in the agreement."""

    __tablename__ = "pledge_deliverables"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(sa.ForeignKey("pledges.id", ondelete="CASCADE"), index=True)
    kind: Mapped[DeliverableKind] = mapped_column(enum_column(DeliverableKind))
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    due_on: Mapped[date] = mapped_column(index=True)
    submitted_on: Mapped[date | None]
    requirements: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[DeliverableStatus] = mapped_column(
        enum_column(DeliverableStatus), default=DeliverableStatus.TO_DO, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    pledge: Mapped[Pledge] = relationship(back_populates="deliverables")

    __table_args__ = (
        sa.CheckConstraint(
            "(status IN ('submitted', 'accepted')) = (submitted_on IS NOT NULL)", name="submitted_has_date"
        ),
    )

    def __str__(self) -> str:
        return self.title or self.kind.label


# The totals the board and the opportunity list read (kept by a session listener); indexes in list order.
from . import indexes as _indexes  # noqa: E402, F401
from . import opportunity_totals as _opportunity_totals  # noqa: E402, F401
