"""Country contributions: members, the contribution policy, invoices, credit notes, payments.

Money columns are Numeric(14, 2) beside a currency column; no float touches them.
An issued invoice never changes: `_refuse_changes_to_issued_documents` below guards that at flush time, and
credit notes, payments and write-offs are the only way its balance moves.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ..common.db_types import MONEY, RATE, enum_column
from ..common.languages import Language
from ..common.mail import MailMessage
from ..common.search import keep_search_text
from ..common.time import utcnow
from ..extensions import db

ZERO = Decimal("0.00")


class MemberKind(enum.StrEnum):
    NATIONAL = "national"
    LOCAL = "local"

    @property
    def label(self) -> str:
        return {"national": "National government", "local": "Local government"}[self.value]


class MemberStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    SUSPENDED = "suspended"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class IncomeGroup(enum.StrEnum):
    """World Bank income groups."""

    HIGH = "high"
    UPPER_MIDDLE = "upper_middle"
    LOWER_MIDDLE = "lower_middle"
    LOW = "low"

    @property
    def label(self) -> str:
        return {
            "high": "High income",
            "upper_middle": "Upper-middle income",
            "lower_middle": "Lower-middle income",
            "low": "Low income",
        }[self.value]


# --- Members -----------------------------------------------------------------------------------------------


class Member(db.Model):
    """A national government (an ISO country) or a local government (a name and its country)."""

    __tablename__ = "members"
    __audited__ = True
    __audit_exclude__ = {"search_text"}

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MemberKind] = mapped_column(enum_column(MemberKind))
    #: Display name: the country's name for a national member, the city or region for a local one.
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    country_code: Mapped[str] = mapped_column(sa.String(2), index=True)  # ISO 3166-1 alpha-2
    #: fold(name), what the searches match (kept by keep_search_text below, indexed: common/search.py).
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    joined_on: Mapped[date | None]
    status: Mapped[MemberStatus] = mapped_column(
        enum_column(MemberStatus), default=MemberStatus.ACTIVE, index=True
    )
    language: Mapped[Language] = mapped_column(enum_column(Language), default=Language.EN)
    hub_id: Mapped[int] = mapped_column(sa.ForeignKey("hubs.id"), index=True)
    #: Month (1-12) in which the member's own budget year starts.
    budget_year_start_month: Mapped[int] = mapped_column(default=1)
    #: Days before the budget year starts by which an invoice or pro-forma must arrive.
    budget_lead_days: Mapped[int] = mapped_column(default=90)
    billing_address: Mapped[str] = mapped_column(sa.Text, default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    hub = relationship("Hub", lazy="joined")
    contacts: Mapped[list[MemberContact]] = relationship(
        back_populates="member", cascade="all, delete-orphan", order_by="MemberContact.is_primary.desc()"
    )
    income_groups: Mapped[list[MemberIncomeGroup]] = relationship(
        back_populates="member", cascade="all, delete-orphan", order_by="MemberIncomeGroup.fiscal_year.desc()"
    )

    __table_args__ = (
        sa.CheckConstraint("budget_year_start_month BETWEEN 1 AND 12", name="budget_month_range"),
        sa.CheckConstraint("budget_lead_days >= 0", name="budget_lead_days_positive"),
        # One national member per country; local members are unique by name within a country.
        sa.Index(
            "uq_members_national_country",
            "country_code",
            unique=True,
            sqlite_where=sa.text("kind = 'national'"),
            postgresql_where=sa.text("kind = 'national'"),
        ),
        sa.UniqueConstraint("country_code", "name", name="uq_members_country_code_name"),
    )

    def __str__(self) -> str:
        return self.name


class MemberContact(db.Model):
    """A billing contact at a member's ministry or office; one is primary."""

    __tablename__ = "member_contacts"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    office: Mapped[str] = mapped_column(sa.String(200), default="")  # ministry or office
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    phone: Mapped[str] = mapped_column(sa.String(50), default="")
    is_primary: Mapped[bool] = mapped_column(default=False)

    member: Mapped[Member] = relationship(back_populates="contacts")

    def __str__(self) -> str:
        return self.name


class MemberIncomeGroup(db.Model):
    """The income group that applied to a member in one fiscal year (kept as history)."""

    __tablename__ = "member_income_groups"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"))
    fiscal_year: Mapped[int]
    income_group: Mapped[IncomeGroup] = mapped_column(enum_column(IncomeGroup))

    member: Mapped[Member] = relationship(back_populates="income_groups")

    __table_args__ = (sa.UniqueConstraint("member_id", "fiscal_year"),)

    def __str__(self) -> str:
        return f"FY{self.fiscal_year}: {self.income_group.label}"


# --- Policy ------------------------------------------------------------------------------------------------


