"""What each member is expected to contribute for a fiscal year: the policy amount for its income group,
or its adjustment (a different amount or a waiver). Shared by member pages, the annual run and arrears.

The policy is set in one currency (the reporting currency) while each hub invoices in its own:
`billing_amount` is the one place where an assessment becomes an amount in the hub's currency, at the
budget rate the policy sets for the year. A missing rate is a problem to fix, never a silent 1:1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from ...common.money import MissingRate, convert, rate_label
from ...extensions import db
from ..models import (
    AdjustmentKind,
    ContributionAdjustment,
    ContributionPolicy,
    IncomeGroup,
    Member,
    MemberIncomeGroup,
    MemberKind,
)


@dataclass(frozen=True)
class Assessment:
    member: Member
    fiscal_year: int
    #: None when it cannot be computed (see `problem`).
    amount: Decimal | None
    currency: str | None
    income_group: IncomeGroup | None
    policy_amount: Decimal | None
    adjustment: ContributionAdjustment | None
    problem: str | None
    #: The year's policy, with its exchange rates (None when there is none).
    policy: ContributionPolicy | None = None

    @property
    def waived(self) -> bool:
        return self.adjustment is not None and self.adjustment.kind == AdjustmentKind.WAIVER


def policy_for(fiscal_year: int) -> ContributionPolicy | None:
    """The contribution policy of a fiscal year, if operations have set one."""
    return db.session.scalar(
        sa.select(ContributionPolicy).where(ContributionPolicy.fiscal_year == fiscal_year)
    )


@dataclass(frozen=True)
class AssessedAmount:
    """What the assessment rules give for one set of inputs (a member kind, a fiscal year, an income group
    and an adjustment's kind and amount), whichever member has them: alike members share one."""

    fiscal_year: int
    #: In `currency`, the policy's; None when it cannot be computed (see `problem`).
    amount: Decimal | None
    currency: str | None
    policy_amount: Decimal | None
    problem: str | None
    policy: ContributionPolicy | None
    waived: bool


def assessed_amount(
    kind: MemberKind,
    fiscal_year: int,
    policy: ContributionPolicy | None,
    income_group: IncomeGroup | None,
    adjustment_kind: AdjustmentKind | None = None,
    adjustment_amount: Decimal | None = None,
) -> AssessedAmount:
    """The assessment rules: the policy amount for the kind and income group, replaced by an adjustment
    (a waiver is zero) when there is one; a problem instead when no amount can be computed."""
    problem = None
    policy_amount = None
    if policy is None:
        problem = f"There is no contribution policy for FY{fiscal_year}."
    elif kind == MemberKind.NATIONAL and income_group is None:
        problem = f"No income group is recorded for FY{fiscal_year}."
    else:
        policy_amount = policy.amount_for(kind, income_group)
    amount = policy_amount
    if adjustment_kind is not None:
        amount = Decimal("0.00") if adjustment_kind == AdjustmentKind.WAIVER else adjustment_amount
        if policy is not None:
            problem = None  # a decided amount stands even without an income group
    return AssessedAmount(
        fiscal_year=fiscal_year,
        amount=amount if problem is None else None,
        currency=policy.currency if policy is not None else None,
        policy_amount=policy_amount,
        problem=problem,
        policy=policy,
        waived=adjustment_kind == AdjustmentKind.WAIVER,
    )


class AlikeAssessments:
    """Assesses many members over many years, applying the rules once per set of alike inputs: a report of
    every member and year computes each distinct figure once (members share a few policy amounts)."""

    def __init__(self, policies: dict[int, ContributionPolicy]):
        #: fiscal year -> its policy (a year missing has none).
        self.policies = policies
        self._amounts: dict[tuple, AssessedAmount] = {}

    def amount(
        self,
        kind: MemberKind,
        fiscal_year: int,
        income_group: IncomeGroup | None,
        adjustment_kind: AdjustmentKind | None = None,
        adjustment_amount: Decimal | None = None,
    ) -> AssessedAmount:
        """`assessed_amount` for these inputs, computed once."""
        key = (kind, fiscal_year, income_group, adjustment_kind, adjustment_amount)
        found = self._amounts.get(key)
        if found is None:
            found = self._amounts[key] = assessed_amount(
                kind, fiscal_year, self.policies.get(fiscal_year), *key[2:]
            )
        return found

    def of(self, member, fiscal_year: int, income_group, adjustment) -> Assessment:
        """One member's assessment for a year, from its income group and adjustment already read."""
        if adjustment is None:
            assessed = self.amount(member.kind, fiscal_year, income_group)
        else:
            assessed = self.amount(member.kind, fiscal_year, income_group, adjustment.kind, adjustment.amount)
        return Assessment(
            member=member,
            fiscal_year=fiscal_year,
            amount=assessed.amount,
            currency=assessed.currency,
            income_group=income_group,
            policy_amount=assessed.policy_amount,
            adjustment=adjustment,
            problem=assessed.problem,
            policy=assessed.policy,
        )


def policies_for(fiscal_years: Iterable[int]) -> dict[int, ContributionPolicy]:
    """fiscal year -> its contribution policy, for those of these years that have one (one query)."""
    return {
        policy.fiscal_year: policy
        for policy in db.session.scalars(
            sa.select(ContributionPolicy).where(ContributionPolicy.fiscal_year.in_(list(fiscal_years)))
        )
    }


def assess_members(members: Iterable[Member], fiscal_year: int, policies=None) -> list[Assessment]:
    """Assess many members in a constant number of queries (`policies`: `policies_for` the year, if read)."""
    return assess_members_years(members, [fiscal_year], policies)[fiscal_year]


def assess_members_years(
    members: Iterable[Member],
    fiscal_years: Iterable[int],
    policies: dict[int, ContributionPolicy] | None = None,
) -> dict[int, list[Assessment]]:
    """Assess many members for several years: year -> the members' assessments (in the members' order), in
    four queries whatever the number of years (policies, their rates, income groups, adjustments; two when
    `policies`, `policies_for` these years, are given)."""
    members = list(members)
    years = list(fiscal_years)
    ids = [member.id for member in members]
    assessor = AlikeAssessments(policies_for(years) if policies is None else policies)
    groups = {
        (member_id, year): group
        for member_id, year, group in db.session.execute(
            sa.select(
                MemberIncomeGroup.member_id, MemberIncomeGroup.fiscal_year, MemberIncomeGroup.income_group
            ).where(MemberIncomeGroup.fiscal_year.in_(years), MemberIncomeGroup.member_id.in_(ids))
        )
    }
    adjustments = {
        (adjustment.member_id, adjustment.fiscal_year): adjustment
        for adjustment in db.session.scalars(
            sa.select(ContributionAdjustment).where(
                ContributionAdjustment.fiscal_year.in_(years), ContributionAdjustment.member_id.in_(ids)
            )
        )
    }
    return {
        year: [
            assessor.of(member, year, groups.get((member.id, year)), adjustments.get((member.id, year)))
            for member in members
        ]
        for year in years
    }


def assess_member_years(member: Member, fiscal_years: Iterable[int], adjustments=None) -> list[Assessment]:
    """The member's assessments for these years, in the order given, in two queries whatever their number
    (the years' policies, with their rates): income groups come from `member.income_groups` and
    adjustments from `adjustments` when given (the member page has read both already)."""
    years = list(fiscal_years)
    assessor = AlikeAssessments(policies_for(years))
    groups = {record.fiscal_year: record.income_group for record in member.income_groups}
    if adjustments is None:
        adjustments = db.session.scalars(
            sa.select(ContributionAdjustment).where(
                ContributionAdjustment.member_id == member.id, ContributionAdjustment.fiscal_year.in_(years)
            )
        )
    by_year = {adjustment.fiscal_year: adjustment for adjustment in adjustments}
    return [assessor.of(member, year, groups.get(year), by_year.get(year)) for year in years]


def assess_member(member: Member, fiscal_year: int) -> Assessment:
    """The expected contribution of one member for one fiscal year."""
    return assess_members([member], fiscal_year)[0]


def assess_from(member, fiscal_year, policy, income_group, adjustment) -> Assessment:
    """Apply the assessment rules to a policy, an income group and an adjustment already read."""
    return AlikeAssessments({fiscal_year: policy} if policy is not None else {}).of(
        member, fiscal_year, income_group, adjustment
    )


# --- From the policy's currency to the hub's --------------------------------------------------------------


@dataclass(frozen=True)
class BillingAmount:
    """An assessment as the member's hub bills it: in the hub's currency, with the conversion it took."""

    #: What the hub bills, in `currency`; None when it cannot be computed (see `problem`).
    amount: Decimal | None
    #: The hub's base currency.
    currency: str
    #: What the policy assessed, in `assessed_currency` (the policy's currency); None when not computed.
    assessed_amount: Decimal | None
    assessed_currency: str | None
    #: Units of `currency` per one unit of `assessed_currency`; None when no conversion was needed.
    exchange_rate: Decimal | None
    fiscal_year: int
    problem: str | None = None

    @property
    def converted(self) -> bool:
        return self.exchange_rate is not None

    def convert(self, amount: Decimal | None) -> Decimal | None:
        """Another amount in the assessed currency (say, the policy amount) at the same rate."""
        if amount is None or self.assessed_currency is None:
            return None
        try:
            return convert(amount, self.assessed_currency, self.currency, self.exchange_rate).amount
        except MissingRate:
            return None

    def rate_label(self, locale: str = "en") -> str:
        """`1 USD = 0.9200 EUR`, or an empty string when there was no conversion."""
        if self.exchange_rate is None:
            return ""
        return rate_label(self.assessed_currency, self.exchange_rate, self.currency, locale)


def missing_rate_problem(fiscal_year: int, from_currency: str, to_currency: str) -> str:
    return f"No FY{fiscal_year} rate from {from_currency} to {to_currency} in the contribution policy."


def billing_amount(assessment: Assessment, hub=None, currency: str | None = None) -> BillingAmount:
    """The assessment in the currency of the hub that invoices it (the member's hub unless given; `currency`
    overrides the hub's, for reports on invoices billed in another): same currency, no rate; otherwise the
    policy's budget rate for the year, rounded to that currency. A missing rate is a `problem`, never a 1:1
    conversion."""
    currency = currency or (hub or assessment.member.hub).base_currency
    assessed, assessed_currency = assessment.amount, assessment.currency
    common = dict(currency=currency, assessed_currency=assessed_currency, fiscal_year=assessment.fiscal_year)
    if assessed is None:
        return BillingAmount(
            amount=None, assessed_amount=None, exchange_rate=None, problem=assessment.problem, **common
        )
    if assessed_currency == currency:
        return BillingAmount(amount=assessed, assessed_amount=assessed, exchange_rate=None, **common)
    rate = assessment.policy.rate_to(currency) if assessment.policy is not None else None
    try:
        # A waiver or a zero amount is zero in every currency: it converts without a rate.
        converted = convert(assessed, assessed_currency, currency, rate)
    except MissingRate:
        return BillingAmount(
            amount=None,
            assessed_amount=assessed,
            exchange_rate=None,
            problem=missing_rate_problem(assessment.fiscal_year, assessed_currency, currency),
            **common,
        )
    return BillingAmount(
        amount=converted.amount, assessed_amount=assessed, exchange_rate=converted.rate, **common
    )
