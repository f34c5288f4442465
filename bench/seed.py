"""`flask bench seed`: fill a database with a realistic data set of any size, fast, with bulk inserts.

Scale 1 is the real size of the organisation's data; the targets of issue 12 are measured at scale 10:

- contributions: 1,000 members, 50,000 invoices (lines, payments and allocations, credit notes, write-offs,
  events, sent messages), an annual run;
- common: 100,000 audit entries;
- donors and pipeline, once their models exist: 50,000 organisations, 200,000 contacts, 1,000,000
  interactions, 20,000 opportunities, 20,000 gifts.

Rows go in with Core `insert()` and executemany in batches (PostgreSQL COPY for the big tables), not through
the services and without rendering PDFs (every stored PDF is a small constant with its real SHA-256). The data
obey the rules the services keep: each invoice's paid, credited and written-off amounts are the sums of its
allocations, credit notes and write-offs and its status follows from them; numbers are gap-free per hub and
fiscal year and the document sequences hold the last one; statuses of hubs, members and runs are consistent.
An area whose models do not exist yet is skipped and named in the summary.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
import json
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa

#: Rows per executemany batch.
BATCH = 5_000
#: Above this many rows, PostgreSQL loads a table with COPY instead of INSERT.
COPY_THRESHOLD = 20_000
#: Per unit of scale.
MEMBERS_PER_SCALE = 100
INVOICES_PER_SCALE = 5_000
AUDIT_ENTRIES_PER_SCALE = 10_000
FAKE_PDF = b"%PDF-1.7\n% bench placeholder, not rendered\n%%EOF\n"
FAKE_SHA256 = hashlib.sha256(FAKE_PDF).hexdigest()
#: The columns a seeded gift fills (the donors' own gifts and those that pay pledge instalments).
GIFT_KEYS = (
    "id",
    "organisation_id",
    "contact_id",
    "received_on",
    "amount",
    "currency",
    "hub_id",
    "method",
    "is_restricted",
    "purpose",
    "introduction_id",
    "goods_or_services",
    "goods_or_services_value",
    "acknowledgement_status",
    "acknowledged_on",
    "acknowledged_how",
    "notes",
    "created_by_id",
    "created_at",
)
CENT = Decimal("0.01")
#: What each later area's seeding needs: (area, models module, model names). An area, or the part of it
#: whose models are missing, is skipped and named in the summary.
LATER_AREAS = [
    ("donors", "app.donors.models", ("Organisation", "Contact", "Interaction", "Gift")),
    ("pipeline plan", "app.pipeline.models", ("PlanTarget", "PlanExchangeRate")),
    ("opportunities", "app.pipeline.models", ("Opportunity",)),
]


@dataclass
class DataSet:
    """What the seeding made, and the ids that the benchmarks' pages need."""

    scale: float
    rows: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    operations_id: int = 0
    admin_id: int = 0
    board_id: int = 0
    busy_member_id: int = 0
    busy_member_invoices: int = 0
    invoice_id: int = 0
    invoice_number: str = ""
    draft_invoice_id: int = 0
    payment_id: int = 0
    brussels_id: int = 0
    fiscal_years: list[int] = field(default_factory=list)
    # Donors and pipeline.
    fundraising_id: int = 4
    big_organisation_id: int = 0
    big_organisation_contacts: int = 0
    contact_id: int = 0
    moved_contact_id: int = 0
    busy_connector_id: int = 0
    gift_id: int = 0
    letter_id: int = 0
    next_gift_id: int = 1
    opportunity_id: int = 0
    pledge_id: int = 0
    #: Organisation id -> its current contacts' ids (for the pipeline's seeding; not reported).
    people_at: dict = field(default_factory=dict, repr=False)

    def summary(self) -> str:
        rows = ", ".join(f"{name} {count:,}" for name, count in sorted(self.rows.items()) if count >= 1000)
        skipped = f"; skipped: {', '.join(self.skipped)}" if self.skipped else ""
        return f"scale {self.scale:g} seeded in {self.seconds:.1f} s ({rows}){skipped}"


def seed(connection: sa.Connection, scale: float, random_seed: int = 20261128) -> DataSet:
    """Fill an empty schema through `connection` (inside its transaction; the caller commits)."""
    started = time.perf_counter()
    data = DataSet(scale=scale)
    rng = random.Random(random_seed)
    _seed_contributions(connection, scale, rng, data)
    for area, module, names in LATER_AREAS:
        models = importlib.import_module(module) if importlib.util.find_spec(module) else None
        missing = [name for name in names if models is None or not hasattr(models, name)]
        if missing:
            data.skipped.append(f"{area} (no {', '.join(missing)} in {module} yet)")
        elif area not in SEEDERS:
            data.skipped.append(f"{area} (its models exist; bench/seed.py does not fill them yet)")
        else:
            SEEDERS[area](connection, scale, rng, data, models)
    _fill_plan_totals(connection, data)
    if connection.dialect.name == "postgresql":
        _advance_sequences(connection)
    data.seconds = time.perf_counter() - started
    return data