class ContributionPolicy(db.Model):
    """Per fiscal year: the expected amount per income group for national members, and for local members."""

    __tablename__ = "contribution_policies"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(unique=True)
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    #: Amounts in `currency`.
    high_amount: Mapped[Decimal] = mapped_column(MONEY)
    upper_middle_amount: Mapped[Decimal] = mapped_column(MONEY)
    lower_middle_amount: Mapped[Decimal] = mapped_column(MONEY)
    low_amount: Mapped[Decimal] = mapped_column(MONEY)
    local_amount: Mapped[Decimal] = mapped_column(MONEY)
    notes: Mapped[str] = mapped_column(sa.Text, default="")

    #: The year's budget rates into the other currencies hubs invoice in (loaded with the policy).
    exchange_rates: Mapped[list[PolicyExchangeRate]] = relationship(
        back_populates="policy",
        cascade="all, delete-orphan",
        order_by="PolicyExchangeRate.currency",
        lazy="selectin",
    )

    __table_args__ = (
        sa.CheckConstraint(
            "high_amount >= 0 AND upper_middle_amount >= 0 AND lower_middle_amount >= 0 "
            "AND low_amount >= 0 AND local_amount >= 0",
            name="amounts_not_negative",
        ),
    )

    def amount_for(self, kind: MemberKind, income_group: IncomeGroup | None) -> Decimal | None:
        """The expected amount for a member of this kind and group (None when the group is unknown)."""
        if kind == MemberKind.LOCAL:
            return self.local_amount
        if income_group is None:
            return None
        return getattr(self, f"{income_group.value}_amount")

    def rate_to(self, currency: str) -> Decimal | None:
        """Units of `currency` for one unit of the policy's currency: None when the policy sets no rate."""
        for exchange_rate in self.exchange_rates:
            if exchange_rate.currency == currency:
                return exchange_rate.rate
        return None

    def __str__(self) -> str:
        return f"Policy FY{self.fiscal_year}"


class PolicyExchangeRate(db.Model):
    """A fiscal year's budget rate from the policy's currency into a currency a hub invoices in."""

    __tablename__ = "policy_exchange_rates"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contribution_policies.id", ondelete="CASCADE"), index=True
    )
    #: The currency converted into (ISO 4217), e.g. EUR for the Brussels hub.
    currency: Mapped[str] = mapped_column(sa.String(3))
    #: Units of `currency` per one unit of the policy's currency (1 USD = 0.92000000 EUR).
    rate: Mapped[Decimal] = mapped_column(RATE)

    policy: Mapped[ContributionPolicy] = relationship(back_populates="exchange_rates")

    __table_args__ = (
        sa.UniqueConstraint("policy_id", "currency"),
        sa.CheckConstraint("rate > 0", name="rate_positive"),
    )

    def __str__(self) -> str:
        return f"Budget rate to {self.currency}: {self.rate}"


class AdjustmentKind(enum.StrEnum):
    AMOUNT = "amount"
    WAIVER = "waiver"

    @property
    def label(self) -> str:
        return {"amount": "Different amount", "waiver": "Waiver"}[self.value]


class ContributionAdjustment(db.Model):
    """A decided exception for one member and year: a different amount, or a waiver."""

    __tablename__ = "contribution_adjustments"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"))
    fiscal_year: Mapped[int]
    kind: Mapped[AdjustmentKind] = mapped_column(enum_column(AdjustmentKind))
    #: The amount to bill instead, in the policy's currency (None for a waiver).
    amount: Mapped[Decimal | None] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(sa.Text)
    approval_reference: Mapped[str] = mapped_column(
        sa.String(200)
    )  # e.g. "Steering Committee decision SC-2026-04"
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    member: Mapped[Member] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("member_id", "fiscal_year"),
        sa.CheckConstraint(
            "(kind = 'waiver' AND amount IS NULL) OR (kind = 'amount' AND amount >= 0)",
            name="amount_matches_kind",
        ),
    )

    def __str__(self) -> str:
        return f"Adjustment FY{self.fiscal_year}"


# --- Numbering ---------------------------------------------------------------------------------------------


class DocumentSequence(db.Model):
    """The last number used per hub, series and fiscal year; locked while a number is allocated."""

    __tablename__ = "document_sequences"

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(sa.ForeignKey("hubs.id"))
    series: Mapped[str] = mapped_column(sa.String(10))  # "INV" or "CN"
    fiscal_year: Mapped[int]
    last_number: Mapped[int] = mapped_column(default=0)

    __table_args__ = (sa.UniqueConstraint("hub_id", "series", "fiscal_year"),)


# --- Invoices ----------------------------------------------------------------------------------------------


class InvoiceKind(enum.StrEnum):
    ANNUAL_CONTRIBUTION = "annual_contribution"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"annual_contribution": "Annual contribution", "other": "Other"}[self.value]


class InvoiceStatus(enum.StrEnum):
    """Draft, or issued; after issue the status follows from allocations, credit notes and write-offs."""

    DRAFT = "draft"
    ISSUED = "issued"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CREDITED = "credited"
    WRITTEN_OFF = "written_off"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def is_open(self) -> bool:
        return self in (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)


