"""The annual run's preview: what the run would do for every active member of a fiscal year, and why.

Read in a constant number of queries, whatever the number of members. The run itself (`annual_run`) classifies
each member again by the same rules just before issuing its invoice, so that the preview and the run never
disagree about who is invoiced.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import load_only, selectinload

from ...common.fiscal import fiscal_year as fiscal_year_range
from ...common.money import rate_label, sum_by_currency
from ...extensions import db
from ...hubs.models import HubStatus
from ..models import (
    ContributionAdjustment,
    ContributionPolicy,
    IncomeGroup,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Member,
    MemberContact,
    MemberKind,
    MemberStatus,
)
from .assessments import Assessment, BillingAmount, assess_members, billing_amount, policy_for


class RowStatus(enum.StrEnum):
    TO_INVOICE = "to_invoice"
    PROBLEM = "problem"
    WAIVED = "waived"
    ALREADY_INVOICED = "already_invoiced"

    @property
    def label(self) -> str:
        return {
            "to_invoice": "To invoice",
            "problem": "Problem",
            "waived": "Waived",
            "already_invoiced": "Already invoiced",
        }[self.value]


@dataclass(frozen=True)
class ExistingInvoice:
    id: int
    number: str | None
    status: InvoiceStatus
    #: In `currency`.
    total: Decimal
    currency: str
    #: The conversion the invoice keeps: what the policy assessed, in `assessed_currency`, and the rate into
    #: `currency` (None when not converted, or not made from an assessment).
    assessed_amount: Decimal | None = None
    assessed_currency: str | None = None
    exchange_rate: Decimal | None = None


@dataclass(frozen=True)
class PreviewRow:
    """One member in the preview: what the run will do for it and why."""

    member: Member
    status: RowStatus
    #: What the run will bill (or billed), in `currency`, the currency of the member's hub; None when it
    #: cannot be computed.
    amount: Decimal | None
    currency: str | None
    income_group: IncomeGroup | None
    #: What the policy alone would give, in `currency` (converted like `amount`).
    policy_amount: Decimal | None
    adjustment: ContributionAdjustment | None
    problems: tuple[str, ...] = ()
    invoice: ExistingInvoice | None = None
    #: Why no invoice is due (a waiver or a zero amount).
    waived_because: str = ""
    #: The assessment in the policy's currency, and the conversion into `currency` (rate None when none).
    billing: BillingAmount | None = None
    #: What the policy alone would give, in the policy's currency.
    assessed_policy_amount: Decimal | None = None

    @property
    def converted(self) -> bool:
        """The amount was converted from the policy's currency (a row not yet invoiced)."""
        return self.billing is not None and self.billing.converted and self.invoice is None

    @property
    def issued_invoice(self) -> ExistingInvoice | None:
        return (
            self.invoice if self.invoice is not None and self.invoice.status != InvoiceStatus.DRAFT else None
        )

    @property
    def assessed_amount(self) -> Decimal | None:
        """What the row bills, in the policy's currency before conversion: as the issued invoice keeps it, or
        as the run would assess it (None when it cannot be computed)."""
        if self.issued_invoice is not None:
            return self.issued_invoice.assessed_amount
        return self.billing.assessed_amount if self.billing is not None else None

    @property
    def assessed_currency(self) -> str | None:
        if self.issued_invoice is not None:
            return self.issued_invoice.assessed_currency
        return self.billing.assessed_currency if self.billing is not None else None

    @property
    def exchange_rate(self) -> Decimal | None:
        """Units of `currency` per one unit of `assessed_currency`: the issued invoice's stored rate, or the
        year's budget rate the run converts at; None when the amount is not converted."""
        if self.issued_invoice is not None:
            return self.issued_invoice.exchange_rate
        return self.billing.exchange_rate if self.billing is not None else None

    @property
    def group_label(self) -> str:
        if self.member.kind == MemberKind.LOCAL:
            return "Local government"
        return self.income_group.label if self.income_group else "No income group"


