"""Opportunities through the stages, pledges with their schedules, and gifts applied to instalments."""

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.common.errors import ValidationFailed
from app.extensions import db
from app.pipeline.models import GiftApplication, StageChange
from app.pipeline.services import opportunities, pledges
from app.pipeline.services.arithmetic import SplitRow
from app.pipeline.services.opportunities import StageChangeRefused
from app.pipeline.services.pledges import ApplicationRefused
from app.pipeline.stages import Stage
from tests.helpers import at_once

D = Decimal


def test_a_split_that_does_not_add_up_is_refused(make_organisation, fundraiser):
    details = opportunities.OpportunityDetails(
        organisation_id=make_organisation().id,
        title="Core support",
        owner_id=fundraiser.id,
        amount=D("300000.00"),
        currency="USD",
        split=[SplitRow(2027, D("100000.00")), SplitRow(2028, D("100000.00"))],
    )
    with pytest.raises(ValidationFailed) as failed:
        opportunities.create_opportunity(details, fundraiser)
    assert failed.value.field_errors["split"] == [
        "The years add up to 200000.00, not to the amount of 300000.00."
    ]


def test_each_stage_change_is_kept_and_the_probability_follows_the_stage(make_opportunity, fundraiser):
    opportunity = make_opportunity()
    assert opportunity.probability == 10
    opportunities.move_stage(opportunity, Stage.PROPOSAL, fundraiser)
    assert opportunity.probability == 60
    opportunities.move_stage(opportunity, Stage.VERBAL_COMMITMENT, fundraiser, probability=90)
    assert opportunity.probability == 90
    moves = db.session.scalars(
        sa.select(StageChange).where(StageChange.opportunity_id == opportunity.id).order_by(StageChange.id)
    ).all()
    assert [(m.from_stage, m.to_stage) for m in moves] == [
        (None, Stage.IDENTIFIED),
        (Stage.IDENTIFIED, Stage.PROPOSAL),
        (Stage.PROPOSAL, Stage.VERBAL_COMMITMENT),
    ]
    assert all(m.changed_by_id == fundraiser.id for m in moves)


def test_lost_and_declined_need_a_reason(make_opportunity, fundraiser):
    opportunity = make_opportunity()
    with pytest.raises(ValidationFailed, match="Say why"):
        opportunities.move_stage(opportunity, Stage.LOST, fundraiser)
    assert opportunity.stage == Stage.IDENTIFIED
    opportunities.move_stage(opportunity, Stage.DECLINED, fundraiser, reason="Outside their strategy")
    assert (opportunity.probability, opportunity.close_reason) == (0, "Outside their strategy")


def test_winning_makes_a_pledge_with_one_instalment_per_fiscal_year(make_opportunity, fundraiser):
    opportunity = make_opportunity(amount="150000.00", split={2027: "100000.00", 2028: "50000.00"})
    opportunities.move_stage(opportunity, Stage.WON, fundraiser, agreed_on=date(2027, 2, 15))
    pledge = opportunity.pledge
    assert (pledge.awarded_amount, pledge.currency, pledge.agreed_on) == (
        D("150000.00"),
        "USD",
        date(2027, 2, 15),
    )
    assert [(i.amount, i.expected_on, i.fiscal_year) for i in pledge.instalments] == [
        (D("100000.00"), date(2027, 2, 15), 2027),
        (D("50000.00"), date(2028, 1, 1), 2028),
    ]
    with pytest.raises(StageChangeRefused):
        opportunities.move_stage(opportunity, Stage.LOST, fundraiser, reason="x")