def _standing_annual(prefix: str = "") -> str:
    return (
        f"{prefix}kind = '{InvoiceKind.ANNUAL_CONTRIBUTION.value}'"
        f" AND {prefix}status <> '{InvoiceStatus.CREDITED.value}'"
    )


#: An annual contribution invoice that still stands (not fully credited; a draft included): at most one per
#: member and fiscal year, by the partial unique index `uq_invoices_annual_member_year`. Literal SQL, the
#: index's own condition, so that both databases can read such invoices through that small index (SQLite
#: cannot match a partial index to bound parameters, and would read every invoice of the years instead).
STANDING_ANNUAL_INVOICE = sa.text(_standing_annual("invoices."))


class Invoice(db.Model):
    __tablename__ = "invoices"
    __audited__ = True
    __audit_exclude__ = {"pdf_bytes", "search_text"}

    id: Mapped[int] = mapped_column(primary_key=True)
    #: PREFIX-FY-NNNN, given at issue; None while a draft.
    number: Mapped[str | None] = mapped_column(sa.String(30), unique=True)
    #: fold(number), what the invoice search matches besides the member's name (common/search.py).
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[InvoiceKind] = mapped_column(enum_column(InvoiceKind), default=InvoiceKind.OTHER)
    status: Mapped[InvoiceStatus] = mapped_column(
        enum_column(InvoiceStatus), default=InvoiceStatus.DRAFT, index=True
    )
    hub_id: Mapped[int] = mapped_column(sa.ForeignKey("hubs.id"), index=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(index=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    language: Mapped[Language] = mapped_column(enum_column(Language))
    issued_on: Mapped[date | None] = mapped_column(index=True)
    due_on: Mapped[date | None] = mapped_column(index=True)
    #: Who and where it is billed to, frozen at issue (name, address, contact name, office, e-mail).
    bill_to: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    notes: Mapped[str] = mapped_column(sa.Text, default="")

    #: Totals in `currency`, kept equal to the sum of the lines.
    subtotal: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    tax_total: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    total: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    #: For an annual contribution: what the policy assessed, in `assessed_currency` (the policy's currency),
    #: before conversion into `currency`. None for invoices not made from an assessment.
    assessed_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    assessed_currency: Mapped[str | None] = mapped_column(sa.String(3))
    #: Units of `currency` per one unit of `assessed_currency` (the policy's budget rate for the year);
    #: None when no conversion was needed.
    exchange_rate: Mapped[Decimal | None] = mapped_column(RATE)
    #: Settled so far, in `currency`; kept by refresh_balance() from allocations, credit notes, write-offs.
    amount_paid: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    amount_credited: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    amount_written_off: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)

    #: Online payment started but not confirmed (bank debits take days); it is not paid.
    payment_processing_since: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    online_payment_note: Mapped[str] = mapped_column(sa.String(300), default="")

    pdf_bytes: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    pdf_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    #: The structured payment reference printed on the invoice and in its QR code, stored at issue: a Belgian
    #: structured communication (12 digits) or an ISO 11649 creditor reference (RF..), in compact form.
    #: None for invoices issued before references existed (services/payment_references.py derives theirs).
    payment_reference: Mapped[str | None] = mapped_column(sa.String(35), index=True)
    issued_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    annual_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("annual_runs.id"), index=True)

    hub = relationship("Hub", lazy="joined")
    member: Mapped[Member] = relationship(lazy="joined")
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.position"
    )
    events: Mapped[list[InvoiceEvent]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceEvent.at"
    )
    allocations: Mapped[list[PaymentAllocation]] = relationship(back_populates="invoice")
    credit_notes: Mapped[list[CreditNote]] = relationship(back_populates="invoice", order_by="CreditNote.id")
    write_offs: Mapped[list[WriteOff]] = relationship(back_populates="invoice", order_by="WriteOff.id")
    issued_by = relationship("User", foreign_keys=[issued_by_id])

    __table_args__ = (
        sa.CheckConstraint("total >= 0", name="total_not_negative"),
        sa.CheckConstraint(
            "amount_paid >= 0 AND amount_credited >= 0 AND amount_written_off >= 0",
            name="settled_not_negative",
        ),
        sa.CheckConstraint("status = 'draft' OR number IS NOT NULL", name="issued_has_number"),
        # One annual contribution invoice per member and fiscal year (a fully credited one no longer counts).
        sa.Index(
            "uq_invoices_annual_member_year",
            "member_id",
            "fiscal_year",
            unique=True,
            sqlite_where=sa.text(_standing_annual()),
            postgresql_where=sa.text(_standing_annual()),
        ),
        sa.Index("ix_invoices_member_status", "member_id", "status"),
        # A hub's numbered invoices, counted from the index alone for its page (drafts left out).
        sa.Index(
            "ix_invoices_hub_numbered",
            "hub_id",
            sqlite_where=sa.text("number IS NOT NULL"),
            postgresql_where=sa.text("number IS NOT NULL"),
        ),
        # The list's order (INVOICE_LIST_ORDER), alone and after each filter: its page ids and count come
        # from an index, however deep the page.
        sa.Index("ix_invoices_list_order", "issued_on", "id"),
        sa.Index("ix_invoices_status_list_order", "status", "issued_on", "id"),
        sa.Index("ix_invoices_hub_list_order", "hub_id", "issued_on", "id"),
        sa.Index("ix_invoices_fiscal_year_list_order", "fiscal_year", "issued_on", "id"),
        # Overdue invoices (open statuses, due before a day): counted and sorted from the index alone.
        sa.Index("ix_invoices_status_due_on", "status", "due_on", "issued_on"),
    )

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    @staticmethod
    def owed(total, paid, credited, written_off):
        """The balance rule itself: the total less what was paid, credited and written off. Its operands are
        Decimals or SQL expressions, so that `balance_due` and the ageing's balance as of a date share it."""
        return total - paid - credited - written_off

    @hybrid_property
    def balance_due(self) -> Decimal:
        """What is still owed, in the invoice's currency (a draft owes its total); in SQL too, with the same
        rule, so that reports never write it again."""
        if self.is_draft:
            return self.total
        return self.owed(self.total, self.amount_paid, self.amount_credited, self.amount_written_off)

    @balance_due.inplace.expression
    @classmethod
    def _balance_due_expression(cls) -> sa.ColumnElement[Decimal]:
        return sa.case(
            (cls.status == InvoiceStatus.DRAFT, cls.total),
            else_=cls.owed(cls.total, cls.amount_paid, cls.amount_credited, cls.amount_written_off),
        )

    def refresh_balance(self) -> None:
        """Recompute settled amounts and the status from allocations, credit notes and write-offs."""
        if self.is_draft:
            return
        self.amount_paid = sum((a.amount for a in self.allocations), ZERO)
        self.amount_credited = sum((c.amount for c in self.credit_notes), ZERO)
        self.amount_written_off = sum((w.amount for w in self.write_offs), ZERO)
        if self.balance_due > ZERO:
            self.status = InvoiceStatus.PARTIALLY_PAID if self.amount_paid > ZERO else InvoiceStatus.ISSUED
        elif self.amount_credited >= self.total:
            self.status = InvoiceStatus.CREDITED
        elif self.amount_written_off > ZERO and self.amount_paid + self.amount_credited < self.total:
            self.status = InvoiceStatus.WRITTEN_OFF
        else:
            self.status = InvoiceStatus.PAID
        if self.status == InvoiceStatus.PAID:
            self.payment_processing_since = None

    def __str__(self) -> str:
        return self.number or f"Draft #{self.id}"


