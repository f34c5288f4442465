"""The plan's kept totals (app/pipeline/plan_totals.py) always equal what the records add up to, whatever
mix of new asks, edits, stage moves, wins, gifts applied and removed, reschedules, payments, refunds, a
donor's kind changing, deletions and merges went before; and the plan read from them shows what the records
say. An earlier as-of reads the records, each ask at the stage it had that day."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.common.fiscal import current_fiscal_year
from app.common.time import today
from app.contributions.models import PaymentMethod
from app.contributions.services.payments import record_payment, record_refund
from app.donors.merge import merge_organisations
from app.donors.models import OrganisationKind
from app.extensions import db
from app.pipeline.models import Opportunity, StageChange
from app.pipeline.plan_totals import kept_plan_totals, recompute_plan_totals
from app.pipeline.services import plan_report as report_service
from app.pipeline.services.board import board_report
from app.pipeline.services.opportunities import move_stage
from app.pipeline.services.pledges import apply_gift, remove_application, reschedule
from app.pipeline.sources import Source
from app.pipeline.stages import OPEN_STAGES, Stage

D = Decimal


def assert_kept_equal_records():
    db.session.flush()
    connection = db.session.connection()
    assert kept_plan_totals(connection) == recompute_plan_totals(connection)


def assert_plan_from_totals_matches_the_records(years):
    as_of = today()
    rows = report_service.plan_totals.read_totals(years)
    secured, weighted = report_service.kept_figures(years, rows)
    from_records = (
        report_service.contribution_payments(years, as_of)
        + report_service.pledge_instalments(years, as_of)
        + report_service.gifts_without_pledge(years, as_of)
    )

    def summed(figures):
        totals: dict = {}
        for figure in figures:
            key = (figure.fiscal_year, figure.source, figure.currency)
            totals[key] = totals.get(key, D(0)) + figure.amount
        return {key: amount for key, amount in totals.items() if amount}

    assert summed(secured) == summed(from_records)
    assert summed(weighted) == summed(report_service.weighted_pipeline(years, as_of))


def test_the_kept_plan_totals_follow_every_kind_of_change(
    make_opportunity, make_organisation, make_gift, make_member, make_user, fundraiser
):
    rng = random.Random(12)
    year = current_fiscal_year()
    years = [year, year + 1, year + 2]
    actor = make_user("operations")
    donors = [
        make_organisation(kind=OrganisationKind.PRIVATE_FOUNDATION),
        make_organisation(kind=OrganisationKind.BILATERAL_AGENCY),
        make_organisation(kind=OrganisationKind.COMPANY),
    ]
    asks = []
    for number in range(12):
        first, second = D(rng.randrange(1000, 90000)), D(rng.randrange(1000, 90000))
        asks.append(
            make_opportunity(
                amount=str(first + second), currency=["USD", "EUR"][number % 2],
                split={year: str(first), year + 1: str(second)}, stage=OPEN_STAGES[number % 5],
                organisation=donors[number % 3], probability=rng.randrange(5, 95),
            )
        )  # fmt: skip
        assert_kept_equal_records()

    # An edit of the amount and its split, and of the probability.
    ask = asks[0]
    ask.amount += D("500.00")
    ask.splits[0].amount += D("500.00")
    ask.probability = 55
    assert_kept_equal_records()

    # Stage moves, wins (a pledge and its instalments), losses.
    for ask in asks[1:6]:
        stage = rng.choice([Stage.PROPOSAL, Stage.WON, Stage.LOST, Stage.VERBAL_COMMITMENT])
        move_stage(ask, stage, fundraiser, reason="Not this year" if stage.needs_reason else "",
                   agreed_on=today() - timedelta(days=10))  # fmt: skip
        assert_kept_equal_records()
    won = next((ask for ask in asks if ask.stage == Stage.WON), None)
    if won is None:
        move_stage(asks[6], Stage.WON, fundraiser, agreed_on=today() - timedelta(days=10))
        won = asks[6]
    assert_kept_equal_records()

    # Gifts: received, applied to an instalment, the application removed, applied again.
    pledge = won.pledge
    gift = make_gift(organisation=won.organisation, amount=D("2000.00"), currency=won.currency,
                     received_on=today() - timedelta(days=3))  # fmt: skip
    assert_kept_equal_records()
    (application,) = apply_gift(gift, {pledge.instalments[0].id: D("1500.00")}, fundraiser)
    assert_kept_equal_records()
    remove_application(application)
    assert_kept_equal_records()
    apply_gift(gift, {pledge.instalments[0].id: D("1200.00")}, fundraiser)
    assert_kept_equal_records()
    make_gift(organisation=donors[2], amount=D("750.00"), received_on=today() - timedelta(days=40))
    assert_kept_equal_records()

    # The unpaid instalments made again for a larger award.
    wanted = [(instalment.amount, instalment.expected_on) for instalment in pledge.instalments]
    reschedule(pledge, pledge.awarded_amount + D("1000.00"), wanted)
    assert_kept_equal_records()

    # Contribution payments and a refund.
    member = make_member()
    payment = record_payment(
        member, D("800.00"), "EUR", today() - timedelta(days=5), PaymentMethod.WIRE, actor
    )
    assert_kept_equal_records()
    record_refund(payment, D("300.00"), today() - timedelta(days=1), actor, reason="Paid twice")
    assert_kept_equal_records()

    # A donor's kind changes: all its money moves to another source.
    donors[0].kind = OrganisationKind.GOVERNMENT
    assert_kept_equal_records()

    # An ask deleted (its splits go with it).
    db.session.delete(asks[-1])
    assert_kept_equal_records()
    db.session.commit()
    assert_kept_equal_records()

    # Two donors of different kinds merged (the merge repoints rows in bulk).
    merge_organisations(donors[1], donors[2], set(), actor)
    assert_kept_equal_records()
    assert_plan_from_totals_matches_the_records(years)


def test_an_earlier_as_of_counts_each_ask_at_the_stage_it_had_then(make_opportunity, fundraiser):
    """Hand-computed: a 100,000 ask identified, in proposal from 60 days ago, won 10 days ago. Twenty days ago
    it was a proposal worth 60,000 weighted; today it is secured."""
    year = current_fiscal_year()
    now = today()
    ask = make_opportunity(amount="100000.00", split={year: "100000.00"}, stage=Stage.PROPOSAL)
    move_stage(ask, Stage.WON, fundraiser, agreed_on=now - timedelta(days=10))
    # Date its history: created 90 days ago, a proposal from 60 days ago, won 10 days ago.
    ask.created_at = ask.created_at - timedelta(days=90)
    moves = db.session.scalars(
        sa.select(StageChange).where(StageChange.opportunity_id == ask.id).order_by(StageChange.id)
    ).all()
    days_ago = {Stage.IDENTIFIED: 90, Stage.PROPOSAL: 60, Stage.WON: 10}
    assert [move.to_stage for move in moves] == list(days_ago)
    for move in moves:
        move.changed_at = move.changed_at - timedelta(days=days_ago[move.to_stage])
    db.session.flush()

    then = now - timedelta(days=20)
    earlier = report_service.plan_report([year], as_of=then)
    cell = earlier.figures.cell(year, Source.FOUNDATIONS)
    assert cell.weighted.by_currency == {"USD": D("60000.00")}  # a proposal then: 60%
    assert cell.secured.by_currency == {}  # not agreed yet
    board = board_report(then)
    assert [(c.key, c.count, c.amount) for c in board.by_stage if c.count] == [
        (Stage.PROPOSAL.value, 1, D("100000.00"))
    ]
    assert [item.opportunity.id for item in board.top] == [ask.id]

    before_it_existed = report_service.plan_report([year], as_of=now - timedelta(days=100))
    assert before_it_existed.figures.cell(year, Source.FOUNDATIONS).weighted.by_currency == {}

    current = report_service.plan_report([year])
    cell = current.figures.cell(year, Source.FOUNDATIONS)
    assert cell.weighted.by_currency == {}
    assert cell.secured.by_currency == {"USD": D("100000.00")}
    assert db.session.get(Opportunity, ask.id).stage == Stage.WON
