"""Time every main page on a large data set: median and p95, SQL queries per request, export memory.

    .venv/bin/python -m bench.pages [--postgres] [--members 2000] [--invoices 40000] [--runs 7]
                                    [--page TEXT ...] [--keep]

Builds a throwaway SQLite file database in /tmp (and, with --postgres, also the PostgreSQL database
`test_hubs`, whose tables are dropped and recreated) with bulk inserts, not through the services and without
rendering PDFs (every stored PDF is a small constant with a fake SHA-256):

- two hubs (Washington DC in USD, Brussels in EUR, with a setup checklist) and ten users;
- `--members` members: every ISO country once as a national member, the rest local governments; one or two
  billing contacts each, income groups for four fiscal years, contribution policies for those years and the
  next, a few adjustments;
- `--invoices` invoices over four fiscal years and both hubs (an annual contribution per member and year, the
  rest "other" invoices), mostly issued, with one to three lines, due dates in the past and the future, and
  statuses that follow from their payments, credit notes and write-offs; one member has several hundred;
- payments (three for every four invoices) with their allocations, a little credit on account;
- a few thousand invoice events, credit notes and sent messages, some Stripe events, one finished annual run,
  and 100,000 audit entries.

Then a Flask test client signed in as an operations user (an admin for the audit log) requests each page
once to warm up and `--runs` times more, and the table gives the median and 95th percentile in milliseconds,
the SQL queries per request (a `before_cursor_execute` listener; transaction statements not counted) and,
for exports, the peak Python memory of one request (tracemalloc) and the size of the file. Timings are
figures to compare, not limits: nothing here fails because a page is slow. Rows marked * took over
300 ms (median). `--page` times only the pages whose label contains TEXT (repeat it for several pages);
`--keep` keeps the data for EXPLAIN.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import tempfile
import time
import tracemalloc
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_hubs"
AUDIT_ENTRIES = 100_000
CHUNK = 5_000
#: Stop repeating a page once this many seconds were spent on it (after at least three timed requests).
PAGE_TIME_BUDGET = 12.0
FAKE_PDF = b"%PDF-1.7\n% bench placeholder, not rendered\n%%EOF\n"
FAKE_SHA256 = hashlib.sha256(FAKE_PDF).hexdigest()
CENT = Decimal("0.01")
#: Set by --keep: leave the PostgreSQL tables (and the SQLite file) for EXPLAIN after the run.
KEEP_DATA = False
#: Removed when the process ends.
OUTBOX = tempfile.TemporaryDirectory(prefix="bench-pages-outbox-")

# --- The data set ------------------------------------------------------------------------------------------


@dataclass
class DataSet:
    """What the build made, and the ids the page list needs."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    operations_id: int = 0
    admin_id: int = 0
    busy_member_id: int = 0
    busy_member_invoices: int = 0
    invoice_id: int = 0
    invoice_number: str = ""
    payment_id: int = 0
    brussels_id: int = 0
    fiscal_years: list[int] = field(default_factory=list)


def _insert(connection, model, rows: list[dict], counts: dict[str, int]) -> None:
    """Insert many rows at once; a key a row leaves out takes the column's default (executemany needs all)."""
    table = model.__table__
    keys = set().union(*rows) if rows else set()
    for key in keys:
        default = table.c[key].default
        if default is None:
            value = None
        elif default.is_callable:
            value = default.arg(None)
        else:
            value = default.arg
        for row in rows:
            row.setdefault(key, value)
    for start in range(0, len(rows), CHUNK):
        connection.execute(table.insert(), rows[start : start + CHUNK])
    counts[table.name] = counts.get(table.name, 0) + len(rows)


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT)


def _moment(day: date, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, 8 + rng.randrange(10), rng.randrange(60), tzinfo=UTC)


