"""The writes every kept-totals table shares: a change adds to its row, and a rebuild replaces the rows
without losing a change that another transaction makes meanwhile."""

from __future__ import annotations

import threading
import time
from datetime import date
from decimal import Decimal

import pytest

from app.common.kept_totals import add_to_rows, replace_rows
from app.donors.models import Gift, GiftMethod
from app.extensions import db
from app.pipeline.plan_totals import (
    AMOUNTS,
    KEY,
    PlanTotal,
    kept_plan_totals,
    rebuild_plan_totals,
    recompute_plan_totals,
)

ROW = ("gifts", "", 2026, "foundations", "USD")


def test_changes_add_to_their_row_and_create_it_when_missing():
    connection = db.session.connection()

    add_to_rows(connection, PlanTotal, KEY, AMOUNTS, {ROW: (1, 1000, 0)})
    add_to_rows(connection, PlanTotal, KEY, AMOUNTS, {ROW: (2, -300, 0), (*ROW[:4], "EUR"): (0, 0, 0)})

    assert kept_plan_totals(connection) == {ROW: (3, 700, 0)}


def test_replacing_leaves_exactly_the_rows_given():
    connection = db.session.connection()
    add_to_rows(connection, PlanTotal, KEY, AMOUNTS, {ROW: (1, 1000, 0), (*ROW[:4], "EUR"): (5, 5, 0)})

    replace_rows(connection, PlanTotal, KEY, AMOUNTS, {ROW: (9, 9000, 0)})

    assert kept_plan_totals(connection) == {ROW: (9, 9000, 0)}


@pytest.mark.postgres_only
@pytest.mark.real_commits
def test_a_rebuild_while_a_gift_is_being_recorded_keeps_the_gift(app, make_organisation, make_hub, make_gift):
    """The rebuild locks the table first, so it waits for the transaction that is adding the gift and then
    reads it; without the lock it reads the records before the gift commits, and writes its row without it."""
    organisation, hub = make_organisation(), make_hub(base_currency="USD")
    make_gift(organisation=organisation, hub=hub, received_on=date(2026, 3, 1))  # the row the two both write
    db.session.commit()
    organisation_id, hub_id = organisation.id, hub.id
    db.session.remove()
    gift_flushed, outcomes = threading.Event(), {}

    def record_a_gift():
        with app.app_context():
            try:
                db.session.add(
                    Gift(
                        organisation_id=organisation_id,
                        hub_id=hub_id,
                        received_on=date(2026, 3, 2),
                        amount=Decimal("2500.00"),
                        currency="USD",
                        method=GiftMethod.WIRE,
                    )
                )
                db.session.flush()  # the plan totals' listener adds the gift to its row
                gift_flushed.set()
                time.sleep(0.5)  # the rebuild starts meanwhile
                db.session.commit()
                outcomes["gift"] = "done"
            finally:
                db.session.remove()

    def rebuild():
        with app.app_context():
            try:
                gift_flushed.wait(10)
                rebuild_plan_totals(db.session.connection())
                db.session.commit()
                outcomes["rebuild"] = "done"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=record_a_gift), threading.Thread(target=rebuild)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert outcomes == {"gift": "done", "rebuild": "done"}
    connection = db.session.connection()
    assert kept_plan_totals(connection) == recompute_plan_totals(connection) != {}
