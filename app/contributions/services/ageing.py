"""The ageing of open invoices: what was still owed on a date, by hub and currency, bucketed by days past due.

As of today (or any day on or after the latest dated record), it reads the kept totals: `open_invoice_totals`
has a few rows per due date, bucketed here in SQL by the day asked, and the list of invoices reads the open
invoices through their partial index, a page at a time. As of an earlier day, what was owed then is
recomputed from the records (allocations, credit notes and write-offs dated by then). Either way a constant
number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from ...common.time import today
from ...extensions import db
from ...hubs.models import Hub
from ..models import (
    ZERO,
    CreditNote,
    Invoice,
    InvoiceStatus,
    Member,
    Payment,
    PaymentAllocation,
    WriteOff,
)
from ..totals import OPEN_BY_DUE_ON, OPEN_INVOICE, OpenInvoiceTotal, from_cents

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
    #: Invoices per bucket.
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)


@dataclass
class AgeingReport:
    as_of: date
    rows: list[AgeingRow]
    #: Per currency, a row of bucket totals (hub_name "All hubs").
    totals: list[AgeingRow]
    #: Read from the kept totals (they describe `as_of`), rather than recomputed from the records: how it
    #: was made, not what it says (left out of comparisons, so that both ways give equal reports).
    from_totals: bool = field(default=False, compare=False)

    def listed_count(self, bucket: str | None = None) -> int:
        """How many invoices `aged_invoices_query` lists for this bucket (every overdue one when None), from
        the counts the report already has, so that the list needs no count query of its own."""
        keys = [bucket] if bucket in BUCKET_KEYS else [key for key in BUCKET_KEYS if key != "current"]
        return sum(row.counts.get(key, 0) for row in self.rows for key in keys)


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
    paid, credited, written_off = _settled_as_of(as_of)
    balance = Invoice.owed(
        Invoice.total,
        sa.func.coalesce(paid.c.amount, 0),
        sa.func.coalesce(credited.c.amount, 0),
        sa.func.coalesce(written_off.c.amount, 0),
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


def latest_record_day() -> date | None:
    """The latest day an invoice was issued or a payment, credit note or write-off dated: as of that day or
    later, what the records say was owed is what the kept totals say now. One query of index lookups."""
    days = db.session.execute(
        sa.select(
            sa.select(sa.func.max(Invoice.issued_on)).scalar_subquery(),
            sa.select(sa.func.max(Payment.received_on)).scalar_subquery(),
            sa.select(sa.func.max(CreditNote.issued_on)).scalar_subquery(),
            sa.select(sa.func.max(WriteOff.written_off_on)).scalar_subquery(),
        )
    ).one()
    known = [day for day in days if day is not None]
    return max(known) if known else None


def _read_from_totals(as_of: date) -> bool:
    latest = latest_record_day()
    return latest is None or latest <= as_of


def ageing_report(as_of: date | None = None, hub_id: int | None = None) -> AgeingReport:
    """Open invoices by hub and currency, bucketed by days past due as of a date, with totals per currency:
    from the kept totals when they describe that day, otherwise from the records."""
    as_of = as_of or today()
    if not _read_from_totals(as_of):
        return ageing_report_from_records(as_of, hub_id)
    kept = OpenInvoiceTotal
    buckets = [
        sa.func.coalesce(
            sa.func.sum(
                sa.case((_bucket_condition(key, kept.due_on, as_of), kept.outstanding_cents), else_=0)
            ),
            0,
        ).label(key)
        for key in BUCKET_KEYS
    ]
    counts = [
        sa.func.coalesce(
            sa.func.sum(sa.case((_bucket_condition(key, kept.due_on, as_of), kept.open_count), else_=0)), 0
        ).label(f"{key}_count")
        for key in BUCKET_KEYS
    ]
    query = (
        sa.select(
            kept.hub_id,
            Hub.name.label("hub_name"),
            kept.currency,
            sa.func.sum(kept.open_count).label("invoice_count"),
            *buckets,
            *counts,
        )  # fmt: skip
        .join(Hub, Hub.id == kept.hub_id)
        .where(kept.open_count > 0)
        .group_by(kept.hub_id, Hub.name, kept.currency)
        .order_by(Hub.name, kept.currency)
    )
    if hub_id:
        query = query.where(kept.hub_id == hub_id)
    rows = db.session.execute(query).all()
    return _report(
        as_of,
        [
            AgeingRow(
                row.hub_id,
                row.hub_name,
                row.currency,
                {key: from_cents(getattr(row, key)) for key in BUCKET_KEYS},
                int(row.invoice_count),
                {key: int(getattr(row, f"{key}_count")) for key in BUCKET_KEYS},
            )
            for row in rows
        ],
        from_totals=True,
    )


def ageing_report_from_records(as_of: date, hub_id: int | None = None) -> AgeingReport:
    """`ageing_report` recomputed from the records dated by `as_of`: for an earlier day, and for the test
    that proves both alike."""
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
    counts = [
        sa.func.coalesce(
            sa.func.sum(sa.case((_bucket_condition(key, open_invoices.c.due_on, as_of), 1), else_=0)), 0
        ).label(f"{key}_count")
        for key in BUCKET_KEYS
    ]
    rows = db.session.execute(
        sa.select(
            open_invoices.c.hub_id,
            open_invoices.c.hub_name,
            open_invoices.c.currency,
            sa.func.count().label("invoice_count"),
            *columns,
            *counts,
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
            {key: int(getattr(row, f"{key}_count")) for key in BUCKET_KEYS},
        )
        for row in rows
    ]
    return _report(as_of, report_rows)


def _report(as_of: date, report_rows: list[AgeingRow], from_totals: bool = False) -> AgeingReport:
    """The report of these rows, with their totals per currency."""
    totals: dict[str, AgeingRow] = {}
    for row in report_rows:
        total = totals.setdefault(
            row.currency, AgeingRow(None, "All hubs", row.currency, dict.fromkeys(BUCKET_KEYS, ZERO), 0)
        )
        total.invoice_count += row.invoice_count
        for key in BUCKET_KEYS:
            total.buckets[key] += row.buckets[key]
    return AgeingReport(as_of, report_rows, [totals[c] for c in sorted(totals)], from_totals)


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


def aged_invoices_query(
    as_of: date, hub_id: int | None = None, bucket: str | None = None, from_totals: bool | None = None
) -> sa.Select:
    """The invoices behind the ageing report as plain rows, most overdue first: those of one bucket, or every
    overdue one (not yet due left out) when no bucket is given. Paginate it, or read it in batches.

    When the kept totals describe `as_of`, the open invoices themselves, in due-date order through their
    partial index (a page reads only its rows); otherwise recomputed from the records. (`from_totals`: whether
    they do, when the report of the same day said so already; asked otherwise.)"""
    if from_totals is None:
        from_totals = _read_from_totals(as_of)
    if not from_totals:
        return aged_invoices_query_from_records(as_of, hub_id, bucket)
    query = (
        sa.select(
            Invoice.id.label("invoice_id"),
            Invoice.hub_id.label("hub_id"),
            Hub.name.label("hub_name"),
            Invoice.currency.label("currency"),
            Invoice.due_on.label("due_on"),
            Invoice.balance_due.label("balance"),
            Invoice.number,
            Member.id.label("member_id"),
            Member.name.label("member_name"),
        )
        .join(Hub, Hub.id == Invoice.hub_id)
        .join(Member, Member.id == Invoice.member_id)
        .where(OPEN_INVOICE, Invoice.balance_due > 0)
        .order_by(Invoice.due_on, Invoice.number, Invoice.id)
        # Without statistics SQLite prefers the status index and sorts every open invoice; this one is read
        # in order and stops at the page.
        .with_hint(Invoice.__table__, f"INDEXED BY {OPEN_BY_DUE_ON.name}", "sqlite")
    )
    if hub_id:
        query = query.where(Invoice.hub_id == hub_id)
    if bucket in BUCKET_KEYS:
        return query.where(_bucket_condition(bucket, Invoice.due_on, as_of))
    return query.where(Invoice.due_on <= as_of - timedelta(days=1))


def aged_invoices_query_from_records(
    as_of: date, hub_id: int | None = None, bucket: str | None = None
) -> sa.Select:
    """`aged_invoices_query` recomputed from the records dated by `as_of`."""
    open_invoices = _open_invoices_as_of(as_of, hub_id)
    query = (
        sa.select(
            open_invoices, Invoice.number, Member.id.label("member_id"), Member.name.label("member_name")
        )
        .join(Invoice, Invoice.id == open_invoices.c.invoice_id)
        .join(Member, Member.id == Invoice.member_id)
        .order_by(open_invoices.c.due_on, Invoice.number, Invoice.id)
    )
    if bucket in BUCKET_KEYS:
        return query.where(_bucket_condition(bucket, open_invoices.c.due_on, as_of))
    # Every overdue bucket: at least one day late.
    return query.where(open_invoices.c.due_on <= as_of - timedelta(days=1))


def aged_invoice(row, as_of: date) -> AgedInvoice:
    """One row of `aged_invoices_query` as the page lists it."""
    return AgedInvoice(
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


def aged_invoices(as_of: date | None = None, hub_id: int | None = None, bucket: str | None = None):
    """Every invoice of `aged_invoices_query` (one query; the page paginates instead)."""
    as_of = as_of or today()
    return [
        aged_invoice(row, as_of) for row in db.session.execute(aged_invoices_query(as_of, hub_id, bucket))
    ]


def ageing_csv_rows(report: AgeingReport):
    """The ageing summary's CSV lines: the date, the header, then one line per hub and currency and the
    totals."""
    yield ["As of", report.as_of.isoformat()]
    yield ["Hub", "Currency", "Invoices", *[BUCKET_LABELS[k] for k in BUCKET_KEYS], "Total"]
    for row in [*report.rows, *report.totals]:
        yield [
            row.hub_name,
            row.currency,
            row.invoice_count,
            *[row.buckets[k] for k in BUCKET_KEYS],
            row.total,
        ]