class InvoiceLine(db.Model):
    __tablename__ = "invoice_lines"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=1)
    description: Mapped[str] = mapped_column(sa.String(500))
    quantity: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2), default=Decimal("1"))
    #: In the invoice's currency.
    unit_amount: Mapped[Decimal] = mapped_column(MONEY)
    #: quantity x unit_amount, rounded to the currency, in the invoice's currency.
    amount: Mapped[Decimal] = mapped_column(MONEY)
    #: Percent, e.g. 21.00 for Belgian VAT; None when the line carries no tax.
    tax_rate: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))
    #: In the invoice's currency.
    tax_amount: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")

    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    def __str__(self) -> str:
        return self.description[:80]


class InvoiceEventKind(enum.StrEnum):
    CREATED = "created"
    ISSUED = "issued"
    SENT = "sent"
    REMINDED = "reminded"
    PAYMENT = "payment"
    CREDITED = "credited"
    WRITTEN_OFF = "written_off"
    PAYMENT_PROCESSING = "payment_processing"
    PAYMENT_FAILED = "payment_failed"
    REFUNDED = "refunded"
    PRO_FORMA = "pro_forma"


class InvoiceEvent(db.Model):
    """The invoice's history: issued, sent, reminded, paid, credited ... with who and when."""

    __tablename__ = "invoice_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    kind: Mapped[InvoiceEventKind] = mapped_column(enum_column(InvoiceEventKind))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(sa.String(254), default="")
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    #: For reminders: 1 friendly, 2 firm, 3 final.
    reminder_level: Mapped[int | None]

    invoice: Mapped[Invoice] = relationship(back_populates="events")
    actor = relationship("User")


