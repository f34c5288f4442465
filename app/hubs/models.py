"""Hubs: the offices and the legal entities behind them, which issue documents in their own currency."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..common.db_types import enum_column
from ..common.time import utcnow
from ..extensions import db


class HubKind(enum.StrEnum):
    HEADQUARTERS = "headquarters"
    HUB_OFFICE = "hub_office"

    @property
    def label(self) -> str:
        return {"headquarters": "Headquarters", "hub_office": "Hub office"}[self.value]


class HubStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_SETUP = "in_setup"
    OPEN = "open"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {"planned": "Planned", "in_setup": "In setup", "open": "Open", "closed": "Closed"}[self.value]


class Hub(db.Model):
    __tablename__ = "hubs"
    __audited__ = True
    __audit_exclude__ = {"logo_bytes"}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    kind: Mapped[HubKind] = mapped_column(enum_column(HubKind))
    status: Mapped[HubStatus] = mapped_column(enum_column(HubStatus), default=HubStatus.PLANNED)
    opening_date: Mapped[date | None]
    is_default_issuer: Mapped[bool] = mapped_column(default=False)

    legal_name: Mapped[str] = mapped_column(sa.String(200))
    street_address: Mapped[str] = mapped_column(sa.String(300), default="")
    city: Mapped[str] = mapped_column(sa.String(120), default="")
    postal_code: Mapped[str] = mapped_column(sa.String(20), default="")
    country_code: Mapped[str] = mapped_column(sa.String(2))  # ISO 3166-1 alpha-2
    registration_number: Mapped[str] = mapped_column(sa.String(60), default="")
    vat_number: Mapped[str] = mapped_column(sa.String(40), default="")
    #: Per language: {"en": "...", "fr": "...", "es": "..."}
    tax_statement: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    legal_mentions: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    base_currency: Mapped[str] = mapped_column(sa.String(3))  # ISO 4217
    bank_name: Mapped[str] = mapped_column(sa.String(120), default="")
    iban: Mapped[str] = mapped_column(sa.String(34), default="")
    bic: Mapped[str] = mapped_column(sa.String(11), default="")
    account_number: Mapped[str] = mapped_column(sa.String(34), default="")
    routing_number: Mapped[str] = mapped_column(sa.String(20), default="")
    invoice_prefix: Mapped[str] = mapped_column(sa.String(10), unique=True)
    payment_terms_days: Mapped[int] = mapped_column(default=30)

    logo_bytes: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    logo_mime_type: Mapped[str | None] = mapped_column(sa.String(20))

    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    checklist: Mapped[HubChecklist | None] = relationship(
        back_populates="hub", cascade="all, delete-orphan", uselist=False
    )

    __table_args__ = (
        sa.CheckConstraint(
            "payment_terms_days >= 0 AND payment_terms_days <= 365", name="payment_terms_range"
        ),
        # At most one default issuer.
        sa.Index(
            "uq_hubs_default_issuer",
            "is_default_issuer",
            unique=True,
            sqlite_where=sa.text("is_default_issuer"),
            postgresql_where=sa.text("is_default_issuer"),
        ),
    )

    def text_for(self, field: str, language: str) -> str:
        """A per-language text (tax statement, legal mentions), falling back to English."""
        values = getattr(self, field) or {}
        return values.get(language) or values.get("en") or ""

    def __str__(self) -> str:
        return self.name


# --- Setup checklists --------------------------------------------------------------------------------------


class ChecklistItemStatus(enum.StrEnum):
    TO_DO = "to_do"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    NOT_NEEDED = "not_needed"

    @property
    def label(self) -> str:
        return {"to_do": "To do", "in_progress": "In progress", "done": "Done", "not_needed": "Not needed"}[
            self.value
        ]

    @property
    def is_open(self) -> bool:
        return self in (ChecklistItemStatus.TO_DO, ChecklistItemStatus.IN_PROGRESS)


class ChecklistTemplate(db.Model):
    """A reusable list of the steps to open a hub: the approach the last hub proved."""

    __tablename__ = "checklist_templates"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    items: Mapped[list[ChecklistTemplateItem]] = relationship(
        back_populates="template",
        cascade="all, delete-orphan",
        order_by="ChecklistTemplateItem.position",
    )

    def __str__(self) -> str:
        return self.name


class ChecklistTemplateItem(db.Model):
    """One step of a template, in order, with who usually does it."""

    __tablename__ = "checklist_template_items"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        sa.ForeignKey("checklist_templates.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=1)
    description: Mapped[str] = mapped_column(sa.String(300))
    #: A job role, not an account: "Finance director", "Legal counsel".
    default_owner_role: Mapped[str] = mapped_column(sa.String(120), default="")

    template: Mapped[ChecklistTemplate] = relationship(back_populates="items")

    def __str__(self) -> str:
        return self.description[:80]


class HubChecklist(db.Model):
    """A hub's own setup checklist, made from a template (which it keeps the name of)."""

    __tablename__ = "hub_checklists"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(sa.ForeignKey("hubs.id", ondelete="CASCADE"), unique=True)
    source_template_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("checklist_templates.id", ondelete="SET NULL")
    )
    #: Kept as text, so that the checklist still says where it came from if the template is deleted.
    source_template_name: Mapped[str] = mapped_column(sa.String(120), default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    hub: Mapped[Hub] = relationship(back_populates="checklist")
    items: Mapped[list[HubChecklistItem]] = relationship(
        back_populates="checklist",
        cascade="all, delete-orphan",
        order_by="HubChecklistItem.position",
    )

    def __str__(self) -> str:
        return f"Checklist of hub {self.hub_id}"


class HubChecklistItem(db.Model):
    """One step of a hub's setup: who, by when, how far, and when it was done."""

    __tablename__ = "hub_checklist_items"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    checklist_id: Mapped[int] = mapped_column(
        sa.ForeignKey("hub_checklists.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=1)
    description: Mapped[str] = mapped_column(sa.String(300))
    owner_role: Mapped[str] = mapped_column(sa.String(120), default="")
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    due_on: Mapped[date | None]
    status: Mapped[ChecklistItemStatus] = mapped_column(
        enum_column(ChecklistItemStatus), default=ChecklistItemStatus.TO_DO
    )
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    #: Set when the item is marked done, cleared when it is reopened.
    completed_on: Mapped[date | None]

    checklist: Mapped[HubChecklist] = relationship(back_populates="items")
    owner = relationship("User", lazy="joined")

    __table_args__ = (
        sa.CheckConstraint(
            "(status = 'done' AND completed_on IS NOT NULL) OR (status <> 'done' AND completed_on IS NULL)",
            name="completed_on_matches_status",
        ),
    )

    def is_overdue(self, on: date) -> bool:
        return self.status.is_open and self.due_on is not None and self.due_on < on

    def __str__(self) -> str:
        return self.description[:80]
