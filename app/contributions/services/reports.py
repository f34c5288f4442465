"""Collection reports: the ageing of open invoices and the arrears matrix for the Steering Committee.

Both are computed with SQL aggregates in a constant number of queries, whatever the number of invoices.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from ...common.fiscal import current_fiscal_year
from ...common.money import quantize
from ...common.time import today
from ...extensions import db
from ..models import (
    ZERO,
    CreditNote,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Member,
    Payment,
    PaymentAllocation,
    WriteOff,
)
from .assessments import assess_members, billing_amount, format_rate, rate_label

# --- Ageing ------------------------------------------------------------------------------------------------

#: (key, label, lowest days past due, highest days past due or None)
BUCKETS = [
    ("current", "Current (not yet due)", None, 0),
    ("days_1_30", "1-30 days", 1, 30),
    ("days_31_60", "31-60 days", 31, 60),
    ("days_61_90", "61-90 days", 61, 90),
    ("over_90", "Over 90 days", 91, None),
]
BUCKET_KEYS = [key for key, *_ in BUCKETS]
BUCKET_LABELS = {key: label for key, label, *_ in BUCKETS}


@dataclass
class AgeingRow:
    hub_id: int | None
    hub_name: str
    currency: str
    buckets: dict[str, Decimal]
    invoice_count: int

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)


@dataclass
class AgeingReport:
    as_of: date
    rows: list[AgeingRow]
    #: Per currency, a row of bucket totals (hub_name "All hubs").
    totals: list[AgeingRow]


def _settled_as_of(as_of: date):
    """Per invoice: paid, credited and written off by the end of `as_of`, as three grouped subqueries
    (joined once, rather than three correlated subqueries evaluated for every invoice)."""
    paid = (
        sa.select(PaymentAllocation.invoice_id, sa.func.sum(PaymentAllocation.amount).label("amount"))
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(Payment.received_on <= as_of)
        .group_by(PaymentAllocation.invoice_id)
        .subquery("paid")
    )
    credited = (
        sa.select(CreditNote.invoice_id, sa.func.sum(CreditNote.amount).label("amount"))
        .where(CreditNote.issued_on <= as_of)
        .group_by(CreditNote.invoice_id)
        .subquery("credited")
    )
    written_off = (
        sa.select(WriteOff.invoice_id, sa.func.sum(WriteOff.amount).label("amount"))
        .where(WriteOff.written_off_on <= as_of)
        .group_by(WriteOff.invoice_id)
        .subquery("written_off")
    )
    return paid, credited, written_off


def _open_invoices_as_of(as_of: date, hub_id: int | None = None):
    """A subquery of the invoices issued by `as_of` that still owed something then, and how much."""
    from ...hubs.models import Hub

    paid, credited, written_off = _settled_as_of(as_of)
    balance = (
        Invoice.total
        - sa.func.coalesce(paid.c.amount, 0)
        - sa.func.coalesce(credited.c.amount, 0)
        - sa.func.coalesce(written_off.c.amount, 0)
    ).label("balance")
    query = (
        sa.select(
            Invoice.id.label("invoice_id"),
            Invoice.hub_id.label("hub_id"),
            Hub.name.label("hub_name"),
            Invoice.currency.label("currency"),
            Invoice.due_on.label("due_on"),
            balance,
        )
        .join(Hub, Hub.id == Invoice.hub_id)
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .outerjoin(credited, credited.c.invoice_id == Invoice.id)
        .outerjoin(written_off, written_off.c.invoice_id == Invoice.id)
        .where(Invoice.status != InvoiceStatus.DRAFT, Invoice.issued_on <= as_of)
    )
    if hub_id:
        query = query.where(Invoice.hub_id == hub_id)
    inner = query.subquery()
    return sa.select(inner).where(inner.c.balance > 0).subquery()


def _bucket_condition(key: str, due_on, as_of: date):
    """Days past due = as_of - due_on, compared through dates so that it works on SQLite and PostgreSQL."""
    for bucket_key, _label, low, high in BUCKETS:
        if bucket_key != key:
            continue
        conditions = []
        if low is not None:  # at least `low` days late: due on or before as_of - low
            conditions.append(due_on <= as_of - timedelta(days=low))
        if high is not None:  # at most `high` days late: due on or after as_of - high
            conditions.append(due_on >= as_of - timedelta(days=high))
        return sa.and_(*conditions)
    raise KeyError(key)


def bucket_of(due_on: date, as_of: date) -> str:
    """The bucket key for an invoice due on `due_on` (the Python twin of `_bucket_condition`, for lists)."""
    late = (as_of - due_on).days
    for key, _label, low, high in BUCKETS:
        if (low is None or late >= low) and (high is None or late <= high):
            return key
    raise ValueError(late)


def ageing_report(as_of: date | None = None, hub_id: int | None = None) -> AgeingReport:
    """Open invoices by hub and currency, bucketed by days past due as of a date, with totals per currency."""
    as_of = as_of or today()
    open_invoices = _open_invoices_as_of(as_of, hub_id)
    columns = [
        sa.func.coalesce(
            sa.func.sum(
                sa.case(
                    (_bucket_condition(key, open_invoices.c.due_on, as_of), open_invoices.c.balance), else_=0
                )
            ),
            0,
        ).label(key)
        for key in BUCKET_KEYS
    ]
    rows = db.session.execute(
        sa.select(
            open_invoices.c.hub_id,
            open_invoices.c.hub_name,
            open_invoices.c.currency,
            sa.func.count().label("invoice_count"),
            *columns,
        )
        .group_by(open_invoices.c.hub_id, open_invoices.c.hub_name, open_invoices.c.currency)
        .order_by(open_invoices.c.hub_name, open_invoices.c.currency)
    ).all()
    report_rows = [
        AgeingRow(
            row.hub_id,
            row.hub_name,
            row.currency,
            {key: Decimal(getattr(row, key)).quantize(Decimal("0.01")) for key in BUCKET_KEYS},
            row.invoice_count,
        )
        for row in rows
    ]
    totals: dict[str, AgeingRow] = {}
    for row in report_rows:
        total = totals.setdefault(
            row.currency, AgeingRow(None, "All hubs", row.currency, dict.fromkeys(BUCKET_KEYS, ZERO), 0)
        )
        total.invoice_count += row.invoice_count
        for key in BUCKET_KEYS:
            total.buckets[key] += row.buckets[key]
    return AgeingReport(as_of, report_rows, [totals[c] for c in sorted(totals)])


@dataclass
class AgedInvoice:
    invoice_id: int
    number: str
    member_name: str
    member_id: int
    hub_name: str
    currency: str
    due_on: date
    balance: Decimal
    days_past_due: int
    bucket: str


def aged_invoices(as_of: date | None = None, hub_id: int | None = None, bucket: str | None = None):
    """The invoices behind the ageing report, most overdue first (one query)."""
    as_of = as_of or today()
    open_invoices = _open_invoices_as_of(as_of, hub_id)
    query = (
        sa.select(
            open_invoices, Invoice.number, Member.id.label("member_id"), Member.name.label("member_name")
        )
        .join(Invoice, Invoice.id == open_invoices.c.invoice_id)
        .join(Member, Member.id == Invoice.member_id)
        .order_by(open_invoices.c.due_on, Invoice.number)
    )
    if bucket in BUCKET_KEYS:
        query = query.where(_bucket_condition(bucket, open_invoices.c.due_on, as_of))
    return [
        AgedInvoice(
            row.invoice_id,
            row.number,
            row.member_name,
            row.member_id,
            row.hub_name,
            row.currency,
            row.due_on,
            Decimal(row.balance).quantize(Decimal("0.01")),
            (as_of - row.due_on).days,
            bucket_of(row.due_on, as_of),
        )
        for row in db.session.execute(query)
    ]


def ageing_csv(report: AgeingReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["As of", report.as_of.isoformat()])
    writer.writerow(["Hub", "Currency", "Invoices", *[BUCKET_LABELS[k] for k in BUCKET_KEYS], "Total"])
    for row in [*report.rows, *report.totals]:
        writer.writerow(
            [row.hub_name, row.currency, row.invoice_count, *[row.buckets[k] for k in BUCKET_KEYS], row.total]
        )
    return out.getvalue()


# --- Arrears -----------------------------------------------------------------------------------------------


@dataclass
class YearCell:
    """One member's contribution for one fiscal year. Invoice figures are per currency.

    `assessed` is in the currency the member is billed in, so that it compares with `invoiced`: for a year
    invoiced from an assessment, converted at the rate that invoice keeps; otherwise at the policy's budget
    rate for the year. `policy_assessed` is the same figure in the policy's currency, before conversion."""

    fiscal_year: int
    #: In `assessed_currency`, the billing currency; None when it cannot be computed (see `assessed_problem`).
    assessed: Decimal | None = None
    assessed_currency: str | None = None
    #: In `policy_currency`, before any conversion.
    policy_assessed: Decimal | None = None
    policy_currency: str | None = None
    #: Units of `assessed_currency` per one unit of `policy_currency`; None when no conversion.
    exchange_rate: Decimal | None = None
    #: "invoice" when the rate is the one an issued invoice keeps, "policy" when it is the year's budget rate.
    rate_source: str | None = None
    assessed_problem: str | None = None
    waived: bool = False
    waived_amount: Decimal | None = None
    invoiced: dict[str, Decimal] = field(default_factory=dict)
    paid: dict[str, Decimal] = field(default_factory=dict)
    credited: dict[str, Decimal] = field(default_factory=dict)
    written_off: dict[str, Decimal] = field(default_factory=dict)
    outstanding: dict[str, Decimal] = field(default_factory=dict)

    @property
    def unpaid(self) -> bool:
        """Something invoiced for this year is still outstanding."""
        return any(amount > ZERO for amount in self.outstanding.values())

    @property
    def currencies(self) -> list[str]:
        return sorted(self.invoiced)

    @property
    def invoiced_anything(self) -> bool:
        return bool(self.invoiced)

    @property
    def converted(self) -> bool:
        return self.exchange_rate is not None

    @property
    def rate_text(self) -> str:
        """The rate alone, `0.9200`, or empty when the assessment was not converted."""
        return format_rate(self.exchange_rate) if self.exchange_rate is not None else ""

    @property
    def rate_label(self) -> str:
        """`1 USD = 0.9200 EUR`, or empty when the assessment was not converted."""
        if self.exchange_rate is None:
            return ""
        return rate_label(self.policy_currency, self.exchange_rate, self.assessed_currency)


