"""Hubs: the offices and the legal entities behind them, which issue documents in their own currency."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

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

    __table_args__ = (
        sa.CheckConstraint(
            "payment_terms_days >= 0 AND payment_terms_days <= 365", name="payment_terms_range"
        ),
    )

    def text_for(self, field: str, language: str) -> str:
        """A per-language text (tax statement, legal mentions), falling back to English."""
        values = getattr(self, field) or {}
        return values.get(language) or values.get("en") or ""

    def __str__(self) -> str:
        return self.name