def analyze(engine: sa.Engine) -> None:
    """Refresh the planner's statistics after a bulk load. On PostgreSQL also VACUUM, as autovacuum would soon
    after such a load: it sets the visibility map (index-only scans, such as a list's page ids and counts,
    need it) and moves the rows COPY put in the GIN indexes' pending lists into the indexes proper."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE" if connection.dialect.name == "postgresql" else "ANALYZE")


def _advance_sequences(connection: sa.Connection) -> None:
    # Rows carry explicit ids; the sequences must start after them for rows the app adds later.
    from app.extensions import db

    for table in db.metadata.sorted_tables:
        column = table.c.get("id")
        if column is not None and isinstance(column.type, sa.Integer) and column.autoincrement is not False:
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
            )


def _insert(connection: sa.Connection, model, rows: list[dict], counts: dict[str, int]) -> None:
    """Insert many rows at once; a key a row leaves out takes the column's default (executemany needs all)."""
    from app.common.search import add_search_text

    table = model.__table__
    add_search_text(table.name, rows)  # searched tables' folded copy, as the model would set it
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
    if connection.dialect.name == "postgresql" and len(rows) > COPY_THRESHOLD:
        _copy(connection, table, sorted(keys), rows)
    else:
        for start in range(0, len(rows), BATCH):
            connection.execute(table.insert(), rows[start : start + BATCH])
    counts[table.name] = counts.get(table.name, 0) + len(rows)


def _copy(connection: sa.Connection, table: sa.Table, keys: list[str], rows: list[dict]) -> None:
    """PostgreSQL COPY, with each value made what the column's type sends to the driver (JSON, enums)."""
    dialect = connection.dialect
    processors = {}
    for key in keys:
        column_type = table.c[key].type
        processors[key] = (
            json.dumps if isinstance(column_type, sa.JSON) else column_type.bind_processor(dialect)
        )
    columns = ", ".join(f'"{key}"' for key in keys)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            values = []
            for key in keys:
                value = row[key]
                processor = processors[key]
                values.append(processor(value) if processor is not None and value is not None else value)
            copy.write_row(values)


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT)


def _moment(day: date, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, 8 + rng.randrange(10), rng.randrange(60), tzinfo=UTC)


def _logo_png() -> bytes:
    """A hub logo (a 600x200 picture with transparency), as PNG bytes."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 20, 160, 180), radius=30, fill=(31, 78, 121, 255))
    for x in range(190, 600, 24):
        draw.rectangle((x, 70, x + 14, 130), fill=(31, 78, 121, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _seed_contributions(connection: sa.Connection, scale: float, rng: random.Random, data: DataSet) -> None:
    """Hubs, users, members and everything invoiced and paid, over four fiscal years."""
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
    from app.contributions.services.payment_references import derive_reference
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

    member_count = max(2, round(MEMBERS_PER_SCALE * scale))
    invoice_count = max(2 * member_count, round(INVOICES_PER_SCALE * scale))
    audit_entries = round(AUDIT_ENTRIES_PER_SCALE * scale)
    counts = data.rows
    now = datetime.now(UTC)
    current = current_fiscal_year()
    day_today = today()
    years = list(range(current - 3, current + 1))
    data.fiscal_years = years

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
            logo_bytes=_logo_png(),
            logo_mime_type="image/png",
            created_at=now,
        ),
    ]
    _insert(connection, Hub, hubs, counts)
    hub_currency = {1: "USD", 2: "EUR"}
    hub_prefix = {1: "HQ", 2: "BE"}
    hub_country = {1: "US", 2: "BE"}
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
    data.operations_id, data.admin_id, data.board_id = 1, 2, 5
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
            dict(id=i + 1, template_id=1, position=i + 1, description=step, default_owner_role="Operations")
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
        draft = year == current and invoice_id % 31 == 7
        if kind == InvoiceKind.ANNUAL_CONTRIBUTION:
            amount = policy_amounts[member_groups[year]] if national else local_amount
            issued_on = fiscal_year(year).starts_on - timedelta(days=45) + timedelta(days=rng.randrange(120))
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
        # Stored at issue, as the invoicing service does.
        hub = SimpleNamespace(country_code=hub_country[row["hub_id"]])
        row["payment_reference"] = derive_reference(
            SimpleNamespace(number=row["number"], hub=hub, hub_id=row["hub_id"], currency=row["currency"])
        )

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
    _fill_kept_totals(connection, counts)

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
    for number in range(audit_entries):
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

    data.busy_member_invoices = sum(1 for row in invoice_rows if row["member_id"] == busy_member)
    paid_row = next(
        row for row in invoice_rows if row["member_id"] == busy_member and row["status"] == InvoiceStatus.PAID
    )
    data.invoice_id, data.invoice_number = paid_row["id"], paid_row["number"]
    data.draft_invoice_id = next(row["id"] for row in invoice_rows if row["status"] == InvoiceStatus.DRAFT)
    data.payment_id = next(allocation["payment_id"] for allocation in allocations)


def _fill_kept_totals(connection: sa.Connection, counts: dict[str, int]) -> None:
    """The invoice totals kept for reports, from the records just inserted: bulk inserts bypass the session
    listener that keeps them."""
    from app.contributions.totals import (
        InvoiceYearTotal,
        MemberBalance,
        MemberUnpaidYear,
        OpenInvoiceTotal,
        rebuild_totals,
    )

    rebuild_totals(connection)
    for model in (InvoiceYearTotal, OpenInvoiceTotal, MemberUnpaidYear, MemberBalance):
        counts[model.__tablename__] = connection.scalar(sa.select(sa.func.count()).select_from(model))


def _fill_plan_totals(connection: sa.Connection, data: DataSet) -> None:
    """The plan's kept totals, from the records just inserted (bulk inserts bypass the session listener)."""
    from app.pipeline.forecast_totals import MemberYearForecast, rebuild_forecasts_on
    from app.pipeline.plan_totals import PlanTotal, rebuild_plan_totals

    rebuild_plan_totals(connection)
    rebuild_forecasts_on(connection)
    for model in (PlanTotal, MemberYearForecast):
        data.rows[model.__tablename__] = connection.scalar(sa.select(sa.func.count()).select_from(model))