@dataclass
class ArrearsRow:
    member: Member
    cells: list[YearCell]

    @property
    def consecutive_unpaid(self) -> int:
        """The longest run of consecutive unpaid years in the range."""
        best = run = 0
        for cell in self.cells:
            run = run + 1 if cell.unpaid else 0
            best = max(best, run)
        return best

    @property
    def flagged(self) -> bool:
        return self.consecutive_unpaid >= 2

    @property
    def outstanding(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for cell in self.cells:
            for currency, amount in cell.outstanding.items():
                totals[currency] += amount
        return {c: a for c, a in sorted(totals.items()) if a}


@dataclass
class ArrearsReport:
    first_year: int
    last_year: int
    rows: list[ArrearsRow]

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))

    def totals(self) -> dict[int, dict[str, Decimal]]:
        """Outstanding per year and currency over the rows shown."""
        result: dict[int, dict[str, Decimal]] = {year: defaultdict(lambda: ZERO) for year in self.years}
        for row in self.rows:
            for cell in row.cells:
                for currency, amount in cell.outstanding.items():
                    result[cell.fiscal_year][currency] += amount
        return {year: dict(sorted(values.items())) for year, values in result.items()}

    def assessed_totals(self) -> dict[int, dict[str, Decimal]]:
        """Assessed per year and billing currency over the rows shown (waivers count as nothing)."""
        result: dict[int, dict[str, Decimal]] = {year: defaultdict(lambda: ZERO) for year in self.years}
        for row in self.rows:
            for cell in row.cells:
                if cell.assessed is not None and cell.assessed_currency and not cell.waived:
                    result[cell.fiscal_year][cell.assessed_currency] += cell.assessed
        return {
            year: {currency: amount for currency, amount in sorted(values.items()) if amount}
            for year, values in result.items()
        }


