from decimal import Decimal

from app.contributions.models import AdjustmentKind, ContributionAdjustment, IncomeGroup
from app.contributions.services.assessments import assess_member, assess_members
from app.extensions import db


def test_a_national_member_owes_its_income_groups_amount(make_member, make_policy):
    make_policy(2027, lower_middle="10000.00")
    member = make_member(income_group=IncomeGroup.LOWER_MIDDLE, fiscal_year=2027)
    assessment = assess_member(member, 2027)
    assert (assessment.amount, assessment.currency, assessment.problem) == (Decimal("10000.00"), "EUR", None)


def test_a_local_member_owes_the_local_amount(make_member, make_policy):
    make_policy(2027, local="2500.00")
    assert assess_member(make_member(kind="local"), 2027).amount == Decimal("2500.00")


def test_a_missing_income_group_or_policy_is_a_problem_not_a_zero(make_member, make_policy):
    member = make_member(income_group=None)
    assert assess_member(member, 2027).problem == "There is no contribution policy for FY2027."
    make_policy(2027)
    assessment = assess_member(member, 2027)
    assert assessment.amount is None and "No income group" in assessment.problem


def test_an_adjustment_replaces_the_policy_amount_and_a_waiver_makes_it_zero(make_member, make_policy):
    make_policy(2027, high="50000.00")
    reduced, waived = make_member(income_group="high"), make_member(income_group="high")
    db.session.add_all(
        [
            ContributionAdjustment(
                member=reduced,
                fiscal_year=2027,
                kind=AdjustmentKind.AMOUNT,
                amount=Decimal("20000.00"),
                reason="Currency crisis",
                approval_reference="SC-2026-04",
            ),
            ContributionAdjustment(
                member=waived,
                fiscal_year=2027,
                kind=AdjustmentKind.WAIVER,
                reason="Disaster",
                approval_reference="SC-2026-05",
            ),
        ]
    )
    db.session.flush()
    by_member = {a.member.id: a for a in assess_members([reduced, waived], 2027)}
    assert by_member[reduced.id].amount == Decimal("20000.00")
    assert by_member[reduced.id].policy_amount == Decimal("50000.00")
    assert by_member[waived.id].amount == Decimal("0.00") and by_member[waived.id].waived
