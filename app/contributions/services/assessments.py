"""What each member is expected to contribute for a fiscal year: the policy amount for its income group,
or its adjustment (a different amount or a waiver). Shared by member pages, the annual run and arrears."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

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

    @property
    def waived(self) -> bool:
        return self.adjustment is not None and self.adjustment.kind == AdjustmentKind.WAIVER


def policy_for(fiscal_year: int) -> ContributionPolicy | None:
    """The contribution policy of a fiscal year, if operations have set one."""
    return db.session.scalar(
        sa.select(ContributionPolicy).where(ContributionPolicy.fiscal_year == fiscal_year)
    )


def assess_members(members: Iterable[Member], fiscal_year: int) -> list[Assessment]:
    """Assess many members in a constant number of queries."""
    members = list(members)
    ids = [member.id for member in members]
    policy = policy_for(fiscal_year)
    groups = dict(
        db.session.execute(
            sa.select(MemberIncomeGroup.member_id, MemberIncomeGroup.income_group).where(
                MemberIncomeGroup.fiscal_year == fiscal_year, MemberIncomeGroup.member_id.in_(ids)
            )
        ).all()
    )
    adjustments = {
        adjustment.member_id: adjustment
        for adjustment in db.session.scalars(
            sa.select(ContributionAdjustment).where(
                ContributionAdjustment.fiscal_year == fiscal_year, ContributionAdjustment.member_id.in_(ids)
            )
        )
    }
    return [
        _assess(member, fiscal_year, policy, groups.get(member.id), adjustments.get(member.id))
        for member in members
    ]


def assess_member(member: Member, fiscal_year: int) -> Assessment:
    """The expected contribution of one member for one fiscal year."""
    return assess_members([member], fiscal_year)[0]


def _assess(member, fiscal_year, policy, income_group, adjustment) -> Assessment:
    problem = None
    policy_amount = None
    if policy is None:
        problem = f"There is no contribution policy for FY{fiscal_year}."
    elif member.kind == MemberKind.NATIONAL and income_group is None:
        problem = f"No income group is recorded for FY{fiscal_year}."
    else:
        policy_amount = policy.amount_for(member.kind, income_group)
    amount = policy_amount
    if adjustment is not None:
        amount = Decimal("0.00") if adjustment.kind == AdjustmentKind.WAIVER else adjustment.amount
        if policy is not None:
            problem = None  # a decided amount stands even without an income group
    return Assessment(
        member=member,
        fiscal_year=fiscal_year,
        amount=amount if problem is None else None,
        currency=policy.currency if policy is not None else None,
        income_group=income_group,
        policy_amount=policy_amount,
        adjustment=adjustment,
        problem=problem,
    )