def default_year_range() -> tuple[int, int]:
    """The last four fiscal years, the current one included."""
    current = current_fiscal_year()
    return current - 3, current


def arrears_report(
    first_year: int | None = None, last_year: int | None = None, hub_id: int | None = None, only_flagged=False
) -> ArrearsReport:
    """Members by fiscal year: assessed, invoiced, paid, waived and outstanding, flagging two or more
    consecutive unpaid years. Queries: members, one aggregate over invoices, three a year for assessments."""
    default_first, default_last = default_year_range()
    first_year = first_year or default_first
    last_year = last_year or default_last
    if first_year > last_year:
        first_year, last_year = last_year, first_year
    members_query = sa.select(Member).order_by(Member.name)
    if hub_id:
        members_query = members_query.where(Member.hub_id == hub_id)
    members = db.session.scalars(members_query).all()
    member_ids = [member.id for member in members]

    balance = Invoice.total - Invoice.amount_paid - Invoice.amount_credited - Invoice.amount_written_off
    invoice_rows = db.session.execute(
        sa.select(
            Invoice.member_id,
            Invoice.fiscal_year,
            Invoice.currency,
            sa.func.sum(Invoice.total),
            sa.func.sum(Invoice.amount_paid),
            sa.func.sum(Invoice.amount_credited),
            sa.func.sum(Invoice.amount_written_off),
            sa.func.sum(balance),
        )
        .where(
            Invoice.status != InvoiceStatus.DRAFT,
            Invoice.fiscal_year.between(first_year, last_year),
            Invoice.member_id.in_(member_ids),
        )
        .group_by(Invoice.member_id, Invoice.fiscal_year, Invoice.currency)
    ).all()
    cells: dict[tuple[int, int], YearCell] = {
        (member.id, year): YearCell(year) for member in members for year in range(first_year, last_year + 1)
    }
    for member_id, year, currency, total, paid, credited, written_off, outstanding in invoice_rows:
        cell = cells[(member_id, year)]
        cell.invoiced[currency] = _money(total)
        cell.paid[currency] = _money(paid)
        cell.credited[currency] = _money(credited)
        cell.written_off[currency] = _money(written_off)
        cell.outstanding[currency] = _money(outstanding)
    conversions = _invoiced_conversions(member_ids, first_year, last_year)
    for year in range(first_year, last_year + 1):
        for assessment in assess_members(members, year):
            cell = cells[(assessment.member.id, year)]
            _set_assessed(cell, assessment, conversions.get((assessment.member.id, year)))
            cell.waived = assessment.waived
            cell.waived_amount = assessment.policy_amount if assessment.waived else None
    rows = [
        ArrearsRow(member, [cells[(member.id, year)] for year in range(first_year, last_year + 1)])
        for member in members
    ]
    if only_flagged:
        rows = [row for row in rows if row.flagged]
    return ArrearsReport(first_year, last_year, rows)


