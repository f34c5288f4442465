"""Pipeline tables: the fundraising plan (targets and the plan's exchange rates) and calendar feed keys.

Money columns are Numeric(14, 2) beside a currency column; rates are Numeric(18, 8).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..common.db_types import MONEY, RATE, enum_column
from ..common.time import utcnow
from ..extensions import db
from .sources import Source


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
    """A user's private calendar feed. The URL's token signs (user, version): renewing bumps the version,
    so every earlier URL stops working, and no secret is stored."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    renewed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    last_fetched_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    user = relationship("User")

    def __str__(self) -> str:
        return f"Calendar feed of user {self.user_id}"
