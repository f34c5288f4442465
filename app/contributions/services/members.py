"""Members: national and local governments, their billing contacts, income-group history and adjustments.

Every function flushes and never commits; a broken rule raises `ValidationFailed` with the messages to show
beside the fields, and changes nothing.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

import pycountry
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import selectinload

from ...common import search
from ...common.errors import ValidationFailed
from ...common.exports import as_stored, merge_related, streamed_rows
from ...common.languages import Language
from ...common.uniqueness import UniqueField, unique_as_field_errors
from ...extensions import db
from ...hubs.models import Hub, HubStatus
from ..models import (
    AdjustmentKind,
    ContributionAdjustment,
    ContributionPolicy,
    IncomeGroup,
    Invoice,
    Member,
    MemberContact,
    MemberIncomeGroup,
    MemberKind,
    MemberStatus,
    Payment,
    PaymentAllocation,
)
from ..totals import InvoiceYearTotal, OpenInvoiceTotal, from_cents

CENT = Decimal("0.01")
#: The value of the income-group filter that finds national members without a group for the year.
MISSING = "missing"
CORRECT_THE_FIELDS = "Please correct the fields marked below. Nothing was saved."


# --- Countries ---------------------------------------------------------------------------------------------


@functools.cache  # a few hundred codes; pycountry's look-up costs about 30 µs, once per row of an export
def country_name(code: str | None) -> str:
    """The common name of an ISO 3166-1 alpha-2 country ("Bolivia", not "Bolivia, Plurinational State of")."""
    country = pycountry.countries.get(alpha_2=code) if code else None
    if country is None:
        return code or ""
    return getattr(country, "common_name", None) or country.name


def countries() -> list[tuple[str, str]]:
    """(alpha-2 code, common name) for every ISO country, by name."""
    pairs = [(country.alpha_2, country_name(country.alpha_2)) for country in pycountry.countries]
    return sorted(pairs, key=lambda pair: pair[1])


def is_country(code: str | None) -> bool:
    return bool(code) and len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None


# --- Hubs --------------------------------------------------------------------------------------------------


def issuing_hubs() -> list[Hub]:
    """Hubs that may issue a member's documents: every hub that is not closed, default issuer first."""
    return list(
        db.session.scalars(
            sa.select(Hub)
            .where(Hub.status != HubStatus.CLOSED)
            .order_by(Hub.is_default_issuer.desc(), Hub.name)
        )
    )


def default_issuing_hub() -> Hub | None:
    return db.session.scalar(
        sa.select(Hub).where(Hub.is_default_issuer.is_(True), Hub.status != HubStatus.CLOSED).limit(1)
    )


# --- Members -----------------------------------------------------------------------------------------------


@dataclass
class MemberDetails:
    """What a member form sends; the service checks it as a whole."""

    kind: MemberKind | str
    country_code: str
    name: str = ""
    joined_on: date | None = None
    status: MemberStatus | str = MemberStatus.ACTIVE
    language: Language | str = Language.EN
    hub_id: int | None = None
    budget_year_start_month: int = 1
    budget_lead_days: int = 90
    billing_address: str = ""
    notes: str = ""


def create_member(details: MemberDetails) -> Member:
    """Add a national or local member after checking the country, the hub and that it is not a duplicate."""
    member = Member()
    _apply_member_details(member, details)
    db.session.add(member)
    _flush_or_duplicate(member)
    return member


def update_member(member: Member, details: MemberDetails) -> Member:
    """Change a member's details with the same checks as when it was created."""
    _apply_member_details(member, details)
    _flush_or_duplicate(member)
    return member