def _invoiced_conversions(member_ids, first_year: int, last_year: int) -> dict[tuple[int, int], tuple]:
    """(member, year) -> (currency, assessed amount, assessed currency, rate) of the year's issued annual
    invoice (the latest, when a credited one was replaced); the last three are None when it was not made from
    an assessment. One query."""
    rows = db.session.execute(
        sa.select(
            Invoice.member_id,
            Invoice.fiscal_year,
            Invoice.currency,
            Invoice.assessed_amount,
            Invoice.assessed_currency,
            Invoice.exchange_rate,
        )
        .where(
            Invoice.kind == InvoiceKind.ANNUAL_CONTRIBUTION,
            Invoice.status.not_in([InvoiceStatus.DRAFT, InvoiceStatus.CREDITED]),
            Invoice.fiscal_year.between(first_year, last_year),
            Invoice.member_id.in_(member_ids),
        )
        .order_by(Invoice.id)
    )
    return {
        (row.member_id, row.fiscal_year): (
            row.currency,
            row.assessed_amount,
            row.assessed_currency,
            row.exchange_rate,
        )
        for row in rows
    }


def _set_assessed(cell: YearCell, assessment, annual_invoice: tuple | None) -> None:
    """The year's assessment in the billing currency: as the issued annual invoice assessed and converted
    it, or else at the policy's budget rate into the currency billed (the invoice's, or the member's hub's
    for a year not invoiced yet). A missing rate leaves it in the policy's currency, with the problem."""
    cell.policy_assessed = assessment.amount
    cell.policy_currency = assessment.currency
    if assessment.amount is None:
        cell.assessed_problem = assessment.problem
        return
    billed_in = None
    if annual_invoice is not None:
        billed_in, assessed_amount, assessed_currency, rate = annual_invoice
        if assessed_amount is not None and assessed_currency == assessment.currency:
            # What the invoice assessed, at the rate it was issued with: the figure it actually billed.
            cell.policy_assessed = assessed_amount
            cell.assessed_currency = billed_in
            cell.exchange_rate = rate
            cell.rate_source = "invoice" if rate is not None else None
            cell.assessed = assessed_amount if rate is None else quantize(assessed_amount * rate, billed_in)
            return
    billing = billing_amount(assessment, currency=billed_in)
    cell.assessed_currency = billing.currency
    cell.assessed = billing.amount
    cell.exchange_rate = billing.exchange_rate
    cell.rate_source = "policy" if billing.exchange_rate is not None else None
    if billing.problem:
        cell.assessed_problem = billing.problem


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


