"""Demo invoices: the two previous fiscal years' annual contribution invoices, a few "other" invoices (one
left as a draft), and one credit note, all issued through the invoicing services so that numbers and PDFs are
real.

Runs after hubs and members are seeded. Issue dates are spread over the past two years so that ageing and
arrears have data; the payments demo adds payments. Running it twice adds nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import force_locale, gettext

from ...common.audit import acting_as
from ...common.fiscal import current_fiscal_year, fiscal_year, fiscal_year_of
from ...common.time import today
from ...extensions import db
from ...hubs.models import Hub
from ..models import CreditNote, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, Member, MemberStatus
from ..services.assessments import assess_members, billing_amount
from ..services.invoicing import create_draft_invoice, issue_credit_note, issue_invoice

#: (member name or ISO code, hub prefix, description, amount, issue-date offset in days back, leave as draft)
OTHER_INVOICES = [
    ("SN", "BE", "Peer-learning workshop, Dakar: participation of two delegates", "3200.00", 200, False),
    ("FR", "BE", "Co-financing of the regional open-data conference", "15000.00", 120, False),
    ("MX", "HQ", "Technical assistance mission, second phase", "8750.00", 75, False),
    ("ES", "BE", "Translation of the national action plan review", "1980.00", 20, False),
    ("CL", "HQ", "Regional meeting of local governments: venue share", "4200.00", 0, True),
]

CREDIT_REASON = "Contribution reduced by Steering Committee decision SC-{year}-07 (budget cut)"


def _annual_description(fiscal_year_number: int, language: str) -> str:
    with force_locale(language):
        return gettext("Annual contribution, fiscal year %(year)s", year=str(fiscal_year_number))


def _issue_date(fiscal_year_number: int, index: int) -> date:
    """Annual invoices go out in the weeks before their fiscal year starts, spread over about three months;
    every eighth one went out late (a member that joined or confirmed its group late), so that recent ageing
    buckets have data too. All dates fall within the past two years."""
    spread = timedelta(days=(index * 7) % 90)
    if index % 8 == 7:
        return today() - timedelta(days=(index * 11) % 100)
    usual = fiscal_year(fiscal_year_number).starts_on - timedelta(days=45) + spread
    return min(max(usual, today() - timedelta(days=730) + spread), today())


def _seed_annual(fiscal_year_number: int, every: int) -> int:
    members = list(
        db.session.scalars(
            sa.select(Member).where(Member.status == MemberStatus.ACTIVE).order_by(Member.id)
        ).unique()
    )[::every]
    invoiced = set(
        db.session.scalars(
            sa.select(Invoice.member_id).where(
                Invoice.fiscal_year == fiscal_year_number, Invoice.kind == InvoiceKind.ANNUAL_CONTRIBUTION
            )
        )
    )
    planned = []
    for index, assessment in enumerate(assess_members(members, fiscal_year_number)):
        member = assessment.member
        if member.id in invoiced or assessment.amount is None or assessment.amount <= 0:
            continue
        # Each hub bills in its own currency, at the year's budget rate (a year without one is skipped).
        billing = billing_amount(assessment, member.hub)
        if billing.problem:
            continue
        planned.append((_issue_date(fiscal_year_number, index), member, billing))
    # Issued in date order, so that numbers and issue dates rise together.
    planned.sort(key=lambda item: (item[0], item[1].id))
    for issued_on, member, billing in planned:
        invoice = create_draft_invoice(
            member,
            fiscal_year_number,
            [(_annual_description(fiscal_year_number, member.language.value), billing.amount)],
            None,
            kind=InvoiceKind.ANNUAL_CONTRIBUTION,
            currency=billing.currency,
            conversion=billing,
        )
        issue_invoice(invoice, None, issued_on=issued_on)
    return len(planned)


def _member(code_or_name: str) -> Member | None:
    return db.session.scalars(
        sa.select(Member)
        .where(sa.or_(Member.country_code == code_or_name, Member.name == code_or_name))
        .order_by(Member.kind.desc(), Member.id)  # a national member before a city of that country
    ).first()


def _seed_other() -> int:
    created = 0
    for code, prefix, description, amount, days_back, leave_as_draft in OTHER_INVOICES:
        member = _member(code)
        hub = db.session.scalar(sa.select(Hub).where(Hub.invoice_prefix == prefix))
        if member is None or hub is None:
            continue
        exists = db.session.scalar(
            sa.select(Invoice.id)
            .join(InvoiceLine)
            .where(Invoice.member_id == member.id, InvoiceLine.description == description)
        )
        if exists:
            continue
        issued_on = today() - timedelta(days=days_back)
        invoice = create_draft_invoice(
            member,
            fiscal_year_of(issued_on),
            [(description, Decimal(amount))],
            None,
            hub=hub,
            notes="Thank you for your continued support.",
        )
        if not leave_as_draft:
            issue_invoice(invoice, None, issued_on=issued_on)
        created += 1
    return created


def _seed_credit_note(fiscal_years: list[int]) -> int:
    if db.session.scalar(sa.select(sa.func.count()).select_from(CreditNote)):
        return 0
    invoice = db.session.scalars(
        sa.select(Invoice)
        .where(
            Invoice.fiscal_year.in_(fiscal_years),
            Invoice.kind == InvoiceKind.ANNUAL_CONTRIBUTION,
            Invoice.status.in_([InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID]),
        )
        .order_by(Invoice.fiscal_year, Invoice.total.desc(), Invoice.id)
    ).first()
    if invoice is None:
        return 0
    amount = (invoice.balance_due / 5).quantize(Decimal("0.01"))
    issue_credit_note(
        invoice,
        amount,
        CREDIT_REASON.format(year=invoice.fiscal_year),
        None,
        issued_on=min(invoice.issued_on + timedelta(days=60), today()),
    )
    return 1


def seed_invoices() -> int:
    """Issue the demo invoices and one credit note (idempotent); returns how many documents were added."""
    current = current_fiscal_year()
    with acting_as(None, label="seed-demo"):
        added = _seed_annual(current - 2, every=4)
        added += _seed_annual(current - 1, every=1)
        added += _seed_other()
        added += _seed_credit_note([current - 2, current - 1])
        db.session.flush()
    return added