def test_one_gift_pays_one_instalment_and_part_of_the_next(make_pledge, make_gift, fundraiser):
    pledge = make_pledge(amount="100000.00", split={2027: "60000.00", 2028: "40000.00"})
    first, second = pledge.instalments
    gift = make_gift(organisation=pledge.organisation, amount=D("70000.00"), currency="USD")
    pledges.apply_gift(gift, {first.id: D("60000.00"), second.id: D("10000.00")}, fundraiser)
    assert (first.received_amount, second.received_amount) == (D("60000.00"), D("10000.00"))
    assert first.status(date(2027, 6, 1)).value == "paid"
    assert second.status(date(2027, 6, 1)).value == "part_paid"
    assert second.status(date(2028, 6, 1)).value == "late"
    assert pledge.received_amount == D("70000.00")
    with pytest.raises(ApplicationRefused, match="at most 0.00 more"):
        pledges.apply_gift(gift, {second.id: D("1.00")}, fundraiser)


def test_a_gift_cannot_pay_more_than_an_instalment_needs_or_in_another_currency(
    make_pledge, make_gift, fundraiser
):
    pledge = make_pledge(amount="1000.00")
    (instalment,) = pledge.instalments
    big = make_gift(organisation=pledge.organisation, amount=D("5000.00"), currency="USD")
    with pytest.raises(ApplicationRefused, match="needs only 1000.00"):
        pledges.apply_gift(big, {instalment.id: D("1000.01")}, fundraiser)
    euros = make_gift(organisation=pledge.organisation, amount=D("500.00"), currency="EUR")
    with pytest.raises(ApplicationRefused, match="in EUR and the pledge in USD"):
        pledges.apply_gift(euros, {instalment.id: D("100.00")}, fundraiser)
    stranger = make_gift(amount=D("500.00"), currency="USD")
    with pytest.raises(ApplicationRefused, match="its own donor"):
        pledges.apply_gift(stranger, {instalment.id: D("100.00")}, fundraiser)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GiftApplication)) == 0


def test_rescheduling_keeps_paid_instalments_and_adds_up_to_the_new_award(make_pledge, make_gift, fundraiser):
    pledge = make_pledge(amount="90000.00", split={2027: "30000.00", 2028: "30000.00", 2029: "30000.00"})
    paid, *unpaid = pledge.instalments
    pledges.apply_gift(
        make_gift(organisation=pledge.organisation, amount=D("30000.00")),
        {paid.id: D("30000.00")},
        fundraiser,
    )
    wanted = [(i.amount, i.expected_on) for i in unpaid]
    pledges.reschedule(pledge, D("120000.00"), wanted)
    assert [(i.amount, i.received_amount) for i in pledge.instalments] == [
        (D("30000.00"), D("30000.00")),
        (D("45000.00"), D("0.00")),
        (D("45000.00"), D("0.00")),
    ]
    with pytest.raises(ValidationFailed, match="cannot be less than 30000.00"):
        pledges.reschedule(pledge, D("20000.00"), wanted)


@pytest.mark.real_commits
def test_two_people_applying_one_gift_at_once_never_apply_more_than_the_gift(
    app, make_pledge, make_gift, fundraiser
):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL; in-memory SQLite has one connection per thread")
    from app.auth.models import User
    from app.donors.models import Gift

    pledge = make_pledge(amount="100000.00", split={2027: "60000.00", 2028: "40000.00"})
    first, second = pledge.instalments
    gift = make_gift(organisation=pledge.organisation, amount=D("50000.00"), currency="USD")
    wanted = [(first.id, D("40000.00")), (second.id, D("40000.00"))]
    gift_id, user_id = gift.id, fundraiser.id
    db.session.commit()
    db.session.remove()

    def apply(instalment_id: int, amount: Decimal):
        user, the_gift = db.session.get(User, user_id), db.session.get(Gift, gift_id)
        return lambda: pledges.apply_gift(the_gift, {instalment_id: amount}, user)

    outcomes = at_once(
        app, [lambda pair=pair: apply(*pair) for pair in wanted], refused=(ApplicationRefused,)
    )

    assert sorted(outcome.split(":")[0] for outcome in outcomes) == ["done", "refused"]
    applied = db.session.scalar(sa.select(sa.func.sum(GiftApplication.amount)))
    assert applied == D("40000.00")