def _apply_member_details(member: Member, details: MemberDetails) -> None:
    errors: dict[str, list[str]] = {}
    kind = MemberKind(details.kind)
    code = (details.country_code or "").strip().upper()
    name = (details.name or "").strip()
    if not is_country(code):
        errors["country_code"] = ["Choose a country from the list."]
    elif kind == MemberKind.NATIONAL:
        name = name or country_name(code)
        existing = db.session.scalar(
            _other_members(member).where(Member.kind == MemberKind.NATIONAL, Member.country_code == code)
        )
        if existing is not None:
            errors["country_code"] = [f"{existing.name} is already a national member."]
    if kind == MemberKind.LOCAL and not name:
        errors["name"] = ["Give the city or region's name."]
    if len(name) > 200:
        errors["name"] = ["At most 200 characters."]
    if "name" not in errors and "country_code" not in errors:
        clash = db.session.scalar(
            _other_members(member).where(
                Member.country_code == code, sa.func.lower(Member.name) == name.lower()
            )
        )
        if clash is not None:
            errors["name"] = [f"A member named {clash.name} in {country_name(code)} already exists."]
    hub = db.session.get(Hub, details.hub_id) if details.hub_id else None
    if hub is None or hub.status == HubStatus.CLOSED:
        errors["hub_id"] = ["Choose a hub that is not closed."]
    if not 1 <= int(details.budget_year_start_month or 0) <= 12:
        errors["budget_year_start_month"] = ["Choose a month."]
    if details.budget_lead_days is None or not 0 <= int(details.budget_lead_days) <= 730:
        errors["budget_lead_days"] = ["Between 0 and 730 days."]
    if errors:
        raise ValidationFailed(CORRECT_THE_FIELDS, errors)
    member.kind = kind
    member.country_code = code
    member.name = name
    member.joined_on = details.joined_on
    member.status = MemberStatus(details.status)
    member.language = Language(details.language)
    member.hub = hub
    member.budget_year_start_month = int(details.budget_year_start_month)
    member.budget_lead_days = int(details.budget_lead_days)
    member.billing_address = (details.billing_address or "").strip()
    member.notes = (details.notes or "").strip()


def _other_members(member: Member) -> sa.Select:
    query = sa.select(Member)
    return query.where(Member.id != member.id) if member.id is not None else query


#: The member's unique indexes, as messages beside their fields.
MEMBER_UNIQUE_FIELDS = (
    UniqueField("uq_members_national_country", "country_code", "Already a member."),
    UniqueField("uq_members_country_code_name", "name", "A member of this country already has this name."),
)


def _flush_or_duplicate(member: Member) -> None:
    # The checks above read first; the unique indexes settle a race between two people saving at once.
    with unique_as_field_errors(
        *MEMBER_UNIQUE_FIELDS,
        message="Another member with this country or name was saved at the same moment. Nothing was saved.",
    ):
        db.session.flush()


@dataclass(frozen=True)
class BudgetDeadline:
    """When the member's next budget year starts, and by when our invoice or pro-forma must reach it."""

    budget_year_starts_on: date
    arrive_by: date
    today: date

    @property
    def passed(self) -> bool:
        return self.arrive_by < self.today

    @property
    def days_left(self) -> int:
        return (self.arrive_by - self.today).days


def budget_deadline(member: Member, today: date) -> BudgetDeadline:
    """The date by which this year's invoice must arrive to be included in the member's next budget."""
    month = member.budget_year_start_month or 1
    starts_on = date(today.year, month, 1)
    if starts_on <= today:
        starts_on = date(today.year + 1, month, 1)
    return BudgetDeadline(starts_on, starts_on - timedelta(days=member.budget_lead_days or 0), today)


def month_name(month: int) -> str:
    return calendar.month_name[month]


# --- Lists -------------------------------------------------------------------------------------------------


def member_query(
    *,
    fiscal_year: int,
    text: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    hub_id: int | None = None,
    income_group: str | None = None,
) -> sa.Select:
    """Members by name, narrowed by the list's search and filters (income group for `fiscal_year`)."""
    query = sa.select(Member).options(selectinload(Member.contacts)).order_by(Member.name, Member.id)
    if text and text.strip():
        query = query.where(matching_members(text))
    if kind:
        query = query.where(Member.kind == MemberKind(kind))
    if status:
        query = query.where(Member.status == MemberStatus(status))
    if hub_id:
        query = query.where(Member.hub_id == hub_id)
    if income_group:
        group_this_year = sa.select(MemberIncomeGroup.id).where(
            MemberIncomeGroup.member_id == Member.id, MemberIncomeGroup.fiscal_year == fiscal_year
        )
        if income_group == MISSING:
            query = query.where(Member.kind == MemberKind.NATIONAL, ~group_this_year.exists())
        else:
            query = query.where(
                group_this_year.where(MemberIncomeGroup.income_group == IncomeGroup(income_group)).exists()
            )
    return query


