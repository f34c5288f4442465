"""Rules defined once and read everywhere: an invoice's balance due, in Python and in SQL, agrees in every
report that sums it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.contributions.models import Invoice, PaymentMethod
from app.contributions.services.ageing import ageing_report
from app.contributions.services.arrears import arrears_report
from app.contributions.services.invoicing import issue_credit_note
from app.contributions.services.members import outstanding_by_member
from app.contributions.services.payments import record_payment, write_off
from app.extensions import db
from app.hubs.uses import issued_documents

D = Decimal


@pytest.fixture
def actor(make_user):
    return make_user("operations")


@pytest.fixture
def settled_in_parts(make_member, make_issued_invoice, make_draft_invoice, actor):
    """One member's FY2027 invoices: 1,000.00 paid 300.00, credited 200.00 and written off 40.00 (460.00 still
    owed); 100.00 paid in full; and a draft of 750.00 (owed in full, but not yet asked for)."""
    member = make_member(name="Partland", fiscal_year=2027)
    partial = make_issued_invoice(member=member, amount="1000.00", fiscal_year=2027)
    paid = make_issued_invoice(member=member, amount="100.00", fiscal_year=2027)
    draft = make_draft_invoice(member=member, amount="750.00", fiscal_year=2027)
    record_payment(
        member, D("400.00"), "EUR", date(2027, 2, 1), PaymentMethod.WIRE, actor,
        allocations=[(partial, D("300.00"), None), (paid, D("100.00"), None)],
    )  # fmt: skip
    issue_credit_note(partial, D("200.00"), "Reduced by the committee", actor, issued_on=date(2027, 3, 1))
    write_off(partial, D("40.00"), "Bank charges deducted", actor, written_off_on=date(2027, 3, 2))
    db.session.flush()
    return member, partial, paid, draft


def sql_balance(invoice: Invoice) -> Decimal:
    return db.session.scalar(sa.select(Invoice.balance_due).where(Invoice.id == invoice.id))


def test_the_python_and_sql_balances_agree_on_every_kind_of_settlement(settled_in_parts):
    _member, partial, paid, draft = settled_in_parts

    assert partial.balance_due == D("460.00") == sql_balance(partial)
    assert paid.balance_due == D("0.00") == sql_balance(paid)
    assert draft.balance_due == D("750.00") == sql_balance(draft)
    owing = db.session.scalars(sa.select(Invoice.id).where(Invoice.balance_due > 0).order_by(Invoice.id))
    assert list(owing) == [partial.id, draft.id]


def test_every_report_sums_the_same_balance(settled_in_parts):
    member, partial, _paid, _draft = settled_in_parts

    assert outstanding_by_member([member.id]) == {member.id: {"EUR": D("460.00")}}
    (row,) = arrears_report(2027, 2027).rows
    assert row.outstanding == {"EUR": D("460.00")}
    assert issued_documents(partial.hub).outstanding == {"EUR": D("460.00")}
    assert ageing_report(date(2027, 12, 31)).totals[0].total == D("460.00")
