import re
from decimal import Decimal

from app.common.fiscal import current_fiscal_year
from app.contributions.models import (
    AdjustmentKind,
    ContributionAdjustment,
    IncomeGroup,
    MemberIncomeGroup,
    PolicyExchangeRate,
)
from app.contributions.services.assessments import assess_member, assess_members, billing_amount
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


# --- From the policy's currency to the hub's ---------------------------------------------------------------


def dollar_policy(make_policy, rates=None, **amounts):
    policy = make_policy(2027, currency="USD", **amounts)
    for currency, rate in (rates or {}).items():
        policy.exchange_rates.append(PolicyExchangeRate(currency=currency, rate=Decimal(rate)))
    db.session.flush()
    return policy


def test_a_member_of_a_hub_in_the_policys_currency_is_billed_without_a_rate(
    make_hub, make_member, make_policy
):
    dollar_policy(make_policy, {"EUR": "0.92"}, lower_middle="10000.00")
    headquarters = make_hub(name="Washington DC", invoice_prefix="HQ", base_currency="USD")
    billing = billing_amount(assess_member(make_member(hub=headquarters), 2027))
    assert (billing.amount, billing.currency, billing.exchange_rate, billing.problem) == (
        Decimal("10000.00"),
        "USD",
        None,
        None,
    )
    assert (billing.assessed_amount, billing.assessed_currency, billing.converted) == (
        Decimal("10000.00"),
        "USD",
        False,
    )


def test_a_brussels_member_is_billed_in_euros_at_the_policys_budget_rate(make_member, make_policy):
    dollar_policy(make_policy, {"EUR": "0.92345678"}, lower_middle="10000.00")
    billing = billing_amount(assess_member(make_member(), 2027))  # the Brussels hub invoices in EUR
    # 10,000 x 0.92345678 = 9,234.5678, rounded half-up to the cent.
    assert (billing.amount, billing.currency) == (Decimal("9234.57"), "EUR")
    assert (billing.assessed_amount, billing.assessed_currency) == (Decimal("10000.00"), "USD")
    assert billing.exchange_rate == Decimal("0.92345678") and billing.rate_label() == "1 USD = 0.92345678 EUR"
    assert billing.rate_label("fr") == "1 USD = 0,92345678 EUR"


def test_the_amount_is_rounded_to_the_hubs_currency(make_hub, make_member, make_policy):
    dollar_policy(make_policy, {"JPY": "151.2345"}, lower_middle="10000.00")
    tokyo = make_hub(name="Tokyo", invoice_prefix="TK", base_currency="JPY")
    assert billing_amount(assess_member(make_member(hub=tokyo), 2027)).amount == Decimal("1512345")


def test_a_missing_rate_is_a_problem_never_a_silent_one_to_one(make_member, make_policy):
    dollar_policy(make_policy, lower_middle="10000.00")
    billing = billing_amount(assess_member(make_member(), 2027))
    assert billing.amount is None and billing.exchange_rate is None
    assert billing.problem == "No FY2027 rate from USD to EUR in the contribution policy."
    assert (billing.assessed_amount, billing.assessed_currency) == (Decimal("10000.00"), "USD")


def test_a_waived_contribution_is_zero_in_any_currency(make_member, make_policy):
    dollar_policy(make_policy)
    member = make_member()
    db.session.add(
        ContributionAdjustment(
            member=member,
            fiscal_year=2027,
            kind=AdjustmentKind.WAIVER,
            reason="Disaster",
            approval_reference="SC-2026-05",
        )
    )
    db.session.flush()
    billing = billing_amount(assess_member(member, 2027))
    assert (billing.amount, billing.currency, billing.problem) == (Decimal("0.00"), "EUR", None)


def test_the_member_page_shows_the_amount_due_in_the_hubs_currency_beside_the_policy_amount(
    login_as, make_member, make_policy
):
    year = current_fiscal_year()
    policy = make_policy(year, currency="USD", lower_middle="10000.00")
    policy.exchange_rates.append(PolicyExchangeRate(currency="EUR", rate=Decimal("0.92")))
    make_policy(year - 1, currency="USD", lower_middle="9500.00")
    member = make_member(fiscal_year=year)
    member.income_groups.append(
        MemberIncomeGroup(fiscal_year=year - 1, income_group=IncomeGroup.LOWER_MIDDLE)
    )
    db.session.flush()

    page = login_as("board").get(f"/contributions/members/{member.id}").text
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))

    assert "Amount due in EUR" in text
    assert "The policy is set in USD; Brussels hub invoices in EUR" in text
    assert "€9,200.00 $10,000.00 at 1 USD = 0.9200 EUR" in text
    # Last year's policy has no budget rate: the page says so rather than billing dollars as euros.
    assert f"No FY{year - 1} rate from USD to EUR in the contribution policy." in text
    assert "$9,500.00 before conversion" in text


def test_members_with_alike_inputs_are_assessed_alike_each_under_its_own_name(make_member, make_policy):
    make_policy(2027, high="50000.00", low="1000.00")
    alike = [make_member(income_group="high", fiscal_year=2027) for _ in range(3)]
    other = make_member(income_group="low", fiscal_year=2027)
    db.session.add(
        ContributionAdjustment(
            member=alike[2],
            fiscal_year=2027,
            kind=AdjustmentKind.AMOUNT,
            amount=Decimal("20000.00"),
            reason="Currency crisis",
            approval_reference="SC-2026-04",
        )
    )
    db.session.flush()

    together = assess_members([*alike, other], 2027)

    assert [a.member for a in together] == [*alike, other]
    assert [a.amount for a in together] == [
        Decimal(x) for x in ("50000.00", "50000.00", "20000.00", "1000.00")
    ]
    for assessment in together:  # the same figures as one member assessed on its own
        alone = assess_member(assessment.member, 2027)
        assert (assessment.amount, assessment.policy_amount, assessment.problem, assessment.waived) == (
            alone.amount,
            alone.policy_amount,
            alone.problem,
            alone.waived,
        )
    assert together[2].adjustment.reason == "Currency crisis" and together[0].adjustment is None