def matching_members(text: str) -> sa.ColumnElement[bool]:
    """Members whose name contains `text` (accents and case aside), or whose country code it is."""
    by_name = search.matches(Member.__table__, text)
    code = text.strip().upper()
    return sa.or_(by_name, Member.country_code == code) if len(code) == 2 else by_name


def matching_member_ids(text: str) -> sa.Select:
    """Ids of members whose name contains `text` (accents and case aside), or whose country code it is."""
    return sa.select(Member.id).where(matching_members(text))


def outstanding_by_member(member_ids: Iterable[int]) -> dict[int, dict[str, Decimal]]:
    """What each member still owes on its issued invoices, per currency, from the kept year totals (one row
    per member, fiscal year and currency; `invoice_year_totals`, kept with every invoice change): the same
    figure as adding up the open invoices' balances, since only an open invoice still owes something."""
    ids = list(member_ids)
    if not ids:
        return {}
    balances: dict[int, dict[str, Decimal]] = {}
    for member_id, currency, cents in db.session.execute(_outstanding_statement(), {"member_ids": ids}):
        balances.setdefault(member_id, {})[currency] = from_cents(cents)
    return balances


@functools.cache
def _outstanding_statement() -> sa.Select:
    """outstanding_by_member's query for any members (bound `member_ids`), built once per process: building
    a statement costs more than running this one."""
    owed = sa.func.sum(InvoiceYearTotal.outstanding_cents)
    return (
        sa.select(InvoiceYearTotal.member_id, InvoiceYearTotal.currency, owed)
        .where(InvoiceYearTotal.member_id.in_(sa.bindparam("member_ids", expanding=True)))
        .group_by(InvoiceYearTotal.member_id, InvoiceYearTotal.currency)
        .having(owed != 0)
        .order_by(InvoiceYearTotal.member_id, InvoiceYearTotal.currency)
    )


class ListedMember(NamedTuple):
    """A row of the member list: the columns of `member_list_rows`, in its order."""

    id: int
    name: str
    kind: MemberKind
    country_code: str
    status: MemberStatus
    hub_name: str
    #: For the list's fiscal year; None when the member has none.
    income_group: IncomeGroup | None
    #: The primary contact's; None when the member has none.
    contact_name: str | None
    contact_email: str | None


#: The member list's joins, made once (an ORM alias costs more to make than the query takes to run).
_LISTED_GROUP = sa.orm.aliased(MemberIncomeGroup)
_LISTED_CONTACT = sa.orm.aliased(MemberContact)


def member_list_rows(fiscal_year: int):
    """For `paginate(rows=...)`: what each row of the member list shows, for the page's ids, in one query
    with the hub, the year's income group and the primary contact joined (the contact the CSV names)."""
    group, contact = _LISTED_GROUP, _LISTED_CONTACT

    def rows(page_ids: sa.Subquery) -> sa.Select:
        return (
            sa.select(
                Member.id,
                Member.name,
                Member.kind,
                Member.country_code,
                Member.status,
                Hub.name,
                group.income_group,
                contact.name,
                contact.email,
            )
            .join(page_ids, page_ids.c.id == Member.id)
            .join(Hub, Hub.id == Member.hub_id)
            .outerjoin(group, sa.and_(group.member_id == Member.id, group.fiscal_year == fiscal_year))
            .outerjoin(contact, contact.id == _first_primary_contact())
        )

    return rows


@functools.cache
def _first_primary_contact():
    """The id of the member's primary contact (the first, should two ever be marked), for a query of
    members (made once)."""
    return (
        sa.select(MemberContact.id)
        .where(MemberContact.member_id == Member.id, MemberContact.is_primary)
        .order_by(MemberContact.id)
        .limit(1)
        .correlate(Member)
        .scalar_subquery()
    )


def primary_contact(member: Member) -> MemberContact | None:
    return next((contact for contact in member.contacts if contact.is_primary), None)


CSV_HEADER = [
    "id",
    "name",
    "kind",
    "country_code",
    "country",
    "status",
    "joined_on",
    "language",
    "hub",
    "income_group_fy",
    "income_group",
    "primary_contact",
    "primary_contact_email",
    "outstanding",
]


