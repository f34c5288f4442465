"""Invoice and credit-note numbers: PREFIX-FY-NNNN per hub and fiscal year, in sequence, with no gap."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.contributions.models import DocumentSequence, Invoice
from app.contributions.services.invoicing import create_draft_invoice, issue_invoice
from app.contributions.services.numbering import next_number
from app.extensions import db


def test_numbers_follow_the_hub_prefix_and_fiscal_year(hub):
    assert next_number(hub, "INV", 2027) == "BE-2027-0001"
    assert next_number(hub, "INV", 2027) == "BE-2027-0002"
    assert next_number(hub, "INV", 2028) == "BE-2028-0001"
    assert next_number(hub, "CN", 2027) == "BE-CN-2027-0001"


def test_each_hub_has_its_own_series(hub, make_hub):
    headquarters = make_hub(name="Washington DC", invoice_prefix="HQ", base_currency="USD")
    assert next_number(hub, "INV", 2027) == "BE-2027-0001"
    assert next_number(headquarters, "INV", 2027) == "HQ-2027-0001"
    assert next_number(hub, "INV", 2027) == "BE-2027-0002"


def test_unknown_series_is_refused(hub):
    with pytest.raises(ValueError):
        next_number(hub, "XYZ", 2027)


def test_a_rolled_back_allocation_leaves_no_gap(hub, make_draft_invoice, make_user, db_session):
    user = make_user()
    first = make_draft_invoice()
    assert issue_invoice(first, user).number == "BE-2027-0001"

    failing = make_draft_invoice()
    savepoint = db.session.begin_nested()
    issue_invoice(failing, user)
    assert failing.number == "BE-2027-0002"
    savepoint.rollback()  # the issuing transaction fails after allocating

    db.session.refresh(failing)
    assert failing.number is None and failing.is_draft
    counter = db.session.scalar(sa.select(DocumentSequence).where(DocumentSequence.hub_id == hub.id))
    assert counter.last_number == 1
    assert issue_invoice(failing, user).number == "BE-2027-0002"


@pytest.mark.real_commits
def test_concurrent_issuing_on_postgresql_gives_exactly_one_number_each(
    app, make_hub, make_member, make_user
):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter; SQLite serialises writers anyway")
    threads_count, per_thread = 8, 10
    user = make_user()
    member = make_member(hub=make_hub(name="Concurrent hub", invoice_prefix="CC", base_currency="EUR"))
    drafts = [
        create_draft_invoice(member, 2027, [("Event fee", Decimal("100.00"))], user)
        for _ in range(threads_count * per_thread)
    ]
    ids = [draft.id for draft in drafts]
    user_id = user.id
    db.session.commit()
    db.session.remove()

    errors: list[BaseException] = []
    barrier = threading.Barrier(threads_count)

    def work(chunk: list[int]):
        try:
            with app.app_context():
                barrier.wait()
                actor = db.session.get(type(user), user_id)
                for invoice_id in chunk:
                    issue_invoice(db.session.get(Invoice, invoice_id), actor)
                    db.session.commit()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    chunks = [ids[index::threads_count] for index in range(threads_count)]
    workers = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    numbers = sorted(db.session.scalars(sa.select(Invoice.number).where(Invoice.id.in_(ids))))
    assert numbers == [f"CC-2027-{n:04d}" for n in range(1, threads_count * per_thread + 1)]
