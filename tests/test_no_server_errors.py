"""No request ends in a 500: every GET page in the url_map, as each role, with real ids and with nonsense
query arguments, and every POST with an empty or nonsensical form, gets an answer rather than a crash."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from app.common.time import today
from app.contributions.models import (
    BankEntry,
    BankStatement,
    CreditNote,
    EntryStatus,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    StatementFormat,
)
from app.contributions.paylinks import pay_token
from app.extensions import db

# The contribution builders, for this folder too.

NONSENSE = [
    "",
    "?page=abc",
    "?page=-1",
    "?page=99999",
    "?fiscal_year=abc",
    "?fiscal_year=99999",
    "?q=%27%22%3Cscript%3E",
    "?status=nonsense",
    "?hub=abc",
    "?hub_id=abc",
    "?format=csv",
    "?format=xlsx",
    "?format=nonsense",
    "?as_of=not-a-date",
    "?date_from=2026-13-45&date_to=x",
    "?member_id=abc",
    "?from_year=1&to_year=99999",
]


@pytest.fixture
def world(make_member, make_policy, make_issued_invoice, make_draft_invoice, make_user):
    """One of each record that has a page, so that every URL can be filled with a real id."""
    member = make_member()
    make_policy(2027)
    invoice = make_issued_invoice(member=member, amount="1000.00", issued_on=today() - timedelta(days=45))
    draft = make_draft_invoice(member=member)
    payment = Payment(
        member=member,
        amount=Decimal("400.00"),
        currency=invoice.currency,
        received_on=today(),
        method=PaymentMethod.WIRE,
    )
    payment.allocations.append(
        PaymentAllocation(invoice=invoice, amount=Decimal("400.00"), payment_amount=Decimal("400.00"))
    )
    credit_note = CreditNote(
        number="T-CN-1",
        invoice=invoice,
        hub=invoice.hub,
        currency=invoice.currency,
        amount=Decimal("100.00"),
        reason="test",
        language=invoice.language,
        issued_on=today(),
        pdf_bytes=b"%PDF-1.7",
        pdf_sha256="0" * 64,
    )
    statement = BankStatement(
        hub=invoice.hub, format=StatementFormat.CAMT_053, account="BE71096123456769", currency="EUR",
        file_sha256="0" * 64,
    )  # fmt: skip
    entry = BankEntry(
        hub=invoice.hub, statement=statement, dedupe_key="ref:1", booked_on=today(), is_credit=True,
        amount=Decimal("600.00"), currency=invoice.currency, status=EntryStatus.NEEDS_REVIEW,
        remittance_text=f"Invoice {invoice.number}",
    )  # fmt: skip
    db.session.add_all([payment, credit_note, statement, entry])
    db.session.flush()
    invoice.refresh_balance()
    db.session.flush()
    return {
        "member_id": member.id,
        "invoice_id": invoice.id,
        "payment_id": payment.id,
        "credit_note_id": credit_note.id,
        "hub_id": invoice.hub_id,
        "user_id": make_user("board").id,
        "fiscal_year": 2027,
        "token": pay_token(invoice),
        "contact_id": member.contacts[0].id,
        "draft_id": draft.id,
        "statement_id": statement.id,
        "entry_id": entry.id,
    }


def status_of(send, url, **kwargs):
    # In tests exceptions propagate instead of becoming a 500 page: count them as the 500 they would be.
    try:
        return send(url, **kwargs).status_code
    except Exception as error:  # noqa: BLE001
        return f"500 {type(error).__name__}: {error}"[:200]


def is_server_error(status) -> bool:
    # 503 is a deliberate answer (online payment not configured or Stripe unreachable), not a crash.
    return isinstance(status, str) or (status >= 500 and status != 503)


def fill(rule, ids) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda match: str(ids.get(match.group(1), 1)), rule.rule)


@pytest.mark.parametrize("role", ["admin", "operations", "board"])
def test_no_get_page_ends_in_a_server_error(app, login_as, world, role):
    client = login_as(role)
    errors = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        url = fill(rule, world)
        for query in NONSENSE:
            status = status_of(client.get, url + query)
            if is_server_error(status):
                errors.append((url + query, status))
    assert errors == []


def test_no_post_with_nonsense_ends_in_a_server_error(app, login_as, world):
    client = login_as("admin")
    nonsense = {
        "amount": "abc",
        "fiscal_year": "x",
        "member_id": "zz",
        "rate": "-1",
        "active": "maybe",
        "page": "q",
    }
    errors = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint == "stripe.webhook":
            continue
        url = fill(rule, world)
        for data in ({}, nonsense):
            status = status_of(client.post, url, data=data)
            if is_server_error(status):
                errors.append((url, status))
    assert errors == []