def member_csv_rows(query: sa.Select, fiscal_year: int) -> Iterator[list]:
    """Every member the query finds as CSV cells, from two streamed queries in the list's order: the members
    with their hub, the year's income group and the primary contact joined in, and what they owe (one row
    per currency, from the kept year totals, as `outstanding_by_member`), paired here one member at a time.

    The balances are a query of their own rather than a grouped subquery joined to the members: SQLite read
    that subquery's whole result again for every member (about 1,000 x 1,500 rows at scale 10). They were
    added up from every open invoice (about 15,000 at scale 10), most of the export's time."""
    yield CSV_HEADER
    group = sa.orm.aliased(MemberIncomeGroup)
    contact = sa.orm.aliased(MemberContact)
    members = streamed_rows(
        query.with_only_columns(
            Member.id,
            Member.name,
            as_stored(Member.kind),
            Member.country_code,
            as_stored(Member.status),
            as_stored(Member.joined_on),
            as_stored(Member.language),
            Hub.name,
            as_stored(group.income_group),
            contact.name,
            contact.email,
        )
        .outerjoin(Hub, Hub.id == Member.hub_id)
        .outerjoin(group, sa.and_(group.member_id == Member.id, group.fiscal_year == fiscal_year))
        .outerjoin(contact, contact.id == _first_primary_contact())
    )
    owed = sa.func.sum(InvoiceYearTotal.outstanding_cents)
    balances = streamed_rows(
        query.with_only_columns(Member.id, InvoiceYearTotal.currency, owed)
        .join(InvoiceYearTotal, InvoiceYearTotal.member_id == Member.id)
        .group_by(Member.id, InvoiceYearTotal.currency)
        .having(owed != 0)
        .order_by(InvoiceYearTotal.currency)
    )
    year = str(fiscal_year)
    for member, its_balances in merge_related(members, balances):
        member_id, name, kind, code, status, joined_on, language, hub, income_group, contact_name, email = (
            member
        )
        yield [
            member_id,
            name,
            kind,
            code,
            country_name(code),
            status,
            joined_on,
            language,
            hub,
            year,
            income_group,
            contact_name,
            email,
            "; ".join(f"{from_cents(cents)} {currency}" for _id, currency, cents in its_balances),
        ]


# --- The member page ---------------------------------------------------------------------------------------


#: Payments the member page lists (the latest); the payments list has them all.
MEMBER_PAGE_PAYMENTS = 20


def member_invoices_query(member: Member) -> sa.Select:
    """The member's invoices, newest fiscal year first (the member page shows a page of them)."""
    return (
        sa.select(Invoice)
        .where(Invoice.member_id == member.id)
        .order_by(Invoice.fiscal_year.desc(), Invoice.issued_on.desc(), Invoice.id.desc())
    )


def member_invoices(member: Member) -> list[Invoice]:
    """The member's invoices, newest fiscal year first."""
    return list(db.session.scalars(member_invoices_query(member)))


#: The member page's payments, newest first (as `member_payments` orders them).
LATEST_PAYMENTS_ORDER = (Payment.received_on.desc(), Payment.id.desc())


def latest_payment_ids() -> sa.Subquery:
    """The ids of a member's latest payments (bound `member_id` and `limit`), newest first, as a subquery
    for a list's rows to join (the member page's payments)."""
    return (
        sa.select(Payment.id.label("id"))
        .where(Payment.member_id == sa.bindparam("member_id", type_=sa.Integer))
        .order_by(*LATEST_PAYMENTS_ORDER)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .subquery("page_ids")
    )


def member_payments(member: Member, limit: int | None = None) -> list[Payment]:
    """The member's payments, newest first (the latest `limit` when given), with their allocations loaded."""
    query = (
        sa.select(Payment)
        .where(Payment.member_id == member.id)
        .options(selectinload(Payment.allocations))
        .order_by(*LATEST_PAYMENTS_ORDER)
    )
    return list(db.session.scalars(query.limit(limit) if limit else query))


def credit_on_account(payments: Iterable[Payment]) -> dict[str, Decimal]:
    """Unallocated payment money per currency."""
    totals: dict[str, Decimal] = {}
    for payment in payments:
        amount = payment.unallocated_amount
        if amount > 0:
            totals[payment.currency] = totals.get(payment.currency, Decimal("0.00")) + amount
    return dict(sorted(totals.items()))