class CreditNote(db.Model):
    """The only way to reduce or cancel an issued invoice: PREFIX-CN-FY-NNNN, with its own PDF, rendered after
    the issuing transaction and stored once."""

    __tablename__ = "credit_notes"
    __audited__ = True
    __audit_exclude__ = {"pdf_bytes"}

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(30), unique=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    hub_id: Mapped[int] = mapped_column(sa.ForeignKey("hubs.id"))
    currency: Mapped[str] = mapped_column(sa.String(3))
    #: Positive, in `currency` (the invoice's); reduces what the invoice asks for.
    amount: Mapped[Decimal] = mapped_column(MONEY)
    #: What the invoice still asked for once this note was issued, in `currency`, as its PDF prints it (the
    #: PDF is rendered after the issuing transaction). Null on notes issued before it was kept: their PDF was
    #: stored at issue.
    balance_after: Mapped[Decimal | None] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(sa.Text)
    language: Mapped[Language] = mapped_column(enum_column(Language))
    issued_on: Mapped[date]
    issued_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    pdf_bytes: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    pdf_sha256: Mapped[str | None] = mapped_column(sa.String(64))

    invoice: Mapped[Invoice] = relationship(back_populates="credit_notes")
    hub = relationship("Hub")

    __table_args__ = (sa.CheckConstraint("amount > 0", name="amount_positive"),)

    def __str__(self) -> str:
        return self.number


# --- Payments ----------------------------------------------------------------------------------------------


class PaymentMethod(enum.StrEnum):
    WIRE = "wire"
    CHEQUE = "cheque"
    STRIPE_CARD = "stripe_card"
    STRIPE_BANK = "stripe_bank"

    @property
    def label(self) -> str:
        return {
            "wire": "Wire transfer",
            "cheque": "Cheque",
            "stripe_card": "Card (Stripe)",
            "stripe_bank": "Bank payment (Stripe)",
        }[self.value]


class Payment(db.Model):
    """Money received from a member, allocated to some of its invoices; the rest is credit on account."""

    __tablename__ = "payments"
    __audited__ = True
    __audit_exclude__ = {"search_text"}

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    #: Received, in `currency`.
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3))
    received_on: Mapped[date] = mapped_column(index=True)
    method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod))
    reference: Mapped[str] = mapped_column(sa.String(200), default="")  # bank reference, cheque number
    #: fold(reference), what the payment search matches besides the member's name (common/search.py).
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    #: Stripe's fee and what reached the bank, in `currency`, when the event carried them.
    fee_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    net_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    #: Refunded so far, in `currency`.
    refunded_amount: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    stripe_checkout_session_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    member: Mapped[Member] = relationship(lazy="joined")
    allocations: Mapped[list[PaymentAllocation]] = relationship(
        back_populates="payment", cascade="all, delete-orphan"
    )
    refunds: Mapped[list[Refund]] = relationship(back_populates="payment", order_by="Refund.id")

    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refund_within_amount"),
        # The list's order (newest first): its page ids come from the index however deep the page.
        sa.Index("ix_payments_list_order", "received_on", "id"),
    )

    @property
    def allocated_amount(self) -> Decimal:
        """Allocated to invoices, in the payment's currency."""
        return sum((a.payment_amount for a in self.allocations), ZERO)

    @property
    def unallocated_amount(self) -> Decimal:
        """Credit on account from this payment, in its currency."""
        return self.amount - self.refunded_amount - self.allocated_amount

    def __str__(self) -> str:
        return f"Payment #{self.id} {self.amount} {self.currency}"


class PaymentAllocation(db.Model):
    """Part of a payment applied to one invoice. Across currencies, the rate used is kept."""

    __tablename__ = "payment_allocations"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(sa.ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    #: Applied to the invoice, in the invoice's currency.
    amount: Mapped[Decimal] = mapped_column(MONEY)
    #: Taken from the payment, in the payment's currency (equal to `amount` when the currencies match).
    payment_amount: Mapped[Decimal] = mapped_column(MONEY)
    #: Invoice-currency units per one payment-currency unit; None when the currencies are the same.
    exchange_rate: Mapped[Decimal | None] = mapped_column(RATE)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    payment: Mapped[Payment] = relationship(back_populates="allocations")
    invoice: Mapped[Invoice] = relationship(back_populates="allocations")

    __table_args__ = (sa.CheckConstraint("amount > 0 AND payment_amount > 0", name="amounts_positive"),)

    def __str__(self) -> str:
        return f"Allocation of payment {self.payment_id} to invoice {self.invoice_id}"


class WriteOff(db.Model):
    """A small remainder (bank fees) written off an invoice, with a reason."""

    __tablename__ = "write_offs"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    #: In the invoice's currency.
    amount: Mapped[Decimal] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(sa.Text)
    written_off_on: Mapped[date]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="write_offs")

    __table_args__ = (sa.CheckConstraint("amount > 0", name="amount_positive"),)

    def __str__(self) -> str:
        return f"Write-off on invoice {self.invoice_id}"


class Refund(db.Model):
    """Money given back on a payment (for now: Stripe refunds)."""

    __tablename__ = "refunds"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(sa.ForeignKey("payments.id"), index=True)
    #: In the payment's currency.
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3))
    refunded_on: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    stripe_refund_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    payment: Mapped[Payment] = relationship(back_populates="refunds")

    __table_args__ = (sa.CheckConstraint("amount > 0", name="amount_positive"),)

    def __str__(self) -> str:
        return f"Refund #{self.id}"


# --- Sending -----------------------------------------------------------------------------------------------


