"""The contribution policy: per fiscal year, the amount per income group for national members and the amount
for local members. The figures are data that operations edit; none lives in code."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from ...common.errors import ValidationFailed
from ...common.money import is_currency
from ...extensions import db
from ..models import ContributionPolicy, Invoice, InvoiceKind, InvoiceStatus

#: (form field, model column, label) for the five amounts, in the order they are shown.
AMOUNT_FIELDS = [
    ("high", "high_amount", "High income"),
    ("upper_middle", "upper_middle_amount", "Upper-middle income"),
    ("lower_middle", "lower_middle_amount", "Lower-middle income"),
    ("low", "low_amount", "Low income"),
    ("local", "local_amount", "Local members"),
]
CORRECT_THE_FIELDS = "Please correct the fields marked below. Nothing was saved."


class PolicyExists(ValidationFailed):
    """A fiscal year already has its policy."""


@dataclass
class PolicyDetails:
    fiscal_year: int
    currency: str
    high: Decimal | None
    upper_middle: Decimal | None
    lower_middle: Decimal | None
    low: Decimal | None
    local: Decimal | None
    notes: str = ""


def policies() -> list[ContributionPolicy]:
    """Every year's policy, newest first."""
    return list(
        db.session.scalars(sa.select(ContributionPolicy).order_by(ContributionPolicy.fiscal_year.desc()))
    )


def get_policy(fiscal_year: int) -> ContributionPolicy | None:
    return db.session.scalar(
        sa.select(ContributionPolicy).where(ContributionPolicy.fiscal_year == fiscal_year)
    )


def create_policy(details: PolicyDetails) -> ContributionPolicy:
    """Set the policy of a fiscal year that has none yet."""
    if details.fiscal_year is not None and get_policy(details.fiscal_year) is not None:
        raise PolicyExists(
            f"FY{details.fiscal_year} already has a policy; edit it instead.",
            {"fiscal_year": [f"FY{details.fiscal_year} already has a policy."]},
        )
    policy = ContributionPolicy()
    _apply(policy, details)
    db.session.add(policy)
    db.session.flush()
    return policy


def update_policy(policy: ContributionPolicy, details: PolicyDetails) -> ContributionPolicy:
    """Change a year's amounts, currency or notes (the year itself stays)."""
    details.fiscal_year = policy.fiscal_year
    _apply(policy, details)
    db.session.flush()
    return policy


def copy_policy_forward(fiscal_year: int) -> ContributionPolicy:
    """Start `fiscal_year`'s policy from the previous year's figures; refused if the year already has one."""
    if not 2000 <= int(fiscal_year) <= 2100:
        raise ValidationFailed(CORRECT_THE_FIELDS, {"fiscal_year": ["Give a fiscal year such as 2027."]})
    if get_policy(fiscal_year) is not None:
        raise PolicyExists(
            f"FY{fiscal_year} already has a policy; nothing was copied.",
            {"fiscal_year": [f"FY{fiscal_year} already has a policy."]},
        )
    source = get_policy(fiscal_year - 1)
    if source is None:
        raise ValidationFailed(
            f"There is no FY{fiscal_year - 1} policy to copy from.",
            {"fiscal_year": [f"There is no FY{fiscal_year - 1} policy to copy from."]},
        )
    policy = ContributionPolicy(
        fiscal_year=fiscal_year,
        currency=source.currency,
        notes=f"Copied from FY{source.fiscal_year}.",
        **{column: getattr(source, column) for _, column, _ in AMOUNT_FIELDS},
    )
    db.session.add(policy)
    db.session.flush()
    return policy


def issued_annual_invoice_count(fiscal_year: int) -> int:
    """How many annual contribution invoices were issued for a year (they keep the amounts they were issued
    with, whatever the policy later says)."""
    return db.session.scalar(
        sa.select(sa.func.count(Invoice.id)).where(
            Invoice.fiscal_year == fiscal_year,
            Invoice.kind == InvoiceKind.ANNUAL_CONTRIBUTION,
            Invoice.status != InvoiceStatus.DRAFT,
        )
    )


def _apply(policy: ContributionPolicy, details: PolicyDetails) -> None:
    errors: dict[str, list[str]] = {}
    if details.fiscal_year is None or not 2000 <= int(details.fiscal_year) <= 2100:
        errors["fiscal_year"] = ["Give a fiscal year such as 2027."]
    currency = (details.currency or "").strip().upper()
    if not is_currency(currency):
        errors["currency"] = ["Give an ISO 4217 currency code such as USD or EUR."]
    amounts = {}
    for field, column, _label in AMOUNT_FIELDS:
        amount = getattr(details, field)
        if amount is None:
            errors[field] = ["Give an amount (0 if nothing is expected)."]
        elif amount < 0:
            errors[field] = ["An amount cannot be negative."]
        elif amount >= Decimal("1000000000000"):
            errors[field] = ["That amount is too large."]
        else:
            amounts[column] = amount.quantize(Decimal("0.01"))
    if errors:
        raise ValidationFailed(CORRECT_THE_FIELDS, errors)
    policy.fiscal_year = int(details.fiscal_year)
    policy.currency = currency
    for column, amount in amounts.items():
        setattr(policy, column, amount)
    policy.notes = (details.notes or "").strip()
