"""The contribution policy: per fiscal year, the amount per income group for national members and the amount
for local members, and the budget rates from the policy's currency into each currency a hub invoices in.
The figures are data that operations edit; none lives in code."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from ...common.decimals import AMOUNT_OR_ZERO, RATE, check_decimal, decimal_problem
from ...common.errors import ValidationFailed
from ...common.money import is_currency
from ...common.uniqueness import UniqueField, unique_as_field_errors
from ...extensions import db
from ...hubs.models import Hub, HubStatus
from ..models import ContributionPolicy, Invoice, InvoiceKind, InvoiceStatus, PolicyExchangeRate

#: (form field, model column, label) for the five amounts, in the order they are shown.
AMOUNT_FIELDS = [
    ("high", "high_amount", "High income"),
    ("upper_middle", "upper_middle_amount", "Upper-middle income"),
    ("lower_middle", "lower_middle_amount", "Lower-middle income"),
    ("low", "low_amount", "Low income"),
    ("local", "local_amount", "Local members"),
]
CORRECT_THE_FIELDS = "Please correct the fields marked below. Nothing was saved."


#: One policy per fiscal year: the constraint settles two people creating the same year at once.
POLICY_YEAR_UNIQUE = UniqueField(
    "uq_contribution_policies_fiscal_year", "fiscal_year", "This fiscal year already has a policy."
)


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
    #: Budget rates by currency (units of that currency per one unit of the policy's); None removes a rate.
    #: Currencies left out keep the rate they have.
    rates: dict[str, Decimal | None] = dataclasses.field(default_factory=dict)


def rate_field_name(currency: str) -> str:
    """The form field (and error key) of a currency's rate: `rate_EUR`."""
    return f"rate_{currency}"


def hubs_by_currency() -> dict[str, list[str]]:
    """The hubs that are not closed, by the currency they invoice in: {"EUR": ["Brussels hub"], ...}."""
    result: dict[str, list[str]] = {}
    for name, currency in db.session.execute(
        sa.select(Hub.name, Hub.base_currency).where(Hub.status != HubStatus.CLOSED).order_by(Hub.name)
    ):
        result.setdefault(currency, []).append(name)
    return dict(sorted(result.items()))


def invoicing_currencies() -> list[str]:
    """The base currencies of the hubs that are not closed: those a policy may need a rate into."""
    return list(hubs_by_currency())


def rate_error(rate: Decimal) -> str | None:
    """What is wrong with a budget rate, or None when it is acceptable."""
    return decimal_problem(rate, RATE)


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
    with unique_as_field_errors(POLICY_YEAR_UNIQUE, message=CORRECT_THE_FIELDS):
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
        exchange_rates=[
            PolicyExchangeRate(currency=exchange_rate.currency, rate=exchange_rate.rate)
            for exchange_rate in source.exchange_rates
        ],
        **{column: getattr(source, column) for _, column, _ in AMOUNT_FIELDS},
    )
    with unique_as_field_errors(POLICY_YEAR_UNIQUE, message=CORRECT_THE_FIELDS):
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
        elif (problem := decimal_problem(amount, AMOUNT_OR_ZERO, currency)) is not None:
            errors[field] = [problem]
        else:
            amounts[column] = check_decimal(amount, AMOUNT_OR_ZERO, currency)
    rates: dict[str, Decimal | None] = {}
    for rate_currency, rate in (details.rates or {}).items():
        rate_currency = (rate_currency or "").strip().upper()
        if rate_currency == currency:
            continue  # no conversion into the policy's own currency
        if not is_currency(rate_currency):
            errors[rate_field_name(rate_currency)] = [f"{rate_currency} is not an ISO 4217 currency code."]
        elif rate is None:
            rates[rate_currency] = None
        elif (problem := rate_error(rate)) is not None:
            errors[rate_field_name(rate_currency)] = [problem]
        else:
            rates[rate_currency] = rate
    if errors:
        raise ValidationFailed(CORRECT_THE_FIELDS, errors)
    policy.fiscal_year = int(details.fiscal_year)
    policy.currency = currency
    for column, amount in amounts.items():
        setattr(policy, column, amount)
    policy.notes = (details.notes or "").strip()
    _set_rates(policy, rates)


def _set_rates(policy: ContributionPolicy, rates: dict[str, Decimal | None]) -> None:
    existing = {exchange_rate.currency: exchange_rate for exchange_rate in policy.exchange_rates}
    # A rate into the policy's own currency would be meaningless (left over from a change of currency).
    if policy.currency in existing:
        policy.exchange_rates.remove(existing.pop(policy.currency))
    for currency, rate in rates.items():
        current = existing.get(currency)
        if rate is None:
            if current is not None:
                policy.exchange_rates.remove(current)
        elif current is None:
            policy.exchange_rates.append(PolicyExchangeRate(currency=currency, rate=rate))
        elif current.rate != rate:
            current.rate = rate