def _seed_plan(connection: sa.Connection, scale: float, rng: random.Random, data: DataSet, models) -> None:
    """Plan targets per fiscal year and source, and the plan's EUR rate per year (the plan is not per row)."""
    from app.pipeline.sources import Source

    years = [*data.fiscal_years, data.fiscal_years[-1] + 1, data.fiscal_years[-1] + 2]
    base = {
        Source.FOUNDATIONS: 4_000_000,
        Source.BILATERAL: 6_000_000,
        Source.COUNTRY_CONTRIBUTIONS: 9_000_000,
        Source.OTHER: 500_000,
    }
    targets = [
        dict(fiscal_year=year, source=source, amount=_money(amount * (1 + 0.05 * offset)), currency="USD")
        for offset, year in enumerate(years)
        for source, amount in base.items()
    ]
    _insert(connection, models.PlanTarget, targets, data.rows)
    rates = [
        dict(fiscal_year=year, currency="EUR", rate=Decimal("0.92000000"), reporting_currency="USD",
             updated_by_id=data.operations_id)
        for year in years
    ]  # fmt: skip
    _insert(connection, models.PlanExchangeRate, rates, data.rows)


#: Seeding of the later areas, by LATER_AREAS name.
SEEDERS = {"pipeline plan": _seed_plan}


def describe(connection: sa.Connection) -> DataSet:
    """The ids the benchmarks need, read back from a database that `seed()` filled earlier."""
    from app.contributions.models import Invoice, InvoiceStatus, PaymentAllocation

    data = DataSet(
        scale=float("nan"), operations_id=1, admin_id=2, board_id=5, busy_member_id=1, brussels_id=2
    )
    years = connection.execute(sa.select(Invoice.fiscal_year).distinct().order_by(Invoice.fiscal_year))
    data.fiscal_years = list(years.scalars())
    paid = connection.execute(
        sa.select(Invoice.id, Invoice.number)
        .where(Invoice.member_id == data.busy_member_id, Invoice.status == InvoiceStatus.PAID)
        .order_by(Invoice.id)
        .limit(1)
    ).one()
    data.invoice_id, data.invoice_number = paid.id, paid.number
    data.draft_invoice_id = connection.scalar(
        sa.select(sa.func.min(Invoice.id)).where(Invoice.status == InvoiceStatus.DRAFT)
    )
    data.payment_id = connection.scalar(sa.select(sa.func.min(PaymentAllocation.payment_id)))
    data.busy_member_invoices = connection.scalar(
        sa.select(sa.func.count()).where(Invoice.member_id == data.busy_member_id)
    )
    _describe_donors(connection, data)
    return data


def _describe_donors(connection: sa.Connection, data: DataSet) -> None:
    """The donors and pipeline ids (the seeding makes them the first rows of their tables)."""
    from app.donors.models import Affiliation, Contact

    if not connection.scalar(sa.select(sa.func.count()).select_from(Contact.__table__)):
        return
    data.big_organisation_id = data.busy_connector_id = data.gift_id = data.opportunity_id = 1
    data.pledge_id = data.letter_id = 1
    data.contact_id = connection.scalar(
        sa.select(sa.func.min(Affiliation.contact_id)).where(Affiliation.organisation_id == 1)
    )
    data.big_organisation_contacts = connection.scalar(
        sa.select(sa.func.count()).where(Affiliation.organisation_id == 1, Affiliation.ended_on.is_(None))
    )
    data.moved_contact_id = 8


# --- Donors and pipeline -----------------------------------------------------------------------------------

#: Per unit of scale (at 10: 50,000 organisations, 200,000 contacts, 1,000,000 interactions, 20,000 gifts,
#: 20,000 opportunities).
ORGANISATIONS_PER_SCALE = 5_000
CONTACTS_PER_SCALE = 20_000
INTERACTIONS_PER_SCALE = 100_000
GIFTS_PER_SCALE = 2_000
OPPORTUNITIES_PER_SCALE = 2_000
CONNECTIONS_PER_SCALE = 2_000
INTRODUCTIONS_PER_SCALE = 200
#: The big organisation (id 1) and the busy connector (id 1) hold these shares of their kind of row, so
#: that their pages grow with the data set unless they are paginated.
BIG_SHARE = 0.0025
BIG_INTERACTION_SHARE = 0.01
BUSY_CONNECTOR_SHARE = 0.1
#: Rows made and inserted at a time for the biggest tables (1,000,000 interactions are never all in memory).
CHUNK = 100_000
#: The benchmarked contacts (the big organisation's first, and one who moved) have names nobody else has, so
#: that their pages' duplicate suggestions do the same work at every scale.
UNIQUE_CONTACT_NAMES = {1: "Conceição Araújo-Valverde", 8: "Anaïs Lefèvre-Dubois"}
#: Users of the bench's role cycle who take part in fundraising (admin and fundraising).
DONOR_STAFF = (2, 4, 7, 9)
FUNDRAISING_ID = 4
CITIES = [
    "São Paulo",
    "Bogotá",
    "Montréal",
    "Genève",
    "Zürich",
    "Köln",
    "Kraków",
    "Málaga",
    "Dakar",
    "Nairobi",
    "Brasília",
    "Medellín",
    "Québec",
    "Besançon",
    "Córdoba",
    "Reykjavík",
    "Tromsø",
    "Łódź",
    "Niš",
    "Göteborg",
]


