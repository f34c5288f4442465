"""The annual run's preview: what the run would do for every active member of a fiscal year, and why.

Read in a constant number of queries, whatever the number of members. The run itself (`annual_run`) classifies
each member again by the same rules just before issuing its invoice, so that the preview and the run never
disagree about who is invoiced.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import load_only, selectinload

from ...common.exports import as_stored, streamed_rows
from ...common.fiscal import fiscal_year as fiscal_year_range
from ...common.languages import Language
from ...common.money import rate_label, sum_by_currency
from ...extensions import db
from ...hubs.models import Hub, HubStatus
from ..models import (
    STANDING_ANNUAL_INVOICE,
    AdjustmentKind,
    ContributionAdjustment,
    ContributionPolicy,
    IncomeGroup,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Member,
    MemberContact,
    MemberIncomeGroup,
    MemberKind,
    MemberStatus,
)
from .assessments import (
    AlikeAssessments,
    Assessment,
    BillingAmount,
    assess_members,
    billing_amount,
    policies_for,
    policy_for,
)
from .members import matching_members


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
        return totals_by(((row, 1, _invoiced(row)) for row in self.rows), key, order)

    @property
    def totals_by_group(self) -> list[Totals]:
        return self.totals_by(lambda row: row.group_label, GROUP_ORDER)

    @property
    def totals_by_hub(self) -> list[Totals]:
        return self.totals_by(lambda row: row.member.hub.name)

    @property
    def hub_currencies(self) -> list[HubCurrency]:
        """Each hub with the currency it invoices in and the policy's rate into it."""
        return hub_currencies(self.policy, (row.member.hub for row in self.rows))

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


#: The income groups' rows first in the totals, in this order.
GROUP_ORDER = [group.label for group in IncomeGroup] + ["Local government", "No income group"]


def _invoiced(row: PreviewRow) -> dict[str, Decimal]:
    if row.status != RowStatus.ALREADY_INVOICED:
        return {}
    return {row.invoice.currency: row.invoice.total}


def totals_by(entries, key: Callable[[PreviewRow], str], order: list[str] | None = None) -> list[Totals]:
    """Members and amounts per label (`key` of a row), from (row, members like it, their invoices' totals per
    currency) entries: each member's row once, or one row standing for alike members (`PreviewFigures`)."""
    groups: dict[str, list] = defaultdict(list)
    for entry in entries:
        groups[key(entry[0])].append(entry)
    labels = [label for label in (order or []) if label in groups]
    labels += sorted(label for label in groups if label not in labels)
    result = []
    for label in labels:
        entries = groups[label]
        to_invoice = [(row, count) for row, count, _ in entries if row.status == RowStatus.TO_INVOICE]
        invoiced = [
            (total, currency)
            for row, _, totals in entries
            if row.status == RowStatus.ALREADY_INVOICED
            for currency, total in totals.items()
        ]
        result.append(
            Totals(
                label=label,
                to_invoice_count=sum(count for _, count in to_invoice),
                to_invoice=_amounts(to_invoice),
                invoiced_count=sum(
                    count for row, count, _ in entries if row.status == RowStatus.ALREADY_INVOICED
                ),
                invoiced=sum_by_currency(invoiced),
            )
        )
    return result


