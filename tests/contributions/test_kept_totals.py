"""The invoice totals kept for reports (app/contributions/totals.py) always equal what the records add up
to, whatever mix of issuing, paying, over-paying, crediting, writing off, refunding and cancelling went
before, and the reports read from them show what the records say."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.contributions.hub_uses import issued_documents
from app.contributions.models import Invoice, InvoiceStatus, Payment, PaymentMethod
from app.contributions.services import ageing
from app.contributions.services.invoicing import delete_draft_invoice, issue_credit_note, issue_invoice
from app.contributions.services.members import invoice_totals, outstanding_by_member
from app.contributions.services.payments import (
    allocate_payment,
    record_payment,
    record_refund,
    write_off,
    write_off_limit,
)
from app.contributions.totals import (
    kept_member_balances,
    kept_totals,
    kept_unpaid_years,
    recompute_member_balances,
    recompute_totals,
    recompute_unpaid_years,
)
from app.extensions import db
from app.hubs.models import Hub

D = Decimal
DAY = date(2027, 3, 1)


def assert_kept_equal_records():
    db.session.flush()
    connection = db.session.connection()
    from_records = recompute_totals(connection)
    assert kept_totals(connection) == from_records
    assert kept_unpaid_years(connection) == recompute_unpaid_years(from_records[0])
    assert kept_member_balances(connection) == recompute_member_balances(connection)


@pytest.fixture
def world(hub, make_hub, make_member, make_user, make_draft_invoice):
    dollars = make_hub(name="Washington", base_currency="USD", invoice_prefix="US", country_code="US")
    members = [make_member(name=f"Member {n}") for n in range(3)] + [make_member(name="Yankee", hub=dollars)]
    return members, make_user("operations"), make_draft_invoice


def test_the_kept_totals_follow_every_kind_of_change(world):
    members, actor, make_draft_invoice = world
    rng = random.Random(12)
    invoices = []

    # Issued through the service (a real number, due date and PDF) and straight into the issued state.
    for number in range(10):
        member = members[number % len(members)]
        draft = make_draft_invoice(
            member=member, amount=f"{rng.randrange(100, 5000)}.{rng.randrange(100):02d}",
            fiscal_year=2026 + number % 2,
        )  # fmt: skip
        assert_kept_equal_records()  # a draft counts nowhere
        invoices.append(issue_invoice(draft, actor, issued_on=DAY - timedelta(days=20 * number)))
        assert_kept_equal_records()
    spare = make_draft_invoice(member=members[0])
    delete_draft_invoice(spare, actor)
    assert_kept_equal_records()

    for step in range(60):
        invoice = rng.choice(invoices)
        member = invoice.member
        on = DAY + timedelta(days=step)
        balance = invoice.balance_due
        action = rng.choice(["part", "rest", "over", "credit", "write_off", "refund", "credit_on_account"])
        if not invoice.status.is_open and action not in ("refund", "credit_on_account"):
            continue
        if action == "part" and balance > D("1.00"):
            part = (balance * D(rng.randrange(10, 90)) / 100).quantize(D("0.01"))
            record_payment(member, part, invoice.currency, on, PaymentMethod.WIRE, actor,
                           allocations=[(invoice, part, None)])  # fmt: skip
        elif action == "rest":
            record_payment(member, balance, invoice.currency, on, PaymentMethod.CHEQUE, actor,
                           allocations=[(invoice, balance, None)])  # fmt: skip
        elif action == "over":  # more than owed: the rest stays as credit on account
            record_payment(member, balance + D("50.00"), invoice.currency, on, PaymentMethod.WIRE, actor,
                           allocations=[(invoice, balance, None)])  # fmt: skip
        elif action == "credit" and balance > D("2.00"):
            amount = balance if rng.random() < 0.3 else (balance / 2).quantize(D("0.01"))  # cancel, or reduce
            issue_credit_note(invoice, amount, "Steering Committee decision", actor, issued_on=on)
        elif action == "write_off" and D("0.00") < balance <= write_off_limit(invoice):
            write_off(invoice, balance, "Bank charges", actor, written_off_on=on)
        elif action == "refund":
            paid = [a.payment for a in invoice.allocations if a.payment.amount > a.payment.refunded_amount]
            if paid:
                payment = paid[0]
                amount = min(payment.amount - payment.refunded_amount, D("40.00"))
                record_refund(payment, amount, on, actor, reason="Paid twice")
        elif action == "credit_on_account" and invoice.status.is_open:
            credit = [
                p for p in db.session.scalars(db.select(Payment).where(Payment.member_id == member.id))
                if p.currency == invoice.currency and p.unallocated_amount > 0
            ]  # fmt: skip
            if credit:
                amount = min(credit[0].unallocated_amount, invoice.balance_due)
                allocate_payment(credit[0], invoice, amount, actor)
        assert_kept_equal_records()
        if step % 10 == 0:
            db.session.commit()
            assert_kept_equal_records()

    statuses = {invoice.status for invoice in invoices}
    assert {InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID} <= statuses, statuses
    assert_reports_read_from_totals_match_the_records(DAY + timedelta(days=70))


def test_a_payment_across_currencies_and_its_refund_keep_the_totals(world):
    members, actor, make_draft_invoice = world
    yankee = members[3]
    euro_invoice = issue_invoice(make_draft_invoice(member=yankee, currency="EUR", amount="1000.00"), actor,
                                 issued_on=DAY)  # fmt: skip
    payment = record_payment(yankee, D("600.00"), "USD", DAY, PaymentMethod.WIRE, actor,
                             allocations=[(euro_invoice, D("500.00"), D("0.9"))])  # fmt: skip
    assert_kept_equal_records()
    record_refund(payment, D("600.00"), DAY + timedelta(days=3), actor)
    assert_kept_equal_records()
    assert euro_invoice.status == InvoiceStatus.ISSUED


def assert_reports_read_from_totals_match_the_records(as_of: date):
    """The ageing, the dashboard figures and each hub's outstanding from the kept totals equal those
    recomputed from the records."""
    fast = ageing.ageing_report(as_of)
    from_records = ageing.ageing_report_from_records(as_of)
    assert fast == from_records
    assert [row.invoice_count for row in fast.rows] and fast.rows
    for bucket in [None, *ageing.BUCKET_KEYS]:
        listed = db.session.execute(ageing.aged_invoices_query(as_of, None, bucket)).all()
        recorded = db.session.execute(ageing.aged_invoices_query_from_records(as_of, None, bucket)).all()
        assert [ageing.aged_invoice(row, as_of) for row in listed] == [
            ageing.aged_invoice(row, as_of) for row in recorded
        ]
    totals = invoice_totals(as_of)
    assert totals.outstanding == {row.currency: row.total for row in fast.totals}
    assert totals.open_count == sum(row.invoice_count for row in fast.totals)
    for hub in db.session.scalars(sa.select(Hub)):
        owed: dict[str, Decimal] = {}
        for invoice in db.session.scalars(sa.select(Invoice).where(Invoice.hub_id == hub.id)):
            if invoice.status.is_open and invoice.balance_due:
                owed[invoice.currency] = owed.get(invoice.currency, D("0")) + invoice.balance_due
        assert issued_documents(hub).outstanding == dict(sorted(owed.items()))
    # What the member list and page say each member owes, from the kept year totals.
    by_member: dict[int, dict[str, Decimal]] = {}
    for invoice in db.session.scalars(sa.select(Invoice)):
        if invoice.status.is_open and invoice.balance_due:
            owed = by_member.setdefault(invoice.member_id, {})
            owed[invoice.currency] = owed.get(invoice.currency, D("0")) + invoice.balance_due
    member_ids = db.session.scalars(sa.select(Invoice.member_id).distinct()).all()
    assert outstanding_by_member(member_ids) == {
        member_id: dict(sorted(owed.items())) for member_id, owed in by_member.items()
    }


@pytest.mark.postgres_only
@pytest.mark.real_commits
def test_people_paying_invoices_of_one_hub_and_due_date_at_once_add_up(app, world):
    """Their shares land on the same kept rows (one hub, currency and due date; some of one member): each
    transaction adds its difference under the row's lock, so none is lost."""
    import threading

    members, actor, make_draft_invoice = world
    invoices = [
        issue_invoice(make_draft_invoice(member=members[n % 2], amount="1000.00"), actor, issued_on=DAY)
        for n in range(6)
    ]
    ids, actor_id = [invoice.id for invoice in invoices], actor.id
    db.session.commit()
    db.session.remove()
    barrier = threading.Barrier(len(ids))
    outcomes: list[str] = []

    def pay(invoice_id: int) -> None:
        with app.app_context():
            try:
                from app.auth.models import User
                from app.contributions.models import Invoice

                invoice, user = db.session.get(Invoice, invoice_id), db.session.get(User, actor_id)
                barrier.wait()
                record_payment(invoice.member, D("400.00"), invoice.currency, DAY, PaymentMethod.WIRE, user,
                               allocations=[(invoice, D("400.00"), None)])  # fmt: skip
                db.session.commit()
                outcomes.append("paid")
            except BaseException as error:  # noqa: BLE001 - reported by the main thread
                db.session.rollback()
                outcomes.append(f"error: {error!r}")
            finally:
                db.session.remove()

    workers = [threading.Thread(target=pay, args=(invoice_id,)) for invoice_id in ids]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert outcomes == ["paid"] * len(ids)
    assert_kept_equal_records()
    _, still_open = kept_totals(db.session.connection())
    assert sum(count for count, _ in still_open.values()) == len(ids)
    assert sum(cents for _, cents in still_open.values()) == len(ids) * 60000