def build_dataset(member_count: int, invoice_count: int, seed: int = 20261128) -> DataSet:
    """Fill the (empty) database with bulk inserts; returns the row counts and the ids pages need."""
    import pycountry

    from app.auth.models import User
    from app.auth.permissions import Role
    from app.common.audit import AuditEntry
    from app.common.fiscal import current_fiscal_year, fiscal_year
    from app.common.mail import MailMessage, MailStatus
    from app.common.time import today
    from app.contributions.models import (
        AdjustmentKind,
        AnnualRun,
        AnnualRunStatus,
        ContributionAdjustment,
        ContributionMessage,
        ContributionPolicy,
        CreditNote,
        DocumentSequence,
        IncomeGroup,
        Invoice,
        InvoiceEvent,
        InvoiceEventKind,
        InvoiceKind,
        InvoiceLine,
        InvoiceStatus,
        Language,
        Member,
        MemberContact,
        MemberIncomeGroup,
        MemberKind,
        MemberStatus,
        MessageKind,
        Payment,
        PaymentAllocation,
        PaymentMethod,
        StripeEvent,
        StripeEventStatus,
        WriteOff,
    )
    from app.extensions import db
    from app.hubs.models import (
        ChecklistItemStatus,
        ChecklistTemplate,
        ChecklistTemplateItem,
        Hub,
        HubChecklist,
        HubChecklistItem,
        HubKind,
        HubStatus,
    )

    started = time.perf_counter()
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    data = DataSet()
    now = datetime.now(UTC)
    current = current_fiscal_year()
    day_today = today()
    years = list(range(current - 3, current + 1))
    data.fiscal_years = years

    with db.engine.begin() as connection:
        # Hubs, users, a checklist.
        hubs = [
            dict(
                id=1,
                name="Washington DC headquarters",
                kind=HubKind.HEADQUARTERS,
                status=HubStatus.OPEN,
                is_default_issuer=True,
                legal_name="Tributary Alliance Inc.",
                street_address="1100 13th Street NW",
                city="Washington, DC",
                postal_code="20005",
                country_code="US",
                registration_number="12-3456789",
                base_currency="USD",
                bank_name="Demo Bank",
                account_number="000123456789",
                routing_number="021000021",
                invoice_prefix="HQ",
                payment_terms_days=30,
                tax_statement={"en": "Tax-exempt under section 501(c)(3)"},
                legal_mentions={},
                created_at=now,
            ),
            dict(
                id=2,
                name="Brussels hub",
                kind=HubKind.HUB_OFFICE,
                status=HubStatus.OPEN,
                is_default_issuer=False,
                legal_name="Tributary Alliance Europe AISBL",
                street_address="Rue de la Loi 42",
                city="Bruxelles",
                postal_code="1000",
                country_code="BE",
                registration_number="0403.170.701",
                vat_number="BE0403170701",
                base_currency="EUR",
                bank_name="Belfius Bank",
                iban="BE71096123456769",
                bic="GKCCBEBB",
                invoice_prefix="BE",
                payment_terms_days=30,
                tax_statement={"en": "VAT exempt, art. 44", "fr": "Exonéré de TVA, art. 44"},
                legal_mentions={"en": "Association internationale sans but lucratif"},
                created_at=now,
            ),
        ]
        _insert(connection, Hub, hubs, counts)
        hub_currency = {1: "USD", 2: "EUR"}
        hub_prefix = {1: "HQ", 2: "BE"}
        data.brussels_id = 2
        roles = [Role.OPERATIONS, Role.ADMIN, Role.OPERATIONS, Role.FUNDRAISING, Role.BOARD]
        users = [
            dict(
                id=index + 1,
                email=f"bench{index + 1}@example.org",
                full_name=f"Bench User {index + 1:02d}",
                role=roles[index % len(roles)],
                password_hash="not-a-login",
                is_active_account=True,
                failed_login_count=0,
                created_at=now,
            )
            for index in range(10)
        ]
        _insert(connection, User, users, counts)
        data.operations_id, data.admin_id = 1, 2
        user_ids = [user["id"] for user in users]
        steps = [
            "Legal registration",
            "Bank account",
            "Lease",
            "Payroll provider",
            "Insurance",
            "Data-protection registration",
            "Board approval",
            "Accounting software",
            "VAT registration",
            "Employment contracts",
            "Website legal notice",
            "Audit firm",
        ]
        _insert(connection, ChecklistTemplate, [dict(id=1, name="Hub office", created_at=now)], counts)
        _insert(
            connection,
            ChecklistTemplateItem,
            [
                dict(
                    id=i + 1, template_id=1, position=i + 1, description=step, default_owner_role="Operations"
                )
                for i, step in enumerate(steps)
            ],
            counts,
        )
        _insert(
            connection,
            HubChecklist,
            [dict(id=1, hub_id=2, source_template_id=1, source_template_name="Hub office", created_at=now)],
            counts,
        )
        _insert(
            connection,
            HubChecklistItem,
            [
                dict(
                    id=i + 1,
                    checklist_id=1,
                    position=i + 1,
                    description=step,
                    owner_role="Operations",
                    owner_id=user_ids[i % len(user_ids)],
                    due_on=day_today + timedelta(days=20 * i - 100),
                    status=ChecklistItemStatus.DONE if i < 7 else ChecklistItemStatus.TO_DO,
                    completed_on=day_today - timedelta(days=100 - 10 * i) if i < 7 else None,
                    notes="",
                )
                for i, step in enumerate(steps)
            ],
            counts,
        )

        # Members, contacts, income groups, policies, adjustments.
        countries = sorted(country.alpha_2 for country in pycountry.countries)
        country_names = {country.alpha_2: country.name for country in pycountry.countries}
        groups = list(IncomeGroup)
        languages = list(Language)
        members, contacts, income_groups = [], [], []
        member_info = {}  # id -> (kind, hub_id, language, group per year)
        for index in range(member_count):
            member_id = index + 1
            national = index < len(countries)
            country = countries[index % len(countries)]
            hub_id = 2 if index % 3 == 0 else 1
            language = languages[index % 3]
            name = country_names[country] if national else f"City of {country} {index:05d}"
            members.append(
                dict(
                    id=member_id,
                    kind=MemberKind.NATIONAL if national else MemberKind.LOCAL,
                    name=name,
                    country_code=country,
                    joined_on=date(2010 + index % 12, 1 + index % 12, 1),
                    status=MemberStatus.SUSPENDED
                    if index % 97 == 13
                    else MemberStatus.INACTIVE
                    if index % 89 == 11
                    else MemberStatus.ACTIVE,
                    language=language,
                    hub_id=hub_id,
                    budget_year_start_month=1 + index % 12,
                    budget_lead_days=90,
                    billing_address=f"Ministry of Finance\n{index} Main Street\nCapital",
                    notes="",
                    created_at=now,
                )
            )
            for number in range(1 + (index % 4 == 0)):
                contacts.append(
                    dict(
                        member_id=member_id,
                        name=f"Contact {index}-{number}",
                        title="Director of budget",
                        office="Ministry of Finance",
                        email=f"finance{index}.{number}@gov.example",
                        phone="+1 555 0100",
                        is_primary=number == 0,
                    )
                )
            member_groups = {}
            if national:
                for year in [*years, current + 1]:
                    group = groups[(index + (year % 3 == 0)) % len(groups)]
                    member_groups[year] = group
                    income_groups.append(dict(member_id=member_id, fiscal_year=year, income_group=group))
            member_info[member_id] = (national, hub_id, language, member_groups, name, country)
        _insert(connection, Member, members, counts)
        _insert(connection, MemberContact, contacts, counts)
        _insert(connection, MemberIncomeGroup, income_groups, counts)
        policy_amounts = {
            IncomeGroup.HIGH: Decimal("50000.00"),
            IncomeGroup.UPPER_MIDDLE: Decimal("25000.00"),
            IncomeGroup.LOWER_MIDDLE: Decimal("10000.00"),
            IncomeGroup.LOW: Decimal("5000.00"),
        }
        local_amount = Decimal("2500.00")
        _insert(
            connection,
            ContributionPolicy,
            [
                dict(
                    fiscal_year=year,
                    currency="USD",
                    high_amount=policy_amounts[IncomeGroup.HIGH],
                    upper_middle_amount=policy_amounts[IncomeGroup.UPPER_MIDDLE],
                    lower_middle_amount=policy_amounts[IncomeGroup.LOWER_MIDDLE],
                    low_amount=policy_amounts[IncomeGroup.LOW],
                    local_amount=local_amount,
                    notes="",
                )
                for year in [*years, current + 1]
            ],
            counts,
        )
        _insert(
            connection,
            ContributionAdjustment,
            [
                dict(
                    member_id=member_id,
                    fiscal_year=current + 1,
                    kind=AdjustmentKind.WAIVER if member_id % 2 else AdjustmentKind.AMOUNT,
                    amount=None if member_id % 2 else Decimal("1200.00"),
                    reason="Natural disaster" if member_id % 2 else "Currency crisis",
                    approval_reference=f"SC-{current}-{member_id:03d}",
                    created_at=now,
                )
                for member_id in range(5, member_count + 1, 97)
            ],
            counts,
        )

        # Invoices: one annual contribution per member and year, the rest "other" invoices.
        busy_member = 1
        data.busy_member_id = busy_member
        planned = []  # (member_id, fiscal_year, kind)
        for year in years:
            for member_id in range(1, member_count + 1):
                if len(planned) < invoice_count:
                    planned.append((member_id, year, InvoiceKind.ANNUAL_CONTRIBUTION))
        while len(planned) < invoice_count:
            member_id = busy_member if len(planned) % 100 == 0 else rng.randrange(1, member_count + 1)
            planned.append((member_id, rng.choice(years), InvoiceKind.OTHER))

        status_weights = {  # by years before the current one: paid, partial, issued, credited, written off
            3: (85, 3, 5, 4, 3),
            2: (75, 7, 12, 3, 3),
            1: (60, 12, 22, 3, 3),
            0: (30, 15, 50, 3, 2),
        }
        settled = [
            InvoiceStatus.PAID,
            InvoiceStatus.PARTIALLY_PAID,
            InvoiceStatus.ISSUED,
            InvoiceStatus.CREDITED,
            InvoiceStatus.WRITTEN_OFF,
        ]
        lines = []
        invoice_rows = []  # dicts, numbered below in issue-date order
        for invoice_id, (member_id, year, kind) in enumerate(planned, start=1):
            national, hub_id, language, member_groups, name, country = member_info[member_id]
            draft = year == current and rng.random() < 0.03
            if kind == InvoiceKind.ANNUAL_CONTRIBUTION:
                amount = policy_amounts[member_groups[year]] if national else local_amount
                issued_on = (
                    fiscal_year(year).starts_on - timedelta(days=45) + timedelta(days=rng.randrange(120))
                )
                descriptions = [(f"Annual contribution, fiscal year {year}", amount)]
            else:
                fy = fiscal_year(year)
                issued_on = fy.starts_on + timedelta(days=rng.randrange((fy.ends_on - fy.starts_on).days))
                descriptions = [
                    (
                        f"Technical assistance, phase {part + 1}",
                        _money(rng.randrange(50_000, 2_000_000) / 100),
                    )
                    for part in range(1 + rng.randrange(3))
                ]
            issued_on = min(issued_on, day_today)
            status = InvoiceStatus.DRAFT
            if not draft:
                status = rng.choices(settled, weights=status_weights[min(current - year, 3)])[0]
            total = sum((line_amount for _, line_amount in descriptions), Decimal("0.00"))
            row = dict(
                id=invoice_id,
                number=None,
                kind=kind,
                status=status,
                hub_id=hub_id,
                member_id=member_id,
                fiscal_year=year,
                currency=hub_currency[hub_id],
                language=language,
                issued_on=None if draft else issued_on,
                due_on=None if draft else issued_on + timedelta(days=30),
                bill_to={
                    "name": name,
                    "address": f"Ministry of Finance\n{member_id} Main Street\nCapital",
                    "country_code": country,
                    "contact_name": f"Contact {member_id - 1}-0",
                    "contact_title": "Director of budget",
                    "office": "Ministry of Finance",
                    "email": f"finance{member_id - 1}.0@gov.example",
                },
                notes="",
                subtotal=total,
                tax_total=Decimal("0.00"),
                total=total,
                amount_paid=Decimal("0.00"),
                amount_credited=Decimal("0.00"),
                amount_written_off=Decimal("0.00"),
                online_payment_note="",
                pdf_bytes=None if draft else FAKE_PDF,
                pdf_sha256=None if draft else FAKE_SHA256,
                issued_at=None if draft else _moment(issued_on, rng),
                issued_by_id=None if draft else data.operations_id,
                created_by_id=data.operations_id,
                created_at=_moment(issued_on, rng),
                annual_run_id=1 if kind == InvoiceKind.ANNUAL_CONTRIBUTION and year == current else None,
            )
            invoice_rows.append(row)
            for position, (description, line_amount) in enumerate(descriptions, start=1):
                lines.append(
                    dict(
                        invoice_id=invoice_id,
                        position=position,
                        description=description,
                        quantity=Decimal("1.00"),
                        unit_amount=line_amount,
                        amount=line_amount,
                        tax_rate=None,
                        tax_amount=Decimal("0.00"),
                    )
                )
        # Numbers rise with issue dates, per hub and fiscal year, without gaps.
        sequences = defaultdict(int)
        for row in sorted(
            (row for row in invoice_rows if row["status"] != InvoiceStatus.DRAFT),
            key=lambda row: (row["issued_on"], row["id"]),
        ):
            key = (row["hub_id"], row["fiscal_year"])
            sequences[key] += 1
            row["number"] = f"{hub_prefix[row['hub_id']]}-{row['fiscal_year']}-{sequences[key]:04d}"

        # Payments, allocations, credit notes, write-offs: the settled amounts follow from them.
        payments, allocations, credit_notes, write_offs = [], [], [], []
        credit_sequences = defaultdict(int)
        payment_target = invoice_count * 3 // 4
        paid_rows = [
            row for row in invoice_rows if row["status"] in (InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID)
        ]
        split = set()
        spare = payment_target - len(paid_rows) - payment_target // 50  # 2% are credit on account
        for row in rng.sample(paid_rows, max(0, min(spare, len(paid_rows)))):
            split.add(row["id"])
        methods = [PaymentMethod.WIRE] * 6 + [PaymentMethod.CHEQUE, PaymentMethod.STRIPE_CARD]

        def add_payment(member_id, currency, amount, received_on, invoice_row=None):
            payment_id = len(payments) + 1
            payments.append(
                dict(
                    id=payment_id,
                    member_id=member_id,
                    amount=amount,
                    currency=currency,
                    received_on=received_on,
                    method=rng.choice(methods),
                    reference=f"REF-{payment_id:07d}",
                    notes="",
                    refunded_amount=Decimal("0.00"),
                    recorded_by_id=data.operations_id,
                    created_at=_moment(received_on, rng),
                )
            )
            if invoice_row is not None:
                allocations.append(
                    dict(
                        payment_id=payment_id,
                        invoice_id=invoice_row["id"],
                        amount=amount,
                        payment_amount=amount,
                        exchange_rate=None,
                        created_at=_moment(received_on, rng),
                        created_by_id=data.operations_id,
                    )
                )
            return payment_id

        for row in invoice_rows:
            status = row["status"]
            if status == InvoiceStatus.DRAFT:
                continue
            total = row["total"]
            received_on = min(row["issued_on"] + timedelta(days=10 + rng.randrange(110)), day_today)
            if status == InvoiceStatus.PAID:
                parts = [total]
                if row["id"] in split:
                    first = _money(total * Decimal(rng.randrange(20, 80)) / 100)
                    parts = [first, total - first]
                for number, part in enumerate(parts):
                    add_payment(
                        row["member_id"],
                        row["currency"],
                        part,
                        min(received_on + timedelta(days=30 * number), day_today),
                        row,
                    )
                row["amount_paid"] = total
            elif status == InvoiceStatus.PARTIALLY_PAID:
                paid = _money(total * Decimal(rng.randrange(20, 80)) / 100)
                add_payment(row["member_id"], row["currency"], paid, received_on, row)
                row["amount_paid"] = paid
            elif status == InvoiceStatus.WRITTEN_OFF:
                remainder = _money(Decimal(rng.randrange(500, 4000)) / 100)
                add_payment(row["member_id"], row["currency"], total - remainder, received_on, row)
                row["amount_paid"] = total - remainder
                row["amount_written_off"] = remainder
                write_offs.append(
                    dict(
                        invoice_id=row["id"],
                        amount=remainder,
                        reason="Bank fees",
                        written_off_on=received_on,
                        created_by_id=data.operations_id,
                        created_at=_moment(received_on, rng),
                    )
                )
            if status == InvoiceStatus.CREDITED or (status == InvoiceStatus.ISSUED and row["id"] % 40 == 0):
                amount = total if status == InvoiceStatus.CREDITED else _money(total / 5)
                key = (row["hub_id"], row["fiscal_year"])
                credit_sequences[key] += 1
                credited_on = min(row["issued_on"] + timedelta(days=60), day_today)
                credit_notes.append(
                    dict(
                        number=f"{hub_prefix[row['hub_id']]}-CN-{row['fiscal_year']}-{credit_sequences[key]:04d}",
                        invoice_id=row["id"],
                        hub_id=row["hub_id"],
                        currency=row["currency"],
                        amount=amount,
                        reason="Reduced by Steering Committee decision",
                        language=row["language"],
                        issued_on=credited_on,
                        issued_at=_moment(credited_on, rng),
                        issued_by_id=data.operations_id,
                        pdf_bytes=FAKE_PDF,
                        pdf_sha256=FAKE_SHA256,
                    )
                )
                row["amount_credited"] = amount
        # Credit on account: payments without allocations.
        while len(payments) < payment_target:
            member_id = rng.randrange(1, member_count + 1)
            add_payment(
                member_id,
                hub_currency[member_info[member_id][1]],
                _money(rng.randrange(10_000, 500_000) / 100),
                day_today - timedelta(days=rng.randrange(700)),
            )
        _insert(
            connection,
            AnnualRun,
            [
                dict(
                    id=1,
                    fiscal_year=current,
                    status=AnnualRunStatus.FINISHED,
                    planned_count=member_count,
                    issued_count=member_count,
                    problems=[],
                    error="",
                    started_at=now - timedelta(days=60),
                    finished_at=now - timedelta(days=60),
                    started_by_id=data.operations_id,
                )
            ],
            counts,
        )
        _insert(connection, Invoice, invoice_rows, counts)
        _insert(connection, InvoiceLine, lines, counts)
        _insert(
            connection,
            DocumentSequence,
            [
                dict(hub_id=hub_id, series=series, fiscal_year=year, last_number=last)
                for series, table in (("INV", sequences), ("CN", credit_sequences))
                for (hub_id, year), last in table.items()
            ],
            counts,
        )
        _insert(connection, Payment, payments, counts)
        _insert(connection, PaymentAllocation, allocations, counts)
        _insert(connection, CreditNote, credit_notes, counts)
        _insert(connection, WriteOff, write_offs, counts)

        # Events and sent messages: the busy member's invoices all have some, the rest at random.
        issued = [row for row in invoice_rows if row["status"] != InvoiceStatus.DRAFT]
        event_count = max(invoice_count // 10, 1)
        with_history = [row for row in issued if row["member_id"] == busy_member]
        with_history += rng.sample(issued, min(len(issued), max(event_count // 2 - len(with_history), 0)))
        events, messages, message_links = [], [], []

        def add_message(row, kind, subject, at, reminder_level=None):
            message_id = len(messages) + 1
            messages.append(
                dict(
                    id=message_id,
                    kind=kind.value,
                    about=subject,
                    sender="Tributary <noreply@example.org>",
                    recipients=f"finance{row['member_id'] - 1}.0@gov.example",
                    subject=subject,
                    status=MailStatus.SENT,
                    transport="outbox",
                    message_id=f"<{message_id}@bench.example>",
                    outbox_path="",
                    error="",
                    requested_by_id=1,
                    requested_by_label="bench",
                    created_at=at,
                    attempted_at=at,
                    sent_at=at,
                )
            )
            message_links.append(
                dict(
                    message_id=message_id,
                    member_id=row["member_id"],
                    invoice_id=row["id"],
                    reminder_level=reminder_level,
                )
            )

        for row in with_history:
            at = _moment(row["issued_on"], rng)
            events.append(
                dict(invoice_id=row["id"], at=at, kind=InvoiceEventKind.ISSUED, actor_id=1, actor_label="")
            )
            events.append(
                dict(
                    invoice_id=row["id"],
                    at=at + timedelta(minutes=5),
                    kind=InvoiceEventKind.SENT,
                    actor_id=1,
                    actor_label="",
                    detail=f"To finance{row['member_id'] - 1}.0@gov.example",
                )
            )
            add_message(row, MessageKind.INVOICE, f"Invoice {row['number']}", at + timedelta(minutes=5))
            if row["status"] == InvoiceStatus.ISSUED and row["due_on"] < day_today:
                events.append(
                    dict(
                        invoice_id=row["id"],
                        at=_moment(row["due_on"] + timedelta(days=7), rng),
                        kind=InvoiceEventKind.REMINDED,
                        actor_id=1,
                        actor_label="",
                        reminder_level=1,
                    )
                )
                add_message(
                    row,
                    MessageKind.REMINDER,
                    f"Reminder: invoice {row['number']}",
                    _moment(row["due_on"] + timedelta(days=7), rng),
                    reminder_level=1,
                )
        _insert(connection, InvoiceEvent, events, counts)
        _insert(connection, MailMessage, messages, counts)
        _insert(connection, ContributionMessage, message_links, counts)
        stripe_statuses = [StripeEventStatus.APPLIED] * 6 + [
            StripeEventStatus.IGNORED,
            StripeEventStatus.NEEDS_REVIEW,
            StripeEventStatus.RESOLVED,
        ]
        _insert(
            connection,
            StripeEvent,
            [
                dict(
                    id=f"evt_bench_{number:05d}",
                    type="checkout.session.completed",
                    status=rng.choice(stripe_statuses),
                    invoice_id=row["id"],
                    problem="",
                    stripe_created_at=_moment(row["issued_on"] + timedelta(days=3), rng),
                    received_at=_moment(row["issued_on"] + timedelta(days=3), rng),
                    payload={"id": f"evt_bench_{number:05d}", "type": "checkout.session.completed"},
                )
                for number, row in enumerate(rng.sample(issued, min(300, len(issued))))
            ],
            counts,
        )

        # The audit log.
        record_types = ["Invoice", "Payment", "PaymentAllocation", "Member", "MemberContact", "CreditNote"]
        audit = []
        for number in range(AUDIT_ENTRIES):
            record_type = record_types[number % len(record_types)]
            actor = rng.choice([*user_ids, None])
            audit.append(
                dict(
                    at=now - timedelta(minutes=number * 7 + rng.randrange(7)),
                    actor_id=actor,
                    actor_label=f"bench{actor}@example.org" if actor else "cli",
                    action="update" if number % 3 else "create",
                    record_type=record_type,
                    record_id=str(1 + number % invoice_count),
                    record_label=f"{record_type} {1 + number % invoice_count}",
                    changes={"status": ["issued", "paid"], "amount_paid": ["0.00", "1200.00"]},
                )
            )
        _insert(connection, AuditEntry, audit, counts)

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            for table in db.metadata.sorted_tables:
                column = table.c.get("id")
                if column is not None and isinstance(column.type, db.Integer):
                    connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                    )
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")
    else:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")

    data.busy_member_invoices = sum(1 for row in invoice_rows if row["member_id"] == busy_member)
    open_row = next(
        row for row in invoice_rows if row["member_id"] == busy_member and row["status"] == InvoiceStatus.PAID
    )
    data.invoice_id, data.invoice_number = open_row["id"], open_row["number"]
    data.payment_id = next(allocation["payment_id"] for allocation in allocations)
    data.rows = counts
    data.seconds = time.perf_counter() - started
    return data


# --- The pages ---------------------------------------------------------------------------------------------


@dataclass
class Page:
    label: str
    url: str
    role: str = "operations"  # or "admin"
    export: bool = False


def pages_for(data: DataSet) -> list[Page]:
    current = data.fiscal_years[-1]
    member = data.busy_member_id
    return [
        Page("dashboard", "/"),
        Page("contributions overview", "/contributions/"),
        Page("members", "/contributions/members/"),
        Page("members, page 30", "/contributions/members/?page=30"),
        Page("members, search", "/contributions/members/?q=City+of+F"),
        Page("members, filter", "/contributions/members/?kind=national&income_group=low&status=active"),
        Page("member (many invoices)", f"/contributions/members/{member}"),
        Page("members CSV", "/contributions/members/?format=csv", export=True),
        Page("invoices", "/contributions/invoices/"),
        Page("invoices, page 300", "/contributions/invoices/?page=300"),
        Page("invoices, status", "/contributions/invoices/?status=issued"),
        Page("invoices, overdue", "/contributions/invoices/?overdue=y"),
        Page("invoices, hub", f"/contributions/invoices/?hub={data.brussels_id}"),
        Page("invoices, FY", f"/contributions/invoices/?fiscal_year={current - 1}"),
        Page("invoices, search", f"/contributions/invoices/?q={data.invoice_number}"),
        Page("invoices, member search", "/contributions/invoices/?q=City+of+F"),
        Page("invoices CSV", "/contributions/invoices/export.csv", export=True),
        Page("invoice", f"/contributions/invoices/{data.invoice_id}"),
        Page("payments", "/contributions/payments/"),
        Page("payments, page 300", "/contributions/payments/?page=300"),
        Page("payments, search", "/contributions/payments/?q=City+of+F"),
        Page("payments CSV", "/contributions/payments/?format=csv", export=True),
        Page("payment", f"/contributions/payments/{data.payment_id}"),
        Page("ageing", "/contributions/reports/ageing"),
        Page("ageing, page 20", "/contributions/reports/ageing?page=20"),
        Page("ageing, over 90 days", "/contributions/reports/ageing?bucket=over_90"),
        Page("ageing CSV", "/contributions/reports/ageing?format=csv", export=True),
        Page("arrears", "/contributions/reports/arrears"),
        Page("arrears, page 30", "/contributions/reports/arrears?page=30"),
        Page("arrears, flagged", "/contributions/reports/arrears?flagged=y"),
        Page("arrears, hub", f"/contributions/reports/arrears?hub={data.brussels_id}"),
        Page("arrears CSV", "/contributions/reports/arrears?format=csv", export=True),
        Page("arrears XLSX", "/contributions/reports/arrears?format=xlsx", export=True),
        Page("statement", f"/contributions/members/{member}/statement"),
        Page("messages", "/contributions/messages/"),
        Page("runs", "/contributions/runs/"),
        Page(f"run preview FY{current + 1}", f"/contributions/runs/{current + 1}/preview"),
        Page(
            f"run preview FY{current + 1} CSV",
            f"/contributions/runs/{current + 1}/preview?format=csv",
            export=True,
        ),
        Page("run", "/contributions/runs/1"),
        Page("online payments", "/contributions/online-payments/"),
        Page("policies", "/contributions/policy/"),
        Page("hubs", "/hubs/"),
        Page("hub", f"/hubs/{data.brussels_id}"),
        Page("audit log", "/admin/audit", role="admin"),
        Page("audit log, page 500", "/admin/audit?page=500", role="admin"),
        Page("audit log, type", "/admin/audit?record_type=Invoice", role="admin"),
        Page("audit log, user", "/admin/audit?user=3", role="admin"),
        Page("audit log, text", "/admin/audit?q=Payment+123", role="admin"),
        Page(
            "audit log, dates",
            f"/admin/audit?date_from={current}-03-01&date_to={current}-03-31",
            role="admin",
        ),
    ]


@dataclass
class Result:
    page: Page
    status: int
    timings_ms: list[float]
    queries: list[int]
    peak_mb: float | None = None
    size_kb: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.timings_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.timings_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


class QueryCounter:
    """Counts the SQL statements an engine runs (BEGIN, COMMIT and savepoints left out)."""

    def __init__(self, engine):
        self.engine = engine
        self.count = 0

    def __enter__(self):
        import sqlalchemy as sa

        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        import sqlalchemy as sa

        sa.event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            self.count += 1


def _request(client, url: str) -> tuple[int, int]:
    """One GET, read to the end without keeping the body (exports stream); returns (status, bytes)."""
    response = client.get(url, buffered=False)
    size = 0
    try:
        for chunk in response.iter_encoded():
            size += len(chunk)
    finally:
        response.close()
    return response.status_code, size


def measure(clients: dict, counter: QueryCounter, page: Page, runs: int) -> Result:
    client = clients[page.role]
    status, size = _request(client, page.url)  # warm-up
    result = Result(page, status, [], [])
    if status != 200:
        return result
    spent = 0.0
    while len(result.timings_ms) < runs and (len(result.timings_ms) < 3 or spent < PAGE_TIME_BUDGET):
        before = counter.count
        started = time.perf_counter()
        _request(client, page.url)
        elapsed = time.perf_counter() - started
        spent += elapsed
        result.timings_ms.append(elapsed * 1000)
        result.queries.append(counter.count - before)
    if page.export:
        tracemalloc.start()
        _request(client, page.url)
        result.peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        result.size_kb = size / 1024
    return result


HEADER = "".join(
    f"{title:{'<' if title == 'page' else '>'}{width}}"
    for title, width in [
        ("page", 30),
        ("status", 7),
        ("n", 4),
        ("median ms", 11),
        ("p95 ms", 9),
        ("queries", 9),
        ("peak MB", 9),
        ("size KB", 9),
    ]
)


def table_row(result: Result) -> str:
    if not result.timings_ms:
        return f"{result.page.label:<30}{result.status:>7}   failed: {result.page.url}"
    queries = (
        str(result.queries[-1])
        if len(set(result.queries)) == 1
        else f"{min(result.queries)}-{max(result.queries)}"
    )
    peak = f"{result.peak_mb:.1f}" if result.peak_mb is not None else ""
    size = "" if result.size_kb is None else f"{result.size_kb:,.{1 if result.size_kb < 10 else 0}f}"
    slow = " *" if result.median > 300 else ""
    return (
        f"{result.page.label:<30}{result.status:>7}{len(result.timings_ms):>4}{result.median:>11.0f}"
        f"{result.p95:>9.0f}{queries:>9}{peak:>9}{size:>9}{slow}"
    )


def table(results: list[Result]) -> str:
    return "\n".join([HEADER, "-" * len(HEADER), *(table_row(result) for result in results)])


def run(url: str, label: str, members: int, invoices: int, runs: int, only: list[str] | None) -> list[Result]:
    from app import create_app
    from app.extensions import db
    from config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = url
        WTF_CSRF_ENABLED = False
        #: The pages timed send nothing; an outbox of its own keeps the instance folder clean all the same.
        TRIBUTARY_OUTBOX = OUTBOX.name

    app = create_app(BenchConfig)
    with app.app_context():
        db.drop_all()
        db.create_all()
        data = build_dataset(members, invoices)
        engine = db.engine
    rows = ", ".join(f"{name} {count:,}" for name, count in sorted(data.rows.items()) if count >= 1000)
    print(f"\n{label}: data set built in {data.seconds:.1f} s ({rows})", flush=True)
    print(f"  member {data.busy_member_id} has {data.busy_member_invoices} invoices", flush=True)

    clients = {}
    for role, user_id in (("operations", data.operations_id), ("admin", data.admin_id)):
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = str(user_id)
            session["_fresh"] = True
        clients[role] = client
    results = []
    started = time.perf_counter()
    print(f"\n{label}\n{HEADER}\n{'-' * len(HEADER)}", flush=True)
    with QueryCounter(engine) as counter:
        for page in pages_for(data):
            if only and not any(text in page.label for text in only):
                continue
            result = measure(clients, counter, page, runs)
            results.append(result)
            print(table_row(result), flush=True)
    print(f"{label}: {len(results)} pages timed in {time.perf_counter() - started:.0f} s", flush=True)
    with app.app_context():
        db.session.remove()
        if url.startswith("postgresql") and not KEEP_DATA:
            db.drop_all()
        db.engine.dispose()
    return results


def main() -> None:
    global KEEP_DATA
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--invoices", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=7, help="timed requests per page (after one warm-up)")
    parser.add_argument("--postgres", action="store_true", help=f"also run on {POSTGRES_URL}")
    parser.add_argument("--only-postgres", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--page", action="append", help="only pages whose label contains this text (repeat for more)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data (SQLite file, PostgreSQL tables)")
    arguments = parser.parse_args()
    KEEP_DATA = arguments.keep
    if not arguments.only_postgres:
        directory = tempfile.mkdtemp(prefix="bench-pages-")
        path = Path(directory) / "bench.sqlite"
        try:
            run(
                f"sqlite:///{path}",
                "SQLite",
                arguments.members,
                arguments.invoices,
                arguments.runs,
                arguments.page,
            )
        finally:
            if not arguments.keep:
                path.unlink(missing_ok=True)
                Path(directory).rmdir()
            else:
                print(f"SQLite data kept in {path}")
    if arguments.postgres or arguments.only_postgres:
        run(POSTGRES_URL, "PostgreSQL", arguments.members, arguments.invoices, arguments.runs, arguments.page)


if __name__ == "__main__":
    main()