class MessageKind(enum.StrEnum):
    INVOICE = "invoice"
    REMINDER = "reminder"
    STATEMENT = "statement"
    CREDIT_NOTE = "credit_note"
    PRO_FORMA = "pro_forma"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class ContributionMessage(db.Model):
    """Links a message in the common mail log to the member (and invoice) it was about."""

    __tablename__ = "contribution_messages"

    message_id: Mapped[int] = mapped_column(
        sa.ForeignKey("mail_messages.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    #: For reminders: 1 friendly, 2 firm, 3 final.
    reminder_level: Mapped[int | None]

    message: Mapped[MailMessage] = relationship(lazy="joined", innerjoin=True)
    member: Mapped[Member] = relationship()
    invoice: Mapped[Invoice | None] = relationship()

    @property
    def kind(self) -> MessageKind:
        return MessageKind(self.message.kind)

    @property
    def kind_label(self) -> str:
        return f"{self.kind.label}, level {self.reminder_level}" if self.reminder_level else self.kind.label


# --- The annual run ----------------------------------------------------------------------------------------


class AnnualRunStatus(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class AnnualRun(db.Model):
    """One pass of issuing every member's annual contribution invoice for a fiscal year (resumable)."""

    __tablename__ = "annual_runs"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(index=True)
    status: Mapped[AnnualRunStatus] = mapped_column(
        enum_column(AnnualRunStatus), default=AnnualRunStatus.RUNNING
    )
    planned_count: Mapped[int] = mapped_column(default=0)
    issued_count: Mapped[int] = mapped_column(default=0)
    #: Members that could not be invoiced and why: [{"member_id": 1, "member": "...", "problem": "..."}]
    problems: Mapped[list] = mapped_column(sa.JSON, default=list)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    started_by = relationship("User")

    __table_args__ = (
        # Only one run per fiscal year can be running: a second "Issue all" joins it instead.
        sa.Index(
            "uq_annual_runs_running_year",
            "fiscal_year",
            unique=True,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        ),
    )

    def __str__(self) -> str:
        return f"Annual run FY{self.fiscal_year} #{self.id}"


# --- Stripe ------------------------------------------------------------------------------------------------


class StripeEventStatus(enum.StrEnum):
    APPLIED = "applied"
    IGNORED = "ignored"
    NEEDS_REVIEW = "needs_review"
    RESOLVED = "resolved"


class StripeEvent(db.Model):
    """Each Stripe event, stored once by its id: a repeated delivery finds it here and changes nothing."""

    __tablename__ = "stripe_events"
    __audited__ = True
    __audit_exclude__ = {"payload"}

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)  # Stripe's evt_... id
    type: Mapped[str] = mapped_column(sa.String(100), index=True)
    status: Mapped[StripeEventStatus] = mapped_column(enum_column(StripeEventStatus), index=True)
    invoice_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payments.id"))
    problem: Mapped[str] = mapped_column(sa.Text, default="")
    #: Stripe's `created` timestamp, to order events that arrive out of order.
    stripe_created_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    payload: Mapped[dict] = mapped_column(sa.JSON)

    invoice: Mapped[Invoice | None] = relationship()
    payment: Mapped[Payment | None] = relationship()

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


# --- Invariants --------------------------------------------------------------------------------------------

#: Columns that may still move once an invoice is issued: its derived status and settled amounts.
_INVOICE_COLUMNS_THAT_MOVE_AFTER_ISSUE = {
    "status",
    "amount_paid",
    "amount_credited",
    "amount_written_off",
    "payment_processing_since",
    "online_payment_note",
}


class IssuedDocumentIsFrozen(Exception):
    """An issued invoice or credit note was about to be changed or deleted."""


def _value_before_flush(state, key):
    history = state.attrs[key].history
    if history.deleted:
        return history.deleted[0]
    if history.added:
        return None  # set without the old value loaded: a first assignment
    return state.attrs[key].value


def _was_issued(invoice: Invoice) -> bool:
    history = sa.inspect(invoice).attrs.status.history
    before = history.deleted[0] if history.deleted else invoice.status
    return before != InvoiceStatus.DRAFT


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_issued_documents(session, flush_context, instances):
    for obj in session.deleted:
        if isinstance(obj, Invoice) and _was_issued(obj):
            raise IssuedDocumentIsFrozen(f"Invoice {obj.number} is issued and cannot be deleted.")
        if isinstance(obj, CreditNote | InvoiceLine) and obj not in session.new:
            invoice = obj.invoice if isinstance(obj, InvoiceLine) else None
            if isinstance(obj, CreditNote) or (invoice is not None and _was_issued(invoice)):
                raise IssuedDocumentIsFrozen("Issued documents cannot be deleted.")
    for obj in session.dirty:
        if isinstance(obj, Invoice) and _was_issued(obj):
            state = sa.inspect(obj)
            pdf_stored_before = _value_before_flush(state, "pdf_sha256") is not None
            for attr in state.mapper.column_attrs:
                if attr.key in _INVOICE_COLUMNS_THAT_MOVE_AFTER_ISSUE:
                    continue
                if attr.key in {"pdf_bytes", "pdf_sha256"} and not pdf_stored_before:
                    continue  # the PDF is stored once, in the issuing transaction
                if state.attrs[attr.key].history.has_changes():
                    raise IssuedDocumentIsFrozen(f"Invoice {obj.number} is issued; {attr.key} cannot change.")
        elif isinstance(obj, CreditNote) and session.is_modified(obj):
            state = sa.inspect(obj)
            pdf_stored_before = _value_before_flush(state, "pdf_sha256") is not None
            for attr in state.mapper.column_attrs:
                if attr.key in {"pdf_bytes", "pdf_sha256"} and not pdf_stored_before:
                    continue  # the PDF is stored once, after the issuing transaction
                if state.attrs[attr.key].history.has_changes():
                    raise IssuedDocumentIsFrozen(f"Credit note {obj.number} is issued and cannot change.")
        elif (
            isinstance(obj, InvoiceLine)
            and obj.invoice is not None
            and session.is_modified(obj)
            and _was_issued(obj.invoice)
        ):
            raise IssuedDocumentIsFrozen("The lines of an issued invoice cannot change.")
    for obj in session.new:
        invoice = obj.invoice if isinstance(obj, InvoiceLine) else None
        if invoice is not None and invoice not in session.new and _was_issued(invoice):
            raise IssuedDocumentIsFrozen("Lines cannot be added to an issued invoice.")


# --- Collection: bank statements and their entries ---------------------------------------------------------
# A statement is imported from a bank file for one hub's account; each entry is stored once (its dedupe key
# is unique per hub), so re-importing or overlapping statements add nothing twice. An entry is applied at most
# once: services/bank_matching.py decides under a row lock on the entry.


class StatementFormat(enum.StrEnum):
    CAMT_053 = "camt.053"
    CAMT_054 = "camt.054"
    MT940 = "mt940"
    CSV = "csv"

    @property
    def label(self) -> str:
        return {
            "camt.053": "camt.053 statement",
            "camt.054": "camt.054 notification",
            "mt940": "MT940",
            "csv": "CSV export",
        }[self.value]


class BankStatement(db.Model):
    """One imported bank file for a hub's account, with the balances it reported."""

    __tablename__ = "bank_statements"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(sa.ForeignKey("hubs.id"), index=True)
    format: Mapped[StatementFormat] = mapped_column(enum_column(StatementFormat))
    #: The account as the file names it (an IBAN or an account number).
    account: Mapped[str] = mapped_column(sa.String(34))
    currency: Mapped[str] = mapped_column(sa.String(3))
    #: The bank's identifier of the statement (camt Stmt/Id, MT940 :20: and :28C:), when it gives one.
    bank_identifier: Mapped[str] = mapped_column(sa.String(100), default="")
    from_date: Mapped[date | None]
    to_date: Mapped[date | None]
    #: Balances the bank reported, in `currency`; None when the file has none.
    opening_balance: Mapped[Decimal | None] = mapped_column(MONEY)
    closing_balance: Mapped[Decimal | None] = mapped_column(MONEY)
    filename: Mapped[str] = mapped_column(sa.String(255), default="")
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    #: Entries the file held, and how many of them an earlier import already had.
    entry_count: Mapped[int] = mapped_column(default=0)
    duplicate_count: Mapped[int] = mapped_column(default=0)
    imported_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, index=True)
    imported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    hub = relationship("Hub", lazy="joined")
    imported_by = relationship("User")
    entries: Mapped[list[BankEntry]] = relationship(
        back_populates="statement", order_by="BankEntry.booked_on, BankEntry.id"
    )

    __table_args__ = (sa.UniqueConstraint("hub_id", "file_sha256", name="uq_bank_statements_hub_file"),)

    def __str__(self) -> str:
        return f"Statement #{self.id} ({self.format.label})"


class EntryStatus(enum.StrEnum):
    """What became of a bank entry."""

    NEEDS_REVIEW = "needs_review"
    APPLIED = "applied"
    IGNORED = "ignored"
    #: A Stripe payout: matched to the Stripe payments it pays out, not to invoices.
    STRIPE_PAYOUT = "stripe_payout"
    #: Money leaving the account (charges, transfers out): nothing to match.
    DEBIT = "debit"

    @property
    def label(self) -> str:
        return {
            "needs_review": "Needs review",
            "applied": "Applied",
            "ignored": "Ignored",
            "stripe_payout": "Stripe payout",
            "debit": "Money out",
        }[self.value]


class BankEntry(db.Model):
    """One booked line of a bank statement: money in (matched to invoices) or out (kept for the record)."""

    __tablename__ = "bank_entries"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(sa.ForeignKey("hubs.id"), index=True)
    #: The statement that first brought this entry in.
    statement_id: Mapped[int] = mapped_column(sa.ForeignKey("bank_statements.id"), index=True)
    #: The bank's reference, or a SHA-256 of account, date, amount and text when it gives none.
    dedupe_key: Mapped[str] = mapped_column(sa.String(120))
    booked_on: Mapped[date] = mapped_column(index=True)
    value_on: Mapped[date | None]
    is_credit: Mapped[bool]
    #: Always positive, in `currency`; `is_credit` says the direction.
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3))
    bank_reference: Mapped[str] = mapped_column(sa.String(100), default="")
    end_to_end_id: Mapped[str] = mapped_column(sa.String(100), default="")
    counterparty_name: Mapped[str] = mapped_column(sa.String(200), default="")
    counterparty_account: Mapped[str] = mapped_column(sa.String(50), default="", index=True)
    #: The structured reference the payer quoted (compact), when the bank gave one in its own field.
    structured_reference: Mapped[str] = mapped_column(sa.String(35), default="")
    remittance_text: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[EntryStatus] = mapped_column(enum_column(EntryStatus), index=True)
    #: How it was matched ("reference, automatically", "confirmed") or why it was ignored.
    resolution: Mapped[str] = mapped_column(sa.Text, default="")
    payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payments.id"), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    statement: Mapped[BankStatement] = relationship(back_populates="entries")
    hub = relationship("Hub")
    payment: Mapped[Payment | None] = relationship()
    resolved_by = relationship("User")
    payout_lines: Mapped[list[StripePayoutLine]] = relationship(
        back_populates="entry", order_by="StripePayoutLine.id"
    )

    __table_args__ = (
        sa.UniqueConstraint("hub_id", "dedupe_key", name="uq_bank_entries_hub_dedupe_key"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("status <> 'applied' OR payment_id IS NOT NULL", name="applied_has_payment"),
    )

    def __str__(self) -> str:
        return f"Bank entry #{self.id}"


class StripePayoutLine(db.Model):
    """A Stripe payment paid out to the bank in a payout entry (a payment is paid out once)."""

    __tablename__ = "stripe_payout_lines"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("bank_entries.id"), index=True)
    payment_id: Mapped[int] = mapped_column(sa.ForeignKey("payments.id"), unique=True)

    entry: Mapped[BankEntry] = relationship(back_populates="payout_lines")
    payment: Mapped[Payment] = relationship()