@dataclass
class Totals:
    """Members and amounts for one income group or hub, per currency (never added across currencies)."""

    label: str
    to_invoice_count: int = 0
    to_invoice: dict[str, Decimal] = field(default_factory=dict)
    invoiced_count: int = 0
    invoiced: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class Preview:
    fiscal_year: int
    policy: ContributionPolicy | None
    rows: list[PreviewRow]
    #: Members that exist but are not part of this year's run (inactive, suspended, or joined after it).
    not_in_run_count: int = 0

    def with_status(self, status: RowStatus) -> list[PreviewRow]:
        return [row for row in self.rows if row.status == status]

    @property
    def to_invoice(self) -> list[PreviewRow]:
        return self.with_status(RowStatus.TO_INVOICE)

    @property
    def problems(self) -> list[PreviewRow]:
        return self.with_status(RowStatus.PROBLEM)

    @property
    def waived(self) -> list[PreviewRow]:
        return self.with_status(RowStatus.WAIVED)

    @property
    def already_invoiced(self) -> list[PreviewRow]:
        return self.with_status(RowStatus.ALREADY_INVOICED)

    @property
    def adjusted(self) -> list[PreviewRow]:
        return [row for row in self.rows if row.adjustment is not None]

    @property
    def total_to_invoice(self) -> dict[str, Decimal]:
        return sum_by_currency((row.amount, row.currency) for row in self.to_invoice)

    def totals_by(self, key: Callable[[PreviewRow], str], order: list[str] | None = None) -> list[Totals]:
        groups: dict[str, list[PreviewRow]] = defaultdict(list)
        for row in self.rows:
            groups[key(row)].append(row)
        labels = [label for label in (order or []) if label in groups]
        labels += sorted(label for label in groups if label not in labels)
        result = []
        for label in labels:
            rows = groups[label]
            to_invoice = [row for row in rows if row.status == RowStatus.TO_INVOICE]
            invoiced = [row.invoice for row in rows if row.status == RowStatus.ALREADY_INVOICED]
            result.append(
                Totals(
                    label=label,
                    to_invoice_count=len(to_invoice),
                    to_invoice=sum_by_currency((row.amount, row.currency) for row in to_invoice),
                    invoiced_count=len(invoiced),
                    invoiced=sum_by_currency((invoice.total, invoice.currency) for invoice in invoiced),
                )
            )
        return result

    @property
    def totals_by_group(self) -> list[Totals]:
        order = [group.label for group in IncomeGroup] + ["Local government", "No income group"]
        return self.totals_by(lambda row: row.group_label, order)

    @property
    def totals_by_hub(self) -> list[Totals]:
        return self.totals_by(lambda row: row.member.hub.name)

    @property
    def hub_currencies(self) -> list[HubCurrency]:
        """Each hub with the currency it invoices in and the policy's rate into it."""
        return _hub_currencies(self)

    @property
    def rate_missing(self) -> list[HubCurrency]:
        return [hub for hub in self.hub_currencies if hub.rate_missing]

    def summary(self) -> str:
        """`FY2027: 97 to invoice, 3 problems, 2 waived, 0 already invoiced`."""
        problems = len(self.problems)
        return (
            f"FY{self.fiscal_year}: {len(self.to_invoice)} to invoice, "
            f"{problems} problem{'' if problems == 1 else 's'}, {len(self.waived)} waived, "
            f"{len(self.already_invoiced)} already invoiced"
        )


def eligible(fiscal_year: int):
    """Members that belong in the year's run: active, and joined before the year ended."""
    ends_on = fiscal_year_range(fiscal_year).ends_on
    return sa.and_(
        Member.status == MemberStatus.ACTIVE,
        sa.or_(Member.joined_on.is_(None), Member.joined_on <= ends_on),
    )


def annual_invoices(fiscal_year: int, member_ids=None) -> dict[int, ExistingInvoice]:
    query = sa.select(
        Invoice.member_id,
        Invoice.id,
        Invoice.number,
        Invoice.status,
        Invoice.total,
        Invoice.currency,
        Invoice.assessed_amount,
        Invoice.assessed_currency,
        Invoice.exchange_rate,
    ).where(
        Invoice.kind == InvoiceKind.ANNUAL_CONTRIBUTION,
        Invoice.fiscal_year == fiscal_year,
        Invoice.status != InvoiceStatus.CREDITED,
    )
    if member_ids is not None:
        query = query.where(Invoice.member_id.in_(member_ids))
    return {
        row.member_id: ExistingInvoice(
            row.id,
            row.number,
            row.status,
            row.total,
            row.currency,
            row.assessed_amount,
            row.assessed_currency,
            row.exchange_rate,
        )
        for row in db.session.execute(query)
    }


def billing_email_exists():
    """SQL: the member has a primary billing contact with an e-mail address (the twin of the Python test in
    `member_problems`), for reading many members without their contacts."""
    return (
        sa.select(MemberContact.id)
        .where(
            MemberContact.member_id == Member.id,
            MemberContact.is_primary == sa.true(),
            sa.func.trim(sa.func.coalesce(MemberContact.email, "")) != "",
        )
        .exists()
    )


def member_problems(
    member: Member,
    assessment: Assessment,
    billing: BillingAmount | None = None,
    has_billing_email: bool | None = None,
) -> list[str]:
    """Why a member cannot be invoiced this year (empty when it can). Whether it has a primary contact with
    an e-mail address is read from its contacts unless `has_billing_email` says it already."""
    problems = []
    if assessment.problem:
        problems.append(assessment.problem)
    elif billing is not None and billing.problem:
        problems.append(billing.problem)  # no budget rate into the hub's currency
    if has_billing_email is None:
        has_billing_email = any(
            contact.is_primary and (contact.email or "").strip() for contact in member.contacts
        )
    if not has_billing_email:
        problems.append("No primary billing contact with an e-mail address.")
    if member.hub.status != HubStatus.OPEN:
        problems.append(f"Its issuing hub, {member.hub.name}, is {member.hub.status.label.lower()}.")
    return problems