def member_credit_on_account(member: Member) -> dict[str, Decimal]:
    """The member's unallocated payment money per currency, from one aggregate query over all its payments
    (what `credit_on_account` adds up from payment objects: each `unallocated_amount` above zero)."""
    rows = db.session.execute(_credit_statement(), {"member_id": member.id})
    return {currency: Decimal(amount).quantize(CENT) for currency, amount in rows if amount}


@functools.cache
def _credit_statement() -> sa.Select:
    """member_credit_on_account's query for any member (bound `member_id`), built once per process."""
    member_id = sa.bindparam("member_id", type_=sa.Integer)
    allocated = (
        sa.select(
            PaymentAllocation.payment_id, sa.func.sum(PaymentAllocation.payment_amount).label("allocated")
        )
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(Payment.member_id == member_id)
        .group_by(PaymentAllocation.payment_id)
        .subquery()
    )
    # As Payment.unallocated_amount.
    unallocated = Payment.amount - Payment.refunded_amount - sa.func.coalesce(allocated.c.allocated, 0)
    return (
        sa.select(Payment.currency, sa.type_coerce(sa.func.sum(unallocated), Payment.amount.type))
        .outerjoin(allocated, allocated.c.payment_id == Payment.id)
        .where(Payment.member_id == member_id, unallocated > 0)
        .group_by(Payment.currency)
        .order_by(Payment.currency)
    )


# --- Contacts ----------------------------------------------------------------------------------------------


@dataclass
class ContactDetails:
    name: str
    title: str = ""
    office: str = ""
    email: str = ""
    phone: str = ""
    is_primary: bool = False


def add_contact(member: Member, details: ContactDetails) -> MemberContact:
    """Add a billing contact; the first one, or one marked primary, becomes the primary contact."""
    contact = MemberContact(is_primary=False)
    _apply_contact_details(contact, details)
    first = not any(other.is_primary for other in member.contacts)
    member.contacts.append(contact)
    if details.is_primary or first:
        _make_primary(member, contact)
    db.session.flush()
    return contact


def update_contact(contact: MemberContact, details: ContactDetails) -> MemberContact:
    """Change a contact; marking it primary unmarks the previous primary contact."""
    if contact.is_primary and not details.is_primary:
        raise ValidationFailed(
            CORRECT_THE_FIELDS,
            {"is_primary": ["One contact must be primary: mark another contact as primary instead."]},
        )
    _apply_contact_details(contact, details)
    if details.is_primary:
        _make_primary(contact.member, contact)
    db.session.flush()
    return contact


def make_primary_contact(contact: MemberContact) -> None:
    """Make this the member's one primary billing contact."""
    _make_primary(contact.member, contact)
    db.session.flush()


def remove_contact(contact: MemberContact) -> None:
    """Remove a contact; if it was primary, the next contact becomes primary."""
    member = contact.member
    was_primary = contact.is_primary
    member.contacts.remove(contact)
    db.session.flush()
    if was_primary and member.contacts:
        _make_primary(member, member.contacts[0])
        db.session.flush()


def _make_primary(member: Member, contact: MemberContact) -> None:
    for other in member.contacts:
        if other is not contact and other.is_primary:
            other.is_primary = False
    # Unmark first, so the flush never sees two primary contacts at once.
    db.session.flush()
    contact.is_primary = True


def _apply_contact_details(contact: MemberContact, details: ContactDetails) -> None:
    errors: dict[str, list[str]] = {}
    name = (details.name or "").strip()
    if not name:
        errors["name"] = ["Give the contact's name."]
    email = (details.email or "").strip()
    if email:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            errors["email"] = ["Not a valid e-mail address."]
    for field, limit in (("name", 200), ("title", 200), ("office", 200), ("phone", 50)):
        if len((getattr(details, field) or "").strip()) > limit:
            errors.setdefault(field, []).append(f"At most {limit} characters.")
    if errors:
        raise ValidationFailed(CORRECT_THE_FIELDS, errors)
    contact.name = name
    contact.title = (details.title or "").strip()
    contact.office = (details.office or "").strip()
    contact.email = email
    contact.phone = (details.phone or "").strip()