# --- Collection: what holds a payment up -------------------------------------------------------------------


class BlockerDocumentKind(enum.StrEnum):
    VENDOR_REGISTRATION = "vendor_registration"
    BANK_LETTER = "bank_letter"
    W8 = "w8"
    W9 = "w9"
    SIGNED_INVOICE_COPY = "signed_invoice_copy"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "vendor_registration": "Vendor registration form",
            "bank_letter": "Bank letter",
            "w8": "Form W-8",
            "w9": "Form W-9",
            "signed_invoice_copy": "Signed invoice copy",
            "other": "Other document",
        }[self.value]


class InvoiceBlocker(db.Model):
    """What holds an invoice's payment up: the ministry's purchase order, documents its treasury asked for."""

    __tablename__ = "invoice_blockers"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id", ondelete="CASCADE"), unique=True)
    #: The ministry's purchase-order or commitment number; printed on documents issued after it is set.
    purchase_order_number: Mapped[str] = mapped_column(sa.String(100), default="")
    note: Mapped[str] = mapped_column(sa.Text, default="")
    #: Set when nothing holds the payment up any more (the PO number stays).
    cleared_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    invoice: Mapped[Invoice] = relationship()
    updated_by = relationship("User")
    documents: Mapped[list[BlockerDocument]] = relationship(
        back_populates="blocker", cascade="all, delete-orphan", order_by="BlockerDocument.requested_on"
    )

    @property
    def is_blocking(self) -> bool:
        return self.cleared_at is None

    def __str__(self) -> str:
        return f"What holds invoice {self.invoice_id} up"


class BlockerDocument(db.Model):
    """A document a member's treasury asked for before it pays, with when it was asked for and sent."""

    __tablename__ = "blocker_documents"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    blocker_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invoice_blockers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[BlockerDocumentKind] = mapped_column(enum_column(BlockerDocumentKind))
    description: Mapped[str] = mapped_column(sa.String(300), default="")
    requested_on: Mapped[date]
    sent_on: Mapped[date | None]

    blocker: Mapped[InvoiceBlocker] = relationship(back_populates="documents")

    __table_args__ = (
        sa.CheckConstraint("sent_on IS NULL OR sent_on >= requested_on", name="sent_after_requested"),
    )

    def __str__(self) -> str:
        return self.description or self.kind.label


# --- Searched tables (common/search.py indexes each `search_text`) -----------------------------------------

keep_search_text(Member, lambda member: (member.name,))
keep_search_text(Invoice, lambda invoice: (invoice.number,))
keep_search_text(Payment, lambda payment: (payment.reference,))

# The invoice totals kept for reports listen to every flush of an invoice: loaded whenever invoices are.
from . import totals as _totals  # noqa: E402, F401