def classify(
    member: Member,
    assessment: Assessment,
    invoice: ExistingInvoice | None,
    has_billing_email: bool | None = None,
) -> PreviewRow:
    billing = billing_amount(assessment, member.hub)
    common = dict(
        member=member,
        amount=billing.amount,
        currency=billing.currency,
        income_group=assessment.income_group,
        policy_amount=billing.convert(assessment.policy_amount),
        adjustment=assessment.adjustment,
        invoice=invoice,
        billing=billing,
        assessed_policy_amount=assessment.policy_amount,
    )
    if invoice is not None and invoice.status != InvoiceStatus.DRAFT:
        return PreviewRow(
            **{**common, "amount": invoice.total, "currency": invoice.currency},
            status=RowStatus.ALREADY_INVOICED,
        )
    if invoice is not None:
        problem = (
            f"A draft annual contribution invoice (draft #{invoice.id}) exists for "
            f"FY{assessment.fiscal_year}: issue or delete it."
        )
        return PreviewRow(**common, status=RowStatus.PROBLEM, problems=(problem,))
    if assessment.problem is None and assessment.amount is not None and assessment.amount <= 0:
        adjustment = assessment.adjustment
        if assessment.waived:
            because = f"Waiver: {adjustment.reason} ({adjustment.approval_reference})"
        elif adjustment is not None:
            because = f"Adjusted to zero: {adjustment.reason} ({adjustment.approval_reference})"
        else:
            because = "The policy amount for this group is zero."
        return PreviewRow(**common, status=RowStatus.WAIVED, waived_because=because)
    problems = member_problems(member, assessment, billing, has_billing_email)
    if problems:
        return PreviewRow(**common, status=RowStatus.PROBLEM, problems=tuple(problems))
    return PreviewRow(**common, status=RowStatus.TO_INVOICE)


#: The member columns the preview, its page, its CSV and the dry run read (contacts are not loaded: whether
#: a member has a billing e-mail comes with it from SQL).
PREVIEW_MEMBER_COLUMNS = (
    Member.id,
    Member.name,
    Member.kind,
    Member.country_code,
    Member.language,
    Member.status,
    Member.hub_id,
)


def build_preview(fiscal_year: int) -> Preview:
    """Every active member's annual contribution for a fiscal year, in a constant number of queries."""
    selected = db.session.execute(
        sa.select(Member, billing_email_exists().label("has_billing_email"))
        .where(eligible(fiscal_year))
        # Hubs are few: read once each, rather than joined (and their JSON decoded) on every member's row.
        .options(load_only(*PREVIEW_MEMBER_COLUMNS), selectinload(Member.hub))
        .order_by(Member.name, Member.id)
    ).all()
    members = [member for member, _has_email in selected]
    not_in_run = db.session.scalar(sa.select(sa.func.count(Member.id)).where(sa.not_(eligible(fiscal_year))))
    invoices = annual_invoices(fiscal_year)
    assessments = assess_members(members, fiscal_year)
    rows = [
        classify(member, assessment, invoices.get(member.id), bool(has_email))
        for (member, has_email), assessment in zip(selected, assessments, strict=True)
    ]
    policy = assessments[0].policy if assessments else policy_for(fiscal_year)
    return Preview(fiscal_year=fiscal_year, policy=policy, rows=rows, not_in_run_count=not_in_run)


@dataclass(frozen=True)
class HubCurrency:
    """How one hub's members are billed in a run: the hub's currency and the policy's rate into it."""

    hub: str
    currency: str
    policy_currency: str
    #: Units of `currency` per one unit of the policy's currency; None when the same currency or no rate.
    rate: Decimal | None
    rate_missing: bool = False

    @property
    def rate_label(self) -> str:
        """`1 USD = 0.9200 EUR` (empty when there is no rate)."""
        return rate_label(self.policy_currency, self.rate, self.currency) if self.rate is not None else ""


def _hub_currencies(preview: Preview) -> list[HubCurrency]:
    """Each hub in the preview with the currency it invoices in and the rate the run converts at."""
    policy = preview.policy
    result = {}
    for row in preview.rows:
        hub = row.member.hub
        if hub.name in result or policy is None:
            continue
        same = hub.base_currency == policy.currency
        rate = None if same else policy.rate_to(hub.base_currency)
        result[hub.name] = HubCurrency(
            hub.name, hub.base_currency, policy.currency, rate, rate_missing=not same and rate is None
        )
    return [result[name] for name in sorted(result)]