def _bulk_rows(connection: sa.Connection, table: sa.Table, keys: tuple[str, ...], rows, counts) -> None:
    """Insert tuples (values in `keys` order) the fastest way each database has: COPY, or executemany."""
    dialect = connection.dialect
    processors = []
    for index, key in enumerate(keys):
        processor = table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors.append((index, processor))
    if processors:
        converted = []
        for row in rows:
            values = list(row)
            for index, processor in processors:
                if values[index] is not None:
                    values[index] = processor(values[index])
            converted.append(values)
        rows = converted
    columns = ", ".join(f'"{key}"' for key in keys)
    if dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in keys)
        cursor = connection.connection.driver_connection.cursor()
        cursor.executemany(f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', rows)
    counts[table.name] = counts.get(table.name, 0) + len(rows)


class _SearchObjectsOff:
    """Drop a table's search index (PostgreSQL) or FTS triggers (SQLite) for a bulk load, then put them back
    and index every row at once: whatever app/donors/search.py created, read back from the catalogue."""

    def __init__(self, connection: sa.Connection, tables: tuple[str, ...]):
        self.connection, self.tables = connection, tables

    def __enter__(self):
        run = self.connection.exec_driver_sql
        if self.connection.dialect.name == "postgresql":
            self.saved = run(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%(tables)s) "
                "AND indexname LIKE 'search%%'",
                {"tables": list(self.tables)},
            ).all()
            for name, _ in self.saved:
                run(f'DROP INDEX "{name}"')
        else:
            marks = ", ".join("?" for _ in self.tables)
            self.saved = run(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks})",
                tuple(self.tables),
            ).all()
            for name, _ in self.saved:
                run(f'DROP TRIGGER "{name}"')
        return self

    def __exit__(self, *exc):
        run = self.connection.exec_driver_sql
        if self.connection.dialect.name == "postgresql":
            run("SET LOCAL maintenance_work_mem = '256MB'")
            for _, definition in self.saved:
                run(definition)
        else:
            fts_tables = run(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"
            ).all()
            for name, sql in fts_tables:
                if any(f"content='{table}'" in sql.replace('"', "'") for table in self.tables):
                    run(f'INSERT INTO "{name}"("{name}") VALUES (\'rebuild\')')
            for _, sql in self.saved:
                run(sql)