# --- Income groups -----------------------------------------------------------------------------------------


def set_income_group(member: Member, fiscal_year: int, income_group: IncomeGroup | str) -> MemberIncomeGroup:
    """Record the member's income group for a fiscal year; setting it again for that year changes it."""
    if member.kind != MemberKind.NATIONAL:
        raise ValidationFailed(
            "Local members pay the local amount: an income group does not apply.",
            {"income_group": ["Only national members have an income group."]},
        )
    if not 2000 <= int(fiscal_year) <= 2100:
        raise ValidationFailed(CORRECT_THE_FIELDS, {"fiscal_year": ["Give a fiscal year such as 2027."]})
    group = IncomeGroup(income_group)
    record = db.session.scalar(
        sa.select(MemberIncomeGroup).where(
            MemberIncomeGroup.member_id == member.id, MemberIncomeGroup.fiscal_year == fiscal_year
        )
    )
    if record is None:
        record = MemberIncomeGroup(member=member, fiscal_year=int(fiscal_year), income_group=group)
        db.session.add(record)
    else:
        record.income_group = group
    db.session.flush()
    return record


# --- Adjustments -------------------------------------------------------------------------------------------


@dataclass
class AdjustmentDetails:
    fiscal_year: int
    kind: AdjustmentKind | str
    amount: Decimal | None
    reason: str
    approval_reference: str


def add_adjustment(member: Member, details: AdjustmentDetails) -> ContributionAdjustment:
    """Record a decided exception for one year: a different amount or a waiver, with reason and approval."""
    adjustment = ContributionAdjustment()
    _apply_adjustment(adjustment, member, details)
    adjustment.member = member
    db.session.add(adjustment)
    db.session.flush()
    return adjustment


def update_adjustment(
    adjustment: ContributionAdjustment, details: AdjustmentDetails
) -> ContributionAdjustment:
    """Change an adjustment (its year, kind, amount, reason or approval)."""
    _apply_adjustment(adjustment, adjustment.member, details)
    db.session.flush()
    return adjustment


def remove_adjustment(adjustment: ContributionAdjustment) -> None:
    """Remove an adjustment: the policy amount applies again for that year."""
    db.session.delete(adjustment)
    db.session.flush()


def _apply_adjustment(adjustment: ContributionAdjustment, member: Member, details: AdjustmentDetails) -> None:
    errors: dict[str, list[str]] = {}
    kind = AdjustmentKind(details.kind)
    year = details.fiscal_year
    if year is None or not 2000 <= int(year) <= 2100:
        errors["fiscal_year"] = ["Give a fiscal year such as 2027."]
    else:
        query = sa.select(ContributionAdjustment).where(
            ContributionAdjustment.member_id == member.id, ContributionAdjustment.fiscal_year == year
        )
        if adjustment.id is not None:
            query = query.where(ContributionAdjustment.id != adjustment.id)
        if db.session.scalar(query) is not None:
            errors["fiscal_year"] = [f"{member.name} already has an adjustment for FY{year}; edit that one."]
    amount = details.amount
    if kind == AdjustmentKind.AMOUNT:
        if amount is None:
            errors["amount"] = ["Give the amount to bill instead, or choose a waiver."]
        elif amount < 0:
            errors["amount"] = ["An amount cannot be negative."]
    else:
        amount = None
    if not (details.reason or "").strip():
        errors["reason"] = ["Say why: the reason is required."]
    reference = (details.approval_reference or "").strip()
    if not reference:
        errors["approval_reference"] = ["Give the approval reference, e.g. a Steering Committee decision."]
    elif len(reference) > 200:
        errors["approval_reference"] = ["At most 200 characters."]
    if errors:
        raise ValidationFailed(CORRECT_THE_FIELDS, errors)
    adjustment.fiscal_year = int(year)
    adjustment.kind = kind
    adjustment.amount = amount.quantize(Decimal("0.01")) if amount is not None else None
    adjustment.reason = details.reason.strip()
    adjustment.approval_reference = reference