ARREARS_COLUMNS = [
    "Member",
    "Country",
    "Hub",
    "Fiscal year",
    "Assessed",
    "Assessed currency",
    "Assessed in policy currency",
    "Policy currency",
    "Exchange rate",
    "Waived",
    "Invoice currency",
    "Invoiced",
    "Paid",
    "Credited",
    "Written off",
    "Outstanding",
    "Unpaid year",
    "Consecutive unpaid years",
    "Flagged",
]


def arrears_records(report: ArrearsReport) -> list[list]:
    """One row per member, fiscal year and invoice currency, for CSV and XLSX."""
    records = []
    for row in report.rows:
        for cell in row.cells:
            currencies = cell.currencies or [None]
            for currency in currencies:
                records.append(
                    [
                        row.member.name,
                        row.member.country_code,
                        row.member.hub.name if row.member.hub else "",
                        cell.fiscal_year,
                        cell.assessed,
                        cell.assessed_currency or "",
                        cell.policy_assessed,
                        cell.policy_currency or "",
                        _plain_rate(cell.exchange_rate),
                        "yes" if cell.waived else "no",
                        currency or "",
                        cell.invoiced.get(currency, ZERO) if currency else ZERO,
                        cell.paid.get(currency, ZERO) if currency else ZERO,
                        cell.credited.get(currency, ZERO) if currency else ZERO,
                        cell.written_off.get(currency, ZERO) if currency else ZERO,
                        cell.outstanding.get(currency, ZERO) if currency else ZERO,
                        "yes" if cell.unpaid else "no",
                        row.consecutive_unpaid,
                        "yes" if row.flagged else "no",
                    ]
                )
    return records


def _plain_rate(rate: Decimal | None) -> Decimal | None:
    """0.92000000 as 0.92 (and 10.00000000 as 10, not 1E+1)."""
    return None if rate is None else Decimal(f"{rate.normalize():f}")


def arrears_csv(report: ArrearsReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ARREARS_COLUMNS)
    for record in arrears_records(report):
        writer.writerow(["" if value is None else value for value in record])
    return out.getvalue()


def arrears_xlsx(report: ArrearsReport) -> bytes:
    """The arrears as a spreadsheet: bold frozen header, number formats on amounts, filters, widths."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"Arrears FY{report.first_year}-FY{report.last_year}"
    sheet.append(ARREARS_COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE7F0")
    money_columns = {
        ARREARS_COLUMNS.index(name) + 1
        for name in ("Assessed", "Assessed in policy currency", "Invoiced", "Paid", "Credited")
    }
    money_columns |= {ARREARS_COLUMNS.index(name) + 1 for name in ("Written off", "Outstanding")}
    for record in arrears_records(report):
        sheet.append(record)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if cell.column in money_columns:
                cell.number_format = "#,##0.00"
            elif cell.column == ARREARS_COLUMNS.index("Fiscal year") + 1:
                cell.number_format = "0"
            elif cell.column == ARREARS_COLUMNS.index("Exchange rate") + 1:
                cell.number_format = "0.0000####"
    widths = {"Member": 32, "Hub": 20}
    for index, name in enumerate(ARREARS_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = widths.get(name, max(12, len(name) + 2))
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = sheet.dimensions
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