def _seed_donors(connection: sa.Connection, scale: float, rng: random.Random, data: DataSet, models) -> None:
    """Organisations, contacts who move, connectors and introductions, a million interactions, gifts and
    letters: the donors area at `scale`, in bulk."""
    from app.common.mail import MailMessage, MailStatus
    from app.common.time import today
    from app.donors import seed as demo
    from app.donors.sending import MAIL_KIND
    from app.donors.text import fold, name_key

    m = models
    counts = data.rows
    day_today = today()
    now = datetime.now(UTC)
    if connection.dialect.name == "postgresql":
        # The rows are consistent by construction: no foreign-key trigger per row during the load.
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
    cached_fold, cached_key = (
        functools.lru_cache(maxsize=None)(fold),
        functools.lru_cache(maxsize=None)(name_key),
    )
    organisation_count = max(20, round(ORGANISATIONS_PER_SCALE * scale))
    contact_count = max(60, round(CONTACTS_PER_SCALE * scale))
    interaction_count = max(200, round(INTERACTIONS_PER_SCALE * scale))
    gift_count = max(40, round(GIFTS_PER_SCALE * scale))
    connection_count = max(40, round(CONNECTIONS_PER_SCALE * scale))
    introduction_count = max(16, round(INTRODUCTIONS_PER_SCALE * scale))

    _insert(connection, m.Theme, [dict(id=i + 1, name=name) for i, name in enumerate(demo.THEMES)], counts)
    theme_count = len(demo.THEMES)

    # Organisations: mostly unique names from patterns, surnames, words and cities (accents on purpose).
    fillers = [*demo.WORDS, *demo.LAST_NAMES]
    places = [*CITIES, *demo.WORDS]
    kinds = [(kind, patterns, country) for kind, patterns, country in demo.KINDS]
    agencies = list(demo.AGENCIES)
    statuses = (
        [m.OrganisationStatus.PROSPECT] * 3
        + [m.OrganisationStatus.ACTIVE] * 2
        + [m.OrganisationStatus.LAPSED]
    )
    organisations, themes, org_country = [], [], {}
    org_keys = (
        "id",
        "name",
        "name_key",
        "search_text",
        "kind",
        "country_code",
        "website",
        "status",
        "owner_id",
        "notes",
        "created_at",
    )
    seen = set()
    candidates = []
    for _, patterns, _ in kinds:
        combinations = [(p, f, c) for p in patterns for f in fillers for c in places]
        rng.shuffle(combinations)
        candidates.append(combinations)
    for index in range(organisation_count):
        organisation_id = index + 1
        if organisation_id == 1:
            name, kind, country = (
                "Fundação São Paulo para a Democracia",
                m.OrganisationKind.PRIVATE_FOUNDATION,
                "BR",
            )
        elif index <= len(agencies):
            name, country = agencies[index - 1]
            kind = m.OrganisationKind.BILATERAL_AGENCY
        else:
            entry = index % len(kinds)
            kind, patterns, country = kinds[entry]
            name = ""
            while not name or name_key(name) in seen:
                if not candidates[entry]:  # every combination used: numbered names from here
                    name = f"{rng.choice(patterns).format(rng.choice(fillers), rng.choice(places))} {index}"
                    break
                pattern, filler, place = candidates[entry].pop()
                name = pattern.format(filler, place)
                if "{1}" not in pattern:
                    name = f"{name} {place}"
        seen.add(name_key(name))
        key = name_key(name)
        organisations.append(
            (
                organisation_id,
                name,
                key,
                fold(name),
                kind,
                country,
                f"https://www.{key.replace(' ', '')[:24]}.example",
                rng.choice(statuses),
                DONOR_STAFF[index % len(DONOR_STAFF)],
                "",
                now,
            )
        )
        org_country[organisation_id] = country
        for theme_id in rng.sample(range(1, theme_count + 1), 1 + index % 3):
            themes.append((organisation_id, theme_id))
    # Contacts: the big organisation has BIG_SHARE of them; one in eight moved from another organisation.
    contacts, affiliations, home, emails = [], [], {}, {}
    contact_keys = (
        "id",
        "name",
        "name_key",
        "title",
        "email",
        "email_key",
        "phone",
        "language",
        "do_not_contact",
        "notes",
        "search_text",
        "lawful_basis",
        "source",
        "email_consent",
        "created_at",
    )
    languages = {"FR": m.Language.FR, "BE": m.Language.FR, "ES": m.Language.ES}
    big_contacts = max(3, round(contact_count * BIG_SHARE))
    domains = {}
    for row in organisations:
        domains[row[0]] = row[6].removeprefix("https://www.")
    for index in range(contact_count):
        contact_id = index + 1
        organisation_id = 1 if index < big_contacts else 1 + (index % organisation_count)
        name = (
            UNIQUE_CONTACT_NAMES.get(contact_id)
            or f"{rng.choice(demo.FIRST_NAMES)} {rng.choice(demo.LAST_NAMES)}"
        )
        email = f"{cached_key(name).replace(' ', '.')}.{contact_id}@{domains[organisation_id]}"
        # The folded text of a name and an already folded e-mail (checked against the model's on a few).
        search_text = f"{cached_fold(name)} {email}"
        if index < 50:
            assert search_text == m.Contact.search_text_for(name, email), search_text
        contacts.append(
            (
                contact_id,
                name,
                cached_key(name),
                rng.choice(demo.ROLES),
                email,
                email.casefold(),
                f"+4420{7946_0000 + contact_id % 10_000:08d}" if contact_id % 3 == 0 else "",
                languages.get(org_country[organisation_id], m.Language.EN),
                contact_id % 25 == 0,
                "",
                search_text,
                m.LawfulBasis.LEGITIMATE_INTEREST,
                "Bench data",
                False,
                now,
            )
        )
        started = day_today - timedelta(days=400 + contact_id % 2600)
        if contact_id % 8 == 0:  # someone who moved: a past position, then the current one
            earlier = 1 + (contact_id * 7919) % organisation_count
            moved = day_today - timedelta(days=60 + contact_id % 320)
            affiliations.append((contact_id, earlier, rng.choice(demo.ROLES), started, moved))
            started = moved
        affiliations.append((contact_id, organisation_id, rng.choice(demo.ROLES), started, None))
        home[contact_id] = organisation_id
        emails[contact_id] = email
    with _SearchObjectsOff(connection, ("organisations", "contacts")):
        _bulk_rows(connection, m.Organisation.__table__, org_keys, organisations, counts)
        _bulk_rows(connection, m.Contact.__table__, contact_keys, contacts, counts)
    _bulk_rows(connection, m.organisation_themes, ("organisation_id", "theme_id"), themes, counts)
    _bulk_rows(
        connection,
        m.Affiliation.__table__,
        ("contact_id", "organisation_id", "role", "started_on", "ended_on"),
        affiliations,
        counts,
    )
    people_at: dict[int, list[int]] = defaultdict(list)
    for contact_id, organisation_id in home.items():
        people_at[organisation_id].append(contact_id)
    del organisations, contacts, affiliations

    # Connectors (the board user among them) and who they know; connector 1 is the busy one.
    connectors = [
        dict(
            id=i + 1, name=name, role=role, user_id=None, contact_id=None, email="", notes="", created_at=now
        )
        for i, (name, role) in enumerate(demo.CONNECTORS)
    ]
    connectors.append(
        dict(
            id=len(connectors) + 1,
            name="Bench User 05",
            role=m.ConnectorRole.BOARD,
            user_id=data.board_id,
            contact_id=None,
            email="bench5@example.org",
            notes="",
            created_at=now,
        )
    )
    _insert(connection, m.Connector, connectors, counts)
    connector_ids = [row["id"] for row in connectors]
    known = set()
    connections = []
    # The big organisation's contacts are well connected: "who can introduce us" has many rows there.
    for contact_id in people_at[1]:
        for connector_id in connector_ids[:3]:
            known.add((connector_id, contact_id))
    while len(known) < connection_count:
        connector_id = 1 if rng.random() < BUSY_CONNECTOR_SHARE else rng.choice(connector_ids)
        known.add((connector_id, rng.randrange(1, contact_count + 1)))
    for number, (connector_id, contact_id) in enumerate(sorted(known)):
        connections.append((number + 1, connector_id, contact_id, rng.choice(demo.NATURES), now))
    _bulk_rows(
        connection,
        m.Connection.__table__,
        ("id", "connector_id", "contact_id", "nature", "created_at"),
        connections,
        counts,
    )
    introductions, made_at = [], {}
    intro_statuses = list(m.IntroductionStatus)
    for number in range(introduction_count):
        _, connector_id, contact_id, _, _ = connections[
            number if number % 5 else (number * 31) % len(connections)
        ]
        if number % 4 == 0:
            connector_id, contact_id = 1, people_at[1][number % len(people_at[1])]
        status = intro_statuses[number % len(intro_statuses)]
        asked = day_today - timedelta(days=5 + number % 700)
        introductions.append(
            dict(
                id=number + 1,
                connector_id=connector_id,
                target_contact_id=contact_id,
                organisation_id=home[contact_id],
                requested_by_id=DONOR_STAFF[number % len(DONOR_STAFF)],
                for_user_id=DONOR_STAFF[0],
                status=status,
                requested_on=asked,
                status_changed_on=None if status.is_open else asked + timedelta(days=12),
                purpose="Meet the programme team about the governance portfolio.",
                outcome="Lunch with the CEO; invited to apply."
                if status == m.IntroductionStatus.MADE
                else "",
                created_at=now,
            )
        )
        if status == m.IntroductionStatus.MADE:
            made_at.setdefault(home[contact_id], number + 1)
    _insert(connection, m.Introduction, introductions, counts)

    # Interactions over three years, with participants and next steps (recent ones open, some overdue).
    interaction_keys = (
        "id",
        "kind",
        "occurred_on",
        "organisation_id",
        "summary",
        "created_by_id",
        "created_at",
        "next_step",
        "next_step_due_on",
        "next_step_owner_id",
        "next_step_done_at",
    )
    interaction_kinds = list(m.InteractionKind)
    big_interactions = round(interaction_count * BIG_INTERACTION_SHARE)
    for start in range(0, interaction_count, CHUNK):
        rows, participants, staff = [], [], []
        for index in range(start, min(start + CHUNK, interaction_count)):
            interaction_id = index + 1
            organisation_id = 1 if index < big_interactions else 1 + rng.randrange(organisation_count)
            occurred = day_today - timedelta(days=rng.randrange(1095))
            creator = DONOR_STAFF[index % len(DONOR_STAFF)]
            step = due = owner = done = None
            if index % 5 == 0:
                step = demo.NEXT_STEPS[index % len(demo.NEXT_STEPS)]
                due = occurred + timedelta(days=7 + index % 50)
                owner = DONOR_STAFF[(index // 5) % len(DONOR_STAFF)]
                if due < day_today - timedelta(days=30) or (due < day_today and index % 3):
                    done = _moment(due, rng)
            rows.append(
                (
                    interaction_id,
                    interaction_kinds[index % len(interaction_kinds)],
                    occurred,
                    organisation_id,
                    demo.SUMMARIES[index % len(demo.SUMMARIES)],
                    creator,
                    _moment(occurred, rng),
                    step or "",
                    due,
                    owner,
                    done,
                )
            )
            people = people_at.get(organisation_id)
            if people:
                first = people[index % len(people)]
                participants.append((interaction_id, first))
                if index % 3 == 0 and len(people) > 1:
                    second = people[(index + 1) % len(people)]
                    if second != first:
                        participants.append((interaction_id, second))
            staff.append((interaction_id, creator))
        _bulk_rows(connection, m.Interaction.__table__, interaction_keys, rows, counts)
        _bulk_rows(connection, m.interaction_contacts, ("interaction_id", "contact_id"), participants, counts)
        _bulk_rows(connection, m.interaction_staff, ("interaction_id", "user_id"), staff, counts)
        del rows, participants, staff

    # Gifts in USD, EUR and GBP; most thanked for, some with a stored letter (and its e-mail in the mail log).
    # The pipeline's seeding adds the gifts that pay pledge instalments (they count towards gift_count).
    gifts, events, letters, messages, letter_links = [], [], [], [], []
    own_gifts = gift_count - min(gift_count // 3, round(OPPORTUNITIES_PER_SCALE * scale * 0.075))
    for index in range(own_gifts):
        gift_id = index + 1
        organisation_id = 1 if index % 100 == 0 else 1 + rng.randrange(organisation_count)
        currency = ("USD", "USD", "EUR", "GBP")[index % 4]
        received = day_today - timedelta(days=1 + rng.randrange(1000))
        age = (day_today - received).days
        if age < 30 and index % 3:
            status = m.AcknowledgementStatus.TO_BE_ACKNOWLEDGED
        elif index % 17 == 0:
            status = m.AcknowledgementStatus.DO_NOT_ACKNOWLEDGE
        else:
            status = m.AcknowledgementStatus.ACKNOWLEDGED
        people = people_at.get(organisation_id) or [None]
        contact_id = people[index % len(people)]
        restricted = index % 5 == 0
        gifts.append(
            (
                gift_id,
                organisation_id,
                contact_id,
                received,
                _money(rng.choice([500, 2500, 5000, 10000, 25000, 50000, 150000])),
                currency,
                2 if currency == "EUR" else 1,
                m.GiftMethod.CHEQUE if index % 6 == 0 else m.GiftMethod.WIRE,
                restricted,
                "Open contracting in West Africa" if restricted else "",
                made_at.get(organisation_id),
                "",
                None,
                status,
                received + timedelta(days=2 + index % 5)
                if status == m.AcknowledgementStatus.ACKNOWLEDGED
                else None,
                "Letter by e-mail" if status == m.AcknowledgementStatus.ACKNOWLEDGED else "",
                "",
                DONOR_STAFF[index % len(DONOR_STAFF)],
                _moment(received, rng),
            )
        )
        events.append((gift_id, _moment(received, rng), m.GiftEventKind.RECORDED, FUNDRAISING_ID, ""))
        if status == m.AcknowledgementStatus.ACKNOWLEDGED and index % 3 == 0:
            letter_id = len(letters) + 1
            made = _moment(received + timedelta(days=2), rng)
            language = (m.Language.EN, m.Language.FR, m.Language.ES)[index % 3]
            letters.append(
                (
                    letter_id,
                    m.LetterKind.GIFT,
                    organisation_id,
                    gift_id,
                    None,
                    contact_id,
                    2 if currency == "EUR" else 1,
                    language,
                    FAKE_PDF,
                    FAKE_SHA256,
                    FUNDRAISING_ID,
                    made,
                )
            )
            events.append((gift_id, made, m.GiftEventKind.LETTER_CREATED, FUNDRAISING_ID, ""))
            if contact_id is not None:
                message_id = counts.get("mail_messages", 0) + len(messages) + 1
                messages.append(
                    dict(
                        id=message_id,
                        kind=MAIL_KIND,
                        about=f"Thank-you letter {letter_id}",
                        sender="Tributary <noreply@example.org>",
                        recipients=emails[contact_id],
                        subject="Thank you for your gift",
                        status=MailStatus.SENT,
                        transport="outbox",
                        message_id=f"<{message_id}@bench.example>",
                        outbox_path="",
                        error="",
                        requested_by_id=FUNDRAISING_ID,
                        requested_by_label="bench",
                        created_at=made,
                        attempted_at=made,
                        sent_at=made,
                    )
                )
                letter_links.append((message_id, letter_id))
                events.append(
                    (gift_id, made, m.GiftEventKind.LETTER_SENT, FUNDRAISING_ID, f"To contact {contact_id}")
                )
    _bulk_rows(connection, m.Gift.__table__, GIFT_KEYS, gifts, counts)
    _bulk_rows(
        connection, m.GiftEvent.__table__, ("gift_id", "at", "kind", "actor_id", "detail"), events, counts
    )
    _bulk_rows(
        connection,
        m.AcknowledgementLetter.__table__,
        (
            "id",
            "kind",
            "organisation_id",
            "gift_id",
            "year",
            "contact_id",
            "hub_id",
            "language",
            "pdf_bytes",
            "pdf_sha256",
            "created_by_id",
            "created_at",
        ),
        letters,
        counts,
    )
    _insert(connection, MailMessage, messages, counts)
    _bulk_rows(connection, m.LetterMessage.__table__, ("message_id", "letter_id"), letter_links, counts)

    # Members linked to their aid agencies (the organisations after the big one).
    from app.contributions.funders import MemberOrganisation

    _insert(
        connection,
        MemberOrganisation,
        [
            dict(member_id=data.busy_member_id, organisation_id=2, created_at=now),
            dict(member_id=data.busy_member_id, organisation_id=3, created_at=now),
        ],
        counts,
    )

    data.big_organisation_id = 1
    data.big_organisation_contacts = big_contacts
    data.contact_id = people_at[1][0]
    data.moved_contact_id = 8
    data.busy_connector_id = 1
    data.fundraising_id = FUNDRAISING_ID
    data.gift_id = 1
    data.letter_id = 1 if letters else 0
    data.next_gift_id = own_gifts + 1
    data.people_at = people_at


def _seed_opportunities(
    connection: sa.Connection, scale: float, rng: random.Random, data: DataSet, models
) -> None:
    """Opportunities at every stage with their fiscal-year split and stage history; pledges for the won ones
    with instalments (the past ones paid by gifts applied to them) and deliverables."""
    from app.common.fiscal import fiscal_year, fiscal_year_of
    from app.common.time import today
    from app.donors import models as donors
    from app.pipeline.seed import TITLES
    from app.pipeline.stages import CLOSED_STAGES, OPEN_STAGES, Stage

    m = models
    counts = data.rows
    day_today = today()
    now = datetime.now(UTC)
    current = data.fiscal_years[-1]
    count = max(40, round(OPPORTUNITIES_PER_SCALE * scale))
    organisation_count = data.rows.get("organisations", 0)
    people_at = getattr(data, "people_at", {})
    weights = [
        (Stage.IDENTIFIED, 20),
        (Stage.QUALIFIED, 16),
        (Stage.CULTIVATION, 16),
        (Stage.PROPOSAL, 14),
        (Stage.VERBAL_COMMITMENT, 8),
        (Stage.WON, 14),
        (Stage.LOST, 7),
        (Stage.DECLINED, 5),
    ]
    cycle = [stage for stage, weight in weights for _ in range(weight)]
    opportunities, splits, changes, contacts = [], [], [], []
    pledges, instalments, deliverables, gifts, applications = [], [], [], [], []
    opportunity_keys = (
        "id",
        "organisation_id",
        "title",
        "owner_id",
        "primary_contact_id",
        "stage",
        "probability",
        "amount",
        "currency",
        "is_restricted",
        "purpose",
        "expected_decision_on",
        "proposal_due_on",
        "next_step",
        "next_step_due_on",
        "introduction_id",
        "close_reason",
        "stage_changed_at",
        "created_at",
        "updated_at",
    )
    gift_id = getattr(data, "next_gift_id", 1)
    max_gifts = max(0, round(GIFTS_PER_SCALE * scale) - gift_id + 1)
    for index in range(count):
        opportunity_id = index + 1
        stage = Stage.WON if opportunity_id == 1 else cycle[index % len(cycle)]
        organisation_id = 1 if index % 200 == 0 else 1 + rng.randrange(max(organisation_count, 1))
        currency = ("USD", "USD", "EUR", "GBP")[index % 4]
        amount = _money(rng.choice([25, 40, 60, 75, 100, 150, 200, 250, 400, 600]) * 1000)
        first = current - 1 + index % 3
        years = list(range(first, first + (3 if opportunity_id == 1 else 1 + index % 3)))
        share = _money(amount / len(years))
        parts = [share] * (len(years) - 1) + [amount - share * (len(years) - 1)]
        created = now - timedelta(days=60 + index % 900)
        path = (
            list(OPEN_STAGES[: OPEN_STAGES.index(stage) + 1])
            if stage.is_open
            else [*OPEN_STAGES[: 1 + index % len(OPEN_STAGES)], stage]
        )
        at = created
        previous = None
        for to_stage in path:
            changes.append(
                (
                    opportunity_id,
                    previous,
                    to_stage,
                    at,
                    DONOR_STAFF[index % 4],
                    "Priorities changed this year" if to_stage.needs_reason else "",
                )
            )
            previous = to_stage
            at = min(at + timedelta(days=20 + index % 40), now)
        stage_changed = changes[-1][3]
        people = people_at.get(organisation_id) or [None]
        primary = people[index % len(people)]
        opportunities.append(
            (
                opportunity_id,
                organisation_id,
                f"{TITLES[index % len(TITLES)]} {years[0]}",
                DONOR_STAFF[index % 4],
                primary,
                stage,
                stage.default_probability,
                amount,
                currency,
                index % 7 == 0,
                "Programme work in the regional hubs" if index % 7 == 0 else "",
                day_today + timedelta(days=-20 + index % 220),
                day_today + timedelta(days=5 + index % 85)
                if stage in (Stage.CULTIVATION, Stage.PROPOSAL)
                else None,
                "Call the programme officer" if index % 2 else "",
                day_today + timedelta(days=-5 + index % 50),
                None,
                "Priorities changed this year" if stage in CLOSED_STAGES[1:] else "",
                stage_changed,
                created,
                stage_changed,
            )
        )
        for year, part in zip(years, parts, strict=True):
            splits.append((opportunity_id, year, part))
        if primary is not None and index % 3 == 0 and len(people) > 1:
            other = people[(index + 1) % len(people)]
            if other != primary:
                contacts.append((opportunity_id, other, "Signatory"))
        if stage != Stage.WON:
            continue
        pledge_id = len(pledges) + 1
        agreed = stage_changed.date()
        pledges.append(
            (
                pledge_id,
                opportunity_id,
                organisation_id,
                amount,
                currency,
                agreed,
                f"GR-{opportunity_id:06d}",
                "",
                now,
                now,
            )
        )
        for year, part in zip(years, parts, strict=True):
            instalment_id = len(instalments) + 1
            expected = fiscal_year(year).starts_on + timedelta(days=30)
            received = Decimal("0.00")
            if expected < day_today and len(gifts) < max_gifts and instalment_id % 4:
                received = part
                on = min(expected + timedelta(days=10), day_today)
                gifts.append(
                    (
                        gift_id,
                        organisation_id,
                        primary,
                        on,
                        part,
                        currency,
                        2 if currency == "EUR" else 1,
                        donors.GiftMethod.WIRE,
                        False,
                        "",
                        None,
                        "",
                        None,
                        donors.AcknowledgementStatus.ACKNOWLEDGED,
                        on + timedelta(days=3),
                        "Letter by e-mail",
                        "",
                        FUNDRAISING_ID,
                        _moment(on, rng),
                    )
                )
                applications.append((gift_id, instalment_id, part, _moment(on, rng), FUNDRAISING_ID))
                gift_id += 1
            instalments.append((instalment_id, pledge_id, part, expected, fiscal_year_of(expected), received))
        due = agreed + timedelta(days=180)
        submitted = due < day_today
        deliverables.append(
            (
                pledge_id,
                m.DeliverableKind.NARRATIVE_REPORT,
                "Interim narrative report",
                due,
                due - timedelta(days=5) if submitted else None,
                "Progress against the logframe, 10 pages at most.",
                m.DeliverableStatus.SUBMITTED if submitted else m.DeliverableStatus.TO_DO,
                now,
            )
        )
    _bulk_rows(connection, m.Opportunity.__table__, opportunity_keys, opportunities, counts)
    _bulk_rows(
        connection, m.OpportunitySplit.__table__, ("opportunity_id", "fiscal_year", "amount"), splits, counts
    )
    _bulk_rows(
        connection,
        m.StageChange.__table__,
        ("opportunity_id", "from_stage", "to_stage", "changed_at", "changed_by_id", "reason"),
        changes,
        counts,
    )
    _bulk_rows(
        connection, m.OpportunityContact.__table__, ("opportunity_id", "contact_id", "role"), contacts, counts
    )
    _bulk_rows(
        connection,
        m.Pledge.__table__,
        (
            "id",
            "opportunity_id",
            "organisation_id",
            "awarded_amount",
            "currency",
            "agreed_on",
            "reference",
            "notes",
            "created_at",
            "updated_at",
        ),
        pledges,
        counts,
    )
    _bulk_rows(
        connection,
        m.Instalment.__table__,
        ("id", "pledge_id", "amount", "expected_on", "fiscal_year", "received_amount"),
        instalments,
        counts,
    )
    _bulk_rows(
        connection,
        m.Deliverable.__table__,
        ("pledge_id", "kind", "title", "due_on", "submitted_on", "requirements", "status", "updated_at"),
        deliverables,
        counts,
    )
    if gifts:
        _bulk_rows(connection, donors.Gift.__table__, GIFT_KEYS, gifts, counts)
        _bulk_rows(
            connection,
            m.GiftApplication.__table__,
            ("gift_id", "instalment_id", "amount", "applied_at", "applied_by_id"),
            applications,
            counts,
        )
    _fill_kept_opportunity_totals(connection, counts)
    data.opportunity_id = 1
    data.pledge_id = 1
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL session_replication_role = origin")


def _fill_kept_opportunity_totals(connection: sa.Connection, counts: dict[str, int]) -> None:
    """The opportunity totals kept for the board and the list, from the asks just inserted (bulk inserts
    bypass the session listener that keeps them)."""
    from app.pipeline.opportunity_totals import OpportunityTotal, OpportunityYearTotal, rebuild_totals

    rebuild_totals(connection)
    for model in (OpportunityTotal, OpportunityYearTotal):
        counts[model.__tablename__] = connection.scalar(sa.select(sa.func.count()).select_from(model))


SEEDERS["donors"] = _seed_donors
SEEDERS["opportunities"] = _seed_opportunities