def _amounts(rows_and_counts) -> dict[str, Decimal]:
    """What rows bill, per currency, each row standing for `count` members."""
    return sum_by_currency(
        (None if row.amount is None else row.amount * count, row.currency) for row, count in rows_and_counts
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
    rows, policy = classified_rows(fiscal_year)
    not_in_run = db.session.scalar(sa.select(sa.func.count(Member.id)).where(sa.not_(eligible(fiscal_year))))
    return Preview(fiscal_year=fiscal_year, policy=policy, rows=rows, not_in_run_count=not_in_run)


def classified_rows(
    fiscal_year: int, member_ids: list[int] | None = None, policies: dict | None = None
) -> tuple[list[PreviewRow], ContributionPolicy | None]:
    """The rows of the year's members (those of `member_ids` only, when given), in the preview's order, and
    the year's policy, in a constant number of queries (`policies`: the year's, when already read)."""
    query = (
        sa.select(Member, billing_email_exists().label("has_billing_email"))
        .where(eligible(fiscal_year))
        # Hubs are few: read once each, rather than joined (and their JSON decoded) on every member's row.
        .options(load_only(*PREVIEW_MEMBER_COLUMNS), selectinload(Member.hub))
        .order_by(Member.name, Member.id)
    )
    if member_ids is not None:
        query = query.where(Member.id.in_(member_ids))
    selected = db.session.execute(query).all()
    members = [member for member, _has_email in selected]
    invoices = annual_invoices(fiscal_year, member_ids)
    assessments = assess_members(members, fiscal_year, policies)
    rows = [
        classify(member, assessment, invoices.get(member.id), bool(has_email))
        for (member, has_email), assessment in zip(selected, assessments, strict=True)
    ]
    if assessments:
        return rows, assessments[0].policy
    return rows, (policies.get(fiscal_year) if policies is not None else policy_for(fiscal_year))


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


def hub_currencies(policy: ContributionPolicy | None, hubs: Iterable[Hub]) -> list[HubCurrency]:
    """Each of these hubs with the currency it invoices in and the rate the run converts at."""
    result = {}
    for hub in hubs:
        if hub.name in result or policy is None:
            continue
        same = hub.base_currency == policy.currency
        rate = None if same else policy.rate_to(hub.base_currency)
        result[hub.name] = HubCurrency(
            hub.name, hub.base_currency, policy.currency, rate, rate_missing=not same and rate is None
        )
    return [result[name] for name in sorted(result)]


# --- The preview at scale: figures per set of alike members, rows for the page shown ------------------------
#
# A member's row depends on a few inputs only: its kind, income group and adjustment (the assessment rule's
# inputs), its hub (currency, rate, status), whether it has a billing e-mail, and its annual invoice's
# status. Members are counted per set of those inputs in SQL, and `classify` (the one rule) is applied once
# per set, to a stand-in member with those inputs: the page's figures cost one pass of the database over the
# members and a few dozen classifications, whatever the number of members; the members listed on a page are
# classified themselves.


@dataclass(frozen=True)
class _AlikeMember:
    """What `classify` reads of a member: its kind and hub (no name, no contacts: the set's inputs say it);
    in a page's row, also what the page shows of the member itself."""

    kind: MemberKind
    hub: Hub
    id: int | None = None
    name: str = ""
    country_code: str = ""
    language: Language | None = None


@dataclass(frozen=True)
class _AlikeAdjustment:
    """What the assessment rule reads of an adjustment (the texts only name it in a row's note)."""

    kind: AdjustmentKind
    amount: Decimal | None
    reason: str = ""
    approval_reference: str = ""


def _inputs(fiscal_year: int) -> dict[str, sa.ColumnElement]:
    """The columns that decide a member's row, on `_joined_inputs`: equal values, equal rows."""
    return {
        "kind": Member.kind,
        "hub_id": Member.hub_id,
        "income_group": MemberIncomeGroup.income_group,
        "adjustment_id": ContributionAdjustment.id,
        "invoice_status": Invoice.status,
        # Last: a correlated subquery, evaluated once a member's other inputs have matched.
        "has_billing_email": billing_email_exists(),
    }


def _joined_inputs(query: sa.Select, fiscal_year: int) -> sa.Select:
    """`query` on members with the year's income group, adjustment and standing annual invoice joined."""
    return (
        query.outerjoin(
            MemberIncomeGroup,
            sa.and_(MemberIncomeGroup.member_id == Member.id, MemberIncomeGroup.fiscal_year == fiscal_year),
        )
        .outerjoin(
            ContributionAdjustment,
            sa.and_(
                ContributionAdjustment.member_id == Member.id,
                ContributionAdjustment.fiscal_year == fiscal_year,
            ),
        )
        .outerjoin(
            Invoice,
            sa.and_(
                Invoice.member_id == Member.id, Invoice.fiscal_year == fiscal_year, STANDING_ANNUAL_INVOICE
            ),
        )
    )


@dataclass(frozen=True)
class AlikeMembers:
    """Members of the run with the same inputs, hence the same row: `row` is theirs, classified once."""

    #: The inputs' values, by the names of `_inputs`.
    inputs: dict
    row: PreviewRow
    count: int
    #: What their issued annual invoices total, per currency.
    invoiced: dict[str, Decimal]


@dataclass
class PreviewFigures:
    """The preview's counts and totals, from the sets of alike members (`preview_figures`): what `Preview`
    gives, without a row per member."""

    fiscal_year: int
    policy: ContributionPolicy | None
    groups: list[AlikeMembers]
    not_in_run_count: int = 0

    def count(self, *statuses: RowStatus) -> int:
        return sum(group.count for group in self.groups if group.row.status in statuses)

    @property
    def member_count(self) -> int:
        return sum(group.count for group in self.groups)

    @property
    def to_invoice_count(self) -> int:
        return self.count(RowStatus.TO_INVOICE)

    @property
    def problem_count(self) -> int:
        return self.count(RowStatus.PROBLEM)

    @property
    def waived_count(self) -> int:
        return self.count(RowStatus.WAIVED)

    @property
    def already_invoiced_count(self) -> int:
        return self.count(RowStatus.ALREADY_INVOICED)

    @property
    def adjusted_count(self) -> int:
        return sum(group.count for group in self.groups if group.row.adjustment is not None)

    @property
    def total_to_invoice(self) -> dict[str, Decimal]:
        return _amounts(
            (group.row, group.count) for group in self.groups if group.row.status == RowStatus.TO_INVOICE
        )

    def totals_by(self, key: Callable[[PreviewRow], str], order: list[str] | None = None) -> list[Totals]:
        return totals_by(((group.row, group.count, group.invoiced) for group in self.groups), key, order)

    @property
    def totals_by_group(self) -> list[Totals]:
        return self.totals_by(lambda row: row.group_label, GROUP_ORDER)

    @property
    def totals_by_hub(self) -> list[Totals]:
        return self.totals_by(lambda row: row.member.hub.name)

    @property
    def hub_currencies(self) -> list[HubCurrency]:
        return hub_currencies(self.policy, (group.row.member.hub for group in self.groups))

    @property
    def rate_missing(self) -> list[HubCurrency]:
        return [hub for hub in self.hub_currencies if hub.rate_missing]

    @property
    def hub_names(self) -> list[str]:
        return sorted({group.row.member.hub.name for group in self.groups})

    def summary(self) -> str:
        """`FY2027: 97 to invoice, 3 problems, 2 waived, 0 already invoiced`."""
        problems = self.problem_count
        return (
            f"FY{self.fiscal_year}: {self.to_invoice_count} to invoice, "
            f"{problems} problem{'' if problems == 1 else 's'}, {self.waived_count} waived, "
            f"{self.already_invoiced_count} already invoiced"
        )

    def members_where(self, statuses=None, hub_name: str | None = None) -> sa.ColumnElement[bool]:
        """SQL on `_joined_inputs`: the members of the sets with one of these statuses (and of this hub)."""
        inputs = _inputs(self.fiscal_year)
        chosen = [
            group.inputs
            for group in self.groups
            if (statuses is None or group.row.status in statuses)
            and (hub_name is None or group.row.member.hub.name == hub_name)
        ]
        if statuses is None and hub_name is None:
            return eligible(self.fiscal_year)
        return sa.and_(eligible(self.fiscal_year), _any_of(chosen, list(inputs.items())))


def _any_of(chosen: list[dict], columns: list[tuple[str, sa.ColumnElement]]) -> sa.ColumnElement[bool]:
    """SQL true for rows whose columns hold one of the `chosen` sets of values, as a tree (one column's
    values, then the next column's under each), so that each expression is evaluated about once a row."""
    if not chosen:
        return sa.false()
    if not columns:
        return sa.true()
    (name, column), rest = columns[0], columns[1:]
    by_value: dict = defaultdict(list)
    for values in chosen:
        by_value[values[name]].append(values)
    branches = []
    for value, under in by_value.items():
        if name == "has_billing_email":
            test = column if value else sa.not_(column)
        else:
            test = column.is_(None) if value is None else column == value
        branches.append(sa.and_(test, _any_of(under, rest)))
    return sa.or_(*branches)


def preview_figures(fiscal_year: int) -> PreviewFigures:
    """The preview's counts and totals in a constant number of queries, and as many classifications as there
    are sets of alike members (a few dozen), whatever the number of members."""
    inputs = _inputs(fiscal_year)
    in_run = eligible(fiscal_year)
    per_member = _joined_inputs(
        sa.select(
            *(column.label(name) for name, column in inputs.items()),
            in_run.label("in_run"),
            ContributionAdjustment.kind.label("adjustment_kind"),
            ContributionAdjustment.amount.label("adjustment_amount"),
            Invoice.currency.label("invoice_currency"),
            Invoice.total.label("invoice_total"),
        ).select_from(Member),
        fiscal_year,
    ).subquery()
    keys = [
        per_member.c[name]
        for name in (*inputs, "in_run", "adjustment_kind", "adjustment_amount", "invoice_currency")
    ]
    grouped = db.session.execute(
        sa.select(
            *keys, sa.func.count().label("members"), sa.func.sum(per_member.c.invoice_total).label("total")
        ).group_by(*keys)
    ).all()
    policies = policies_for([fiscal_year])
    policy = policies.get(fiscal_year)
    hubs = {
        hub.id: hub
        for hub in db.session.scalars(sa.select(Hub).where(Hub.id.in_({row.hub_id for row in grouped})))
    }
    assessor = AlikeAssessments(policies)
    merged: dict[tuple, AlikeMembers] = {}
    not_in_run = 0
    for found in grouped:
        if not found.in_run:
            not_in_run += found.members
            continue
        values = {name: found._mapping[name] for name in inputs}
        values["has_billing_email"] = bool(values["has_billing_email"])
        key = tuple(values.values())
        if key in merged:  # one set read twice (invoices in two currencies): add them up
            group = merged[key]
            invoiced = group.invoiced
            if group.row.status == RowStatus.ALREADY_INVOICED:
                invoiced = sum_by_currency([*_pairs(invoiced), (found.total, found.invoice_currency)])
            merged[key] = AlikeMembers(values, group.row, group.count + found.members, invoiced)
            continue
        member = _AlikeMember(kind=found.kind, hub=hubs[found.hub_id])
        adjustment = (
            None
            if found.adjustment_id is None
            else _AlikeAdjustment(kind=found.adjustment_kind, amount=found.adjustment_amount)
        )
        invoice = (
            None
            if found.invoice_status is None
            else ExistingInvoice(0, None, found.invoice_status, Decimal("0.00"), found.invoice_currency)
        )
        assessment = assessor.of(member, fiscal_year, found.income_group, adjustment)
        row = classify(member, assessment, invoice, values["has_billing_email"])
        invoiced = (
            sum_by_currency([(found.total, found.invoice_currency)])
            if row.status == RowStatus.ALREADY_INVOICED
            else {}
        )
        merged[key] = AlikeMembers(values, row, found.members, invoiced)
    return PreviewFigures(fiscal_year, policy, list(merged.values()), not_in_run)


def _pairs(by_currency: dict[str, Decimal]):
    return [(amount, currency) for currency, amount in by_currency.items()]


@dataclass(frozen=True)
class PreviewFilter:
    """The members the preview lists: a name or country code (`text`), what the run does with them
    (`status`, a RowStatus value) and their hub (`hub_name`); `nothing` lists none (a form in error)."""

    text: str = ""
    status: str = ""
    hub_name: str = ""
    nothing: bool = False

    def condition(self, figures: PreviewFigures) -> sa.ColumnElement[bool]:
        """SQL on `_joined_inputs` (on members alone when `needs_inputs` is false)."""
        if self.nothing:
            return sa.false()
        statuses = [RowStatus(self.status)] if self.status else None
        condition = figures.members_where(statuses, self.hub_name or None)
        if self.text.strip():
            condition = sa.and_(condition, matching_members(self.text))
        return condition

    @property
    def needs_inputs(self) -> bool:
        return bool(self.status or self.hub_name) and not self.nothing


def listed_members(figures: PreviewFigures, chosen: PreviewFilter = PreviewFilter()) -> sa.Select:
    """The ids of the members the preview lists, in its order (name)."""
    query = sa.select(Member.id).where(chosen.condition(figures))
    if chosen.needs_inputs:
        query = _joined_inputs(query, figures.fiscal_year)
    return query.order_by(Member.name, Member.id)


def listed_count(figures: PreviewFigures, chosen: PreviewFilter = PreviewFilter()) -> int:
    """How many members `listed_members` gives: from the figures, or counted when a text is searched."""
    if chosen.nothing:
        return 0
    if chosen.text.strip():
        listed = listed_members(figures, chosen).order_by(None).subquery()
        return db.session.scalar(sa.select(sa.func.count()).select_from(listed))
    return sum(
        group.count
        for group in figures.groups
        if (not chosen.status or group.row.status == RowStatus(chosen.status))
        and (not chosen.hub_name or group.row.member.hub.name == chosen.hub_name)
    )


def adjusted_members(figures: PreviewFigures) -> sa.Select:
    """The ids of the members with an adjustment for the year, in the preview's order."""
    fiscal_year = figures.fiscal_year
    return (
        sa.select(Member.id)
        .join(
            ContributionAdjustment,
            sa.and_(
                ContributionAdjustment.member_id == Member.id,
                ContributionAdjustment.fiscal_year == fiscal_year,
            ),
        )
        .where(eligible(fiscal_year))
        .order_by(Member.name, Member.id)
    )


def page_rows(figures: PreviewFigures, member_ids: Iterable[int]) -> dict[int, PreviewRow]:
    """member id -> its row, for the members of the pages shown, in one query: each set of alike members
    classified once (`streamed_preview`), with the member's own id, name, country and language in its row."""
    ids = list(dict.fromkeys(member_ids))
    rows = {}
    for member_id, _key, name, country_code, language, row in _members_rows(figures, Member.id.in_(ids)):
        member = replace(row.member, id=member_id, name=name, country_code=country_code, language=language)
        rows[member_id] = replace(row, member=member)
    return rows


def streamed_preview(figures: PreviewFigures, chosen: PreviewFilter = PreviewFilter()) -> Iterator[tuple]:
    """Every member the preview lists (`chosen`), in its order, as (key, name,
    country code, language, row), read in one streamed query with their inputs: `row` is classified once per
    set of alike members and shared by them (`key` names the set; None for a row of its own, a member
    already invoiced, whose row shows its invoice), with their hub and kind; the member's own name, country
    and language come beside it."""
    for _member_id, *listed in _members_rows(figures, chosen.condition(figures)):
        yield listed


def _members_rows(figures: PreviewFigures, condition) -> Iterator[tuple]:
    """`streamed_preview`'s rows, each with the member's id first, for the members `condition` chooses."""
    fiscal_year = figures.fiscal_year
    # The enums as stored (text): made enums only when a set is first met, not on every row.
    statement = (
        _joined_inputs(
            sa.select(
                Member.id,
                Member.name,
                Member.country_code,
                as_stored(Member.language),
                as_stored(Member.kind).label("kind"),
                Member.hub_id,
                as_stored(MemberIncomeGroup.income_group).label("income_group"),
                ContributionAdjustment.id.label("adjustment_id"),
                as_stored(Invoice.status).label("invoice_status"),
                billing_email_exists().label("has_billing_email"),
                Invoice.id.label("invoice_id"),
                ContributionAdjustment.kind.label("adjustment_kind"),
                ContributionAdjustment.amount.label("adjustment_amount"),
                ContributionAdjustment.reason.label("adjustment_reason"),
                ContributionAdjustment.approval_reference.label("approval_reference"),
                Invoice.number.label("invoice_number"),
                Invoice.total.label("invoice_total"),
                Invoice.currency.label("invoice_currency"),
                Invoice.assessed_amount.label("assessed_amount"),
                Invoice.assessed_currency.label("assessed_currency"),
                Invoice.exchange_rate.label("exchange_rate"),
            ).select_from(Member),
            fiscal_year,
        )
        .where(condition)
        .order_by(Member.name, Member.id)
    )
    hubs = {group.row.member.hub.id: group.row.member.hub for group in figures.groups}
    assessor = AlikeAssessments({fiscal_year: figures.policy} if figures.policy is not None else {})
    languages = {language.value: language for language in Language}
    shared: dict[tuple, PreviewRow] = {}
    draft = InvoiceStatus.DRAFT.value
    for found in streamed_rows(statement):
        member_id, name, country_code, language, *inputs, invoice_id = found[:11]
        status = inputs[4]
        # A draft's id is in its problem; an issued invoice's figures are in its row.
        key = (*inputs, invoice_id if status == draft else None)
        row = shared.get(key)
        if row is None:
            row = _classify_found(found, fiscal_year, assessor, hubs)
            if status is None or status == draft:
                shared[key] = row
            else:
                key = None
        yield member_id, key, name, country_code, languages[language], row


def _classify_found(found, fiscal_year: int, assessor: AlikeAssessments, hubs: dict[int, Hub]) -> PreviewRow:
    """`classify` for a member read as columns (`streamed_preview`)."""
    hub = hubs.get(found.hub_id)
    if hub is None:  # a member moved to another hub since the figures were read
        hub = hubs[found.hub_id] = db.session.get(Hub, found.hub_id)
    member = _AlikeMember(kind=MemberKind(found.kind), hub=hub)
    adjustment = None
    if found.adjustment_id is not None:
        adjustment = _AlikeAdjustment(
            found.adjustment_kind, found.adjustment_amount, found.adjustment_reason, found.approval_reference
        )
    invoice = None
    if found.invoice_id is not None:
        invoice = ExistingInvoice(
            found.invoice_id,
            found.invoice_number,
            InvoiceStatus(found.invoice_status),
            found.invoice_total,
            found.invoice_currency,
            found.assessed_amount,
            found.assessed_currency,
            found.exchange_rate,
        )
    income_group = None if found.income_group is None else IncomeGroup(found.income_group)
    assessment = assessor.of(member, fiscal_year, income_group, adjustment)
    return classify(member, assessment, invoice, bool(found.has_billing_email))
