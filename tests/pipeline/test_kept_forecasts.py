"""The members' expected contributions kept per fiscal year (app/pipeline/forecast_totals.py) always equal
what the forecast rules make of the records, whatever went before: invoices issued, paid, credited, an
income group recorded, an adjustment decided, a member leaving, the policy changed; and the plan's
collection figures read from them are those computed member by member."""

from __future__ import annotations

import contextlib
import random
from datetime import timedelta
from decimal import Decimal

import pytest

from app.common.fiscal import current_fiscal_year
from app.common.time import today
from app.contributions.models import IncomeGroup, MemberIncomeGroup, MemberStatus, PaymentMethod
from app.contributions.services.invoicing import issue_credit_note, issue_invoice
from app.contributions.services.payments import record_payment
from app.extensions import db
from app.pipeline.forecast_totals import kept_forecasts, kept_group_sums, recompute_forecasts
from app.pipeline.services import expected_contributions as service

D = Decimal


def assert_kept_equal_records():
    db.session.flush()
    assert kept_forecasts() == recompute_forecasts()


def assert_plan_reads_what_the_members_add_up_to(rates):
    year = current_fiscal_year()
    years = [year, year + 1, year + 2]
    assert kept_group_sums(years, year) is not None
    fast = service.contribution_forecasts(years, rates, "USD", year)
    slow = {
        fiscal_year: service._forecast(fiscal_year, members, record_years, rates, "USD")
        for fiscal_year, (members, record_years) in service.member_forecasts_for(years, year).items()
    }
    for fiscal_year in years:
        mine, theirs = fast[fiscal_year], slow[fiscal_year]
        assert [(g.group, g.members) for g in mine.groups] == [(g.group, g.members) for g in theirs.groups]
        for group, other in zip([*mine.groups, mine.total], [*theirs.groups, theirs.total], strict=True):
            for measure, expected in zip(group.measures(), other.measures(), strict=True):
                assert measure.by_currency == expected.by_currency, (fiscal_year, group.group)
                assert measure.converted == expected.converted
        assert (mine.problem_count, mine.first_problem, mine.assessable) == (
            theirs.problem_count, theirs.first_problem, theirs.assessable
        )  # fmt: skip


def test_the_kept_forecasts_follow_every_kind_of_change(
    make_member, make_policy, make_draft_invoice, make_adjustment, make_user, make_rate
):
    rng = random.Random(7)
    year = current_fiscal_year()
    actor = make_user("operations")
    make_rate(year, "EUR", "0.90")
    make_rate(year + 1, "EUR", "0.90")
    make_policy(fiscal_year=year, currency="USD")
    assert_kept_equal_records()
    members = [make_member(fiscal_year=year) for _ in range(4)] + [
        make_member(kind="local", fiscal_year=year)
    ]
    assert_kept_equal_records()

    # A record: invoices of the three years before, partly paid; this year's, partly paid.
    invoices = []
    for number, member in enumerate(members * 2):
        fiscal_year = year - 1 - number % 3 if number < len(members) else year
        draft = make_draft_invoice(
            member=member, amount=f"{rng.randrange(1000, 9000)}.00", fiscal_year=fiscal_year
        )
        invoices.append(issue_invoice(draft, actor, issued_on=today() - timedelta(days=30)))
        assert_kept_equal_records()
    for invoice in invoices[::2]:
        part = (invoice.balance_due * D(rng.randrange(20, 90)) / 100).quantize(D("0.01"))
        on = today() - timedelta(days=2)
        record_payment(invoice.member, part, invoice.currency, on, PaymentMethod.WIRE, actor,
                       allocations=[(invoice, part, None)])  # fmt: skip
        assert_kept_equal_records()
    issue_credit_note(invoices[1], D("100.00"), "Steering Committee decision", actor, issued_on=today())
    assert_kept_equal_records()

    # An income group recorded for next year, an adjustment, a member leaving, the policy changed.
    db.session.add(
        MemberIncomeGroup(member_id=members[0].id, fiscal_year=year + 1, income_group=IncomeGroup.LOW)
    )
    assert_kept_equal_records()
    make_adjustment(member=members[1], fiscal_year=year, amount="1234.00")
    assert_kept_equal_records()
    members[2].status = (
        MemberStatus.SUSPENDED if hasattr(MemberStatus, "SUSPENDED") else list(MemberStatus)[-1]
    )
    assert_kept_equal_records()
    make_policy(fiscal_year=year + 1, currency="USD", low="6000.00")
    assert_kept_equal_records()
    db.session.commit()
    assert_kept_equal_records()
    assert_plan_reads_what_the_members_add_up_to({(year, "EUR"): D("0.90"), (year + 1, "EUR"): D("0.90")})


@pytest.fixture
def refreshes(monkeypatch):
    """The member ids of each forecast refresh, in order (the refresh itself still runs)."""
    from app.pipeline import forecast_totals

    calls = []
    real_refresh = forecast_totals.refresh_members
    monkeypatch.setattr(
        forecast_totals, "refresh_members", lambda ids: (calls.append(sorted(ids)), real_refresh(ids))
    )
    return calls


@pytest.mark.parametrize("in_savepoints", [False, True], ids=["flushes", "savepoints"])
def test_a_transaction_brings_the_kept_forecasts_up_to_date_once_when_it_commits(
    make_member, make_policy, make_draft_invoice, make_user, refreshes, in_savepoints
):
    # Each invoice is flushed several times while it is issued, and the annual run issues each member's
    # invoice in a savepoint of its batch's transaction (releasing one is not the commit): the members'
    # rows are computed once, at the commit, and they are right.
    year = current_fiscal_year()
    actor = make_user("operations")
    make_policy(fiscal_year=year, currency="USD")
    members = [make_member(fiscal_year=year) for _ in range(3)]
    db.session.commit()
    refreshes.clear()

    for member in members:
        with db.session.begin_nested() if in_savepoints else contextlib.nullcontext():
            issue_invoice(make_draft_invoice(member=member, amount="2500.00", fiscal_year=year), actor)
    assert refreshes == []
    db.session.commit()
    assert refreshes == [sorted(member.id for member in members)]
    assert kept_forecasts() == recompute_forecasts()


def test_a_rolled_back_transaction_leaves_nothing_to_bring_up_to_date(
    make_member, make_policy, make_draft_invoice, make_user
):
    from app.pipeline import forecast_totals

    year = current_fiscal_year()
    actor = make_user("operations")
    make_policy(fiscal_year=year, currency="USD")
    member = make_member(fiscal_year=year)
    db.session.commit()

    issue_invoice(make_draft_invoice(member=member, amount="2500.00", fiscal_year=year), actor)
    db.session.flush()
    assert forecast_totals._PENDING in db.session.info
    db.session.rollback()
    assert forecast_totals._PENDING not in db.session.info
    assert kept_forecasts() == recompute_forecasts()