def adjustments_for(member: Member) -> list[ContributionAdjustment]:
    """The member's adjustments, newest year first."""
    return list(
        db.session.scalars(
            sa.select(ContributionAdjustment)
            .where(ContributionAdjustment.member_id == member.id)
            .order_by(ContributionAdjustment.fiscal_year.desc())
        )
    )


# --- The overview ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberToFix:
    id: int
    name: str
    kind: MemberKind
    missing_income_group: bool
    missing_primary_contact: bool


@dataclass(frozen=True)
class InvoiceTotals:
    open_count: int
    outstanding: dict[str, Decimal]
    overdue_count: int
    overdue: dict[str, Decimal]


@dataclass(frozen=True)
class Overview:
    fiscal_year: int
    active_by_kind: dict[MemberKind, int]
    to_fix: list[MemberToFix]
    policy_years: set[int]
    invoices: InvoiceTotals

    @property
    def active_total(self) -> int:
        return sum(self.active_by_kind.values())

    @property
    def missing_income_group_count(self) -> int:
        return sum(1 for member in self.to_fix if member.missing_income_group)

    @property
    def missing_primary_contact_count(self) -> int:
        return sum(1 for member in self.to_fix if member.missing_primary_contact)


def active_members_by_kind() -> dict[MemberKind, int]:
    """How many active members of each kind, in one query."""
    counts = dict(
        db.session.execute(
            sa.select(Member.kind, sa.func.count(Member.id))
            .where(Member.status == MemberStatus.ACTIVE)
            .group_by(Member.kind)
        ).all()
    )
    return {kind: counts.get(kind, 0) for kind in MemberKind}


def members_to_fix(fiscal_year: int) -> list[MemberToFix]:
    """Active members that the annual run would stop at: no income group for the year (national members),
    or no primary billing contact. One query."""
    no_group = sa.and_(
        Member.kind == MemberKind.NATIONAL,
        ~sa.select(MemberIncomeGroup.id)
        .where(MemberIncomeGroup.member_id == Member.id, MemberIncomeGroup.fiscal_year == fiscal_year)
        .exists(),
    )
    no_primary = (
        ~sa.select(MemberContact.id)
        .where(MemberContact.member_id == Member.id, MemberContact.is_primary.is_(True))
        .exists()
    )
    rows = db.session.execute(
        sa.select(
            Member.id, Member.name, Member.kind, no_group.label("no_group"), no_primary.label("no_primary")
        )
        .where(Member.status == MemberStatus.ACTIVE, sa.or_(no_group, no_primary))
        .order_by(Member.name, Member.id)
    )
    return [MemberToFix(row.id, row.name, row.kind, bool(row.no_group), bool(row.no_primary)) for row in rows]


def invoice_totals(today: date) -> InvoiceTotals:
    """Open invoices: how many, what they still ask for per currency, and the overdue part. One query over
    the kept totals (a few rows per hub and due date, whatever the number of invoices)."""
    kept = OpenInvoiceTotal
    overdue = kept.due_on < today
    rows = db.session.execute(
        sa.select(
            kept.currency,
            sa.func.sum(kept.open_count),
            sa.func.sum(kept.outstanding_cents),
            sa.func.sum(sa.case((overdue, kept.open_count), else_=0)),
            sa.func.sum(sa.case((overdue, kept.outstanding_cents), else_=0)),
        )
        .where(kept.open_count > 0)
        .group_by(kept.currency)
        .order_by(kept.currency)
    ).all()
    return InvoiceTotals(
        open_count=sum(int(row[1]) for row in rows),
        outstanding={row[0]: from_cents(row[2]) for row in rows},
        overdue_count=sum(int(row[3] or 0) for row in rows),
        overdue={row[0]: from_cents(row[4]) for row in rows if row[3]},
    )


def overview(fiscal_year: int, today: date) -> Overview:
    """What operations need at a glance, in a constant number of queries."""
    policy_years = set(
        db.session.scalars(
            sa.select(ContributionPolicy.fiscal_year).where(
                ContributionPolicy.fiscal_year.in_([fiscal_year, fiscal_year + 1])
            )
        )
    )
    return Overview(
        fiscal_year=fiscal_year,
        active_by_kind=active_members_by_kind(),
        to_fix=members_to_fix(fiscal_year),
        policy_years=policy_years,
        invoices=invoice_totals(today),
    )
