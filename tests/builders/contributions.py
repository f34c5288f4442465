"""Contributions: members, policies, invoices (draft or issued) and contribution adjustments."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pycountry
import pytest
from sqlalchemy import select

from app.common.languages import Language
from app.contributions.models import (
    AdjustmentKind,
    ContributionAdjustment,
    ContributionPolicy,
    IncomeGroup,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Member,
    MemberContact,
    MemberIncomeGroup,
    MemberKind,
)
from app.extensions import db

_numbers = itertools.count(1)
#: Real ISO codes, so that country lookups work; each test gets fresh ones.
_COUNTRIES = itertools.cycle(
    [
        "FR",
        "ES",
        "MX",
        "KE",
        "GH",
        "PE",
        "CL",
        "CO",
        "SN",
        "MA",
        "TN",
        "PH",
        "ID",
        "NG",
        "UA",
        "GE",
        "AR",
        "BR",
    ]
)


@pytest.fixture
def make_member(hub):
    """make_member(kind="national", income_group="lower_middle", fiscal_year=2027, language="fr", ...)."""

    def build(**overrides) -> Member:
        number = next(_numbers)
        kind = MemberKind(overrides.pop("kind", MemberKind.NATIONAL))
        income_group = overrides.pop("income_group", IncomeGroup.LOWER_MIDDLE)
        fiscal_year = overrides.pop("fiscal_year", 2027)
        with_contact = overrides.pop("with_contact", True)
        country = overrides.pop("country_code", None)
        explicit = bool(country)
        if country:
            _explicit.add(country)
        else:
            country = next(_COUNTRIES)
        defaults = dict(
            kind=kind,
            name=f"Member {number}" if kind == MemberKind.LOCAL else f"Republic {number}",
            country_code=country
            if kind == MemberKind.LOCAL or explicit
            else _unique_country(country, number),
            language=Language.EN,
            hub=overrides.pop("hub", hub),
            joined_on=date(2020, 1, 1),
            billing_address="Ministry of Finance\n1 Main Street\nCapital City",
        )
        defaults.update(overrides)
        member = Member(**defaults)
        db.session.add(member)
        if with_contact:
            member.contacts.append(
                MemberContact(name=f"Contact {number}", email=f"contact{number}@gov.example", is_primary=True)
            )
        if income_group is not None and kind == MemberKind.NATIONAL:
            member.income_groups.append(
                MemberIncomeGroup(fiscal_year=fiscal_year, income_group=IncomeGroup(income_group))
            )
        db.session.flush()
        return member

    return build


_ALL_COUNTRIES = sorted(country.alpha_2 for country in pycountry.countries)


def _unique_country(country: str | None, number: int) -> str:
    # National members are unique per country: walk the ISO list so that a test never builds two alike,
    # stepping over countries that already have a national member in this test.
    taken = (
        set(db.session.scalars(select(Member.country_code).where(Member.kind == MemberKind.NATIONAL)))
        | _explicit
    )
    start = number % len(_ALL_COUNTRIES)
    for offset in range(len(_ALL_COUNTRIES)):
        code = _ALL_COUNTRIES[(start + offset) % len(_ALL_COUNTRIES)]
        if code not in taken:
            return code
    raise RuntimeError("every country already has a national member")


_explicit: set[str] = set()


@pytest.fixture
def make_policy():
    """make_policy(fiscal_year=2027, currency="EUR", high="50000.00", ...)."""

    def build(fiscal_year: int = 2027, currency: str = "EUR", **amounts) -> ContributionPolicy:
        policy = ContributionPolicy(
            fiscal_year=fiscal_year,
            currency=currency,
            high_amount=Decimal(amounts.get("high", "50000.00")),
            upper_middle_amount=Decimal(amounts.get("upper_middle", "25000.00")),
            lower_middle_amount=Decimal(amounts.get("lower_middle", "10000.00")),
            low_amount=Decimal(amounts.get("low", "5000.00")),
            local_amount=Decimal(amounts.get("local", "2500.00")),
        )
        db.session.add(policy)
        db.session.flush()
        return policy

    return build


@pytest.fixture
def make_draft_invoice(make_member):
    """make_draft_invoice(member=..., amount="10000.00", currency="EUR", fiscal_year=2027)."""

    def build(**overrides) -> Invoice:
        member = overrides.pop("member", None) or make_member()
        amount = Decimal(overrides.pop("amount", "10000.00"))
        invoice = Invoice(
            kind=overrides.pop("kind", InvoiceKind.OTHER),
            member=member,
            hub=overrides.pop("hub", member.hub),
            fiscal_year=overrides.pop("fiscal_year", 2027),
            currency=overrides.pop("currency", member.hub.base_currency),
            language=overrides.pop("language", member.language),
            subtotal=amount,
            total=amount,
            **overrides,
        )
        invoice.lines.append(
            InvoiceLine(position=1, description="Contribution", unit_amount=amount, amount=amount)
        )
        db.session.add(invoice)
        db.session.flush()
        return invoice

    return build


@pytest.fixture
def make_issued_invoice(make_draft_invoice):
    """An invoice put straight into the issued state, for tests about what happens after issue.

    It does not go through the issuing service: tests of issuing itself must call that service.
    """

    def build(issued_on: date = date(2027, 1, 15), due_in_days: int = 30, **overrides) -> Invoice:
        invoice = make_draft_invoice(**overrides)
        invoice.number = f"{invoice.hub.invoice_prefix}-{invoice.fiscal_year}-T{invoice.id:04d}"
        invoice.status = InvoiceStatus.ISSUED
        invoice.issued_on = issued_on
        invoice.due_on = issued_on + timedelta(days=due_in_days)
        invoice.bill_to = {"name": invoice.member.name, "address": invoice.member.billing_address}
        invoice.pdf_bytes = b"%PDF-1.7 test"
        invoice.pdf_sha256 = "0" * 64
        db.session.flush()
        return invoice

    return build


_approvals = itertools.count(1)


@pytest.fixture
def make_adjustment(make_member):
    """A Steering Committee decision on one member's contribution for a year: an agreed amount
    (make_adjustment(member=..., amount="20000.00")) or, with kind="waiver", nothing due. Reason and approval
    reference are filled in unless given."""

    def build(**overrides) -> ContributionAdjustment:
        member = overrides.pop("member", None) or make_member()
        kind = AdjustmentKind(overrides.pop("kind", AdjustmentKind.AMOUNT))
        amount = overrides.pop("amount", "20000.00" if kind == AdjustmentKind.AMOUNT else None)
        number = next(_approvals)
        reason = "Currency crisis" if kind == AdjustmentKind.AMOUNT else "Earthquake"
        adjustment = ContributionAdjustment(
            member=member,
            fiscal_year=overrides.pop("fiscal_year", 2027),
            kind=kind,
            amount=Decimal(amount) if amount is not None else None,
            reason=overrides.pop("reason", reason),
            approval_reference=overrides.pop("approval_reference", f"SC-2026-{number:02d}"),
            **overrides,
        )
        db.session.add(adjustment)
        db.session.flush()
        return adjustment

    return build
