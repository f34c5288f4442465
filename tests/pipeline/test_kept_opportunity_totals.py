"""The opportunity totals kept for the board and the list (app/pipeline/opportunity_totals.py) always equal
what the opportunities and their splits add up to, whatever mix of adding, editing, re-splitting, moving,
winning and deleting went before; and the list and the board read from them show what the records say."""

from __future__ import annotations

import random
from decimal import Decimal

from app.extensions import db
from app.pipeline.models import Opportunity
from app.pipeline.opportunity_totals import kept_totals, recompute_totals
from app.pipeline.services import opportunities, pipeline_lists
from app.pipeline.services.arithmetic import SplitRow
from app.pipeline.services.opportunities import OpportunityDetails
from app.pipeline.stages import OPEN_STAGES, Stage

D = Decimal


def assert_kept_equal_records():
    db.session.flush()
    connection = db.session.connection()
    assert kept_totals(connection) == recompute_totals(connection)


def _details(opportunity, **changes) -> OpportunityDetails:
    values = dict(
        organisation_id=opportunity.organisation_id,
        title=opportunity.title,
        owner_id=opportunity.owner_id,
        amount=opportunity.amount,
        currency=opportunity.currency,
        split=[SplitRow(split.fiscal_year, split.amount) for split in opportunity.splits],
        is_restricted=opportunity.is_restricted,
        purpose=opportunity.purpose,
    )
    values.update(changes)
    return OpportunityDetails(**values)


def test_the_kept_totals_follow_every_kind_of_change(make_opportunity, make_user, fundraiser):
    rng = random.Random(7)
    colleague = make_user("fundraising")
    asks = []
    for number in range(8):
        amount = D(rng.randrange(1000, 90000))
        asks.append(
            make_opportunity(
                amount=f"{amount}.00",
                currency=rng.choice(["USD", "EUR"]),
                split={2027: f"{amount - 500}.00", 2028: "500.00"} if number % 2 else None,
                owner=rng.choice([fundraiser, colleague]),
            )
        )
        assert_kept_equal_records()
    for step in range(40):
        ask = rng.choice(asks)
        action = rng.choice(["amount", "resplit", "owner", "restricted", "currency", "move", "delete"])
        if ask.stage == Stage.WON and action in ("amount", "currency", "move"):
            continue
        if action == "amount":
            amount = ask.amount + D("1000.00")
            opportunities.update_opportunity(
                ask, _details(ask, amount=amount, split=[SplitRow(2029, amount)]), fundraiser
            )
        elif action == "resplit":
            half = (ask.amount / 2).quantize(D("0.01"))
            split = [SplitRow(2027, half), SplitRow(2030, ask.amount - half)]
            opportunities.update_opportunity(ask, _details(ask, split=split), fundraiser)
        elif action == "owner":
            owner = colleague if ask.owner_id == fundraiser.id else fundraiser
            opportunities.update_opportunity(ask, _details(ask, owner_id=owner.id), fundraiser)
        elif action == "restricted":
            restricted = not ask.is_restricted
            opportunities.update_opportunity(
                ask,
                _details(ask, is_restricted=restricted, purpose="Elections" if restricted else ""),
                fundraiser,
            )
        elif action == "currency":
            currency = "GBP" if ask.currency != "GBP" else "USD"
            opportunities.update_opportunity(ask, _details(ask, currency=currency), fundraiser)
        elif action == "move":
            stage = rng.choice([s for s in Stage if s != ask.stage])
            opportunities.move_stage(ask, stage, fundraiser, reason="Not now" if stage.needs_reason else "")
        elif action == "delete" and ask.stage != Stage.WON and len(asks) > 3:
            asks.remove(ask)
            db.session.delete(ask)
        assert_kept_equal_records()
        if step % 10 == 0:
            db.session.commit()
            assert_kept_equal_records()
    assert_the_pages_read_what_the_records_say()


def assert_the_pages_read_what_the_records_say():
    every = [
        pipeline_lists.Filters(),
        pipeline_lists.Filters(stage=Stage.IDENTIFIED),
        pipeline_lists.Filters(restricted=True),
        pipeline_lists.Filters(owner_id=db.session.scalar(db.select(db.func.min(Opportunity.owner_id)))),
    ]
    for filters in every:
        kept = pipeline_lists._kept_totals(filters)
        added_up = pipeline_lists._added_up_totals(filters)
        assert (kept[0], kept[1], sorted(kept[2])) == (added_up[0], added_up[1], sorted(added_up[2])), filters
    board = {column.stage: column for column in pipeline_lists.board_columns()}
    for stage in OPEN_STAGES:
        at_stage = db.session.scalars(db.select(Opportunity).where(Opportunity.stage == stage)).all()
        assert board[stage].count == len(at_stage)
        totals: dict[str, Decimal] = {}
        for ask in at_stage:
            totals[ask.currency] = totals.get(ask.currency, D("0.00")) + ask.amount
        assert board[stage].totals == totals


def test_the_list_totals_are_those_of_the_asks_it_selects(login_as, make_opportunity, make_user, fundraiser):
    make_opportunity(amount="1000.00", stage=Stage.PROPOSAL)
    make_opportunity(amount="2000.00", stage=Stage.PROPOSAL, owner=make_user("fundraising"))
    make_opportunity(amount="4000.00", currency="EUR", is_restricted=True, purpose="Elections")
    client = login_as("fundraising")
    page = client.get("/pipeline/opportunities?stage=proposal").get_data(as_text=True)
    assert "$3,000.00" in page
    page = client.get(f"/pipeline/opportunities?stage=proposal&owner={fundraiser.id}").get_data(as_text=True)
    assert "$1,000.00" in page and "$3,000.00" not in page
    page = client.get("/pipeline/opportunities?restricted=yes").get_data(as_text=True)
    assert "€4,000.00" in page
