"""Correctly signed webhook deliveries with hostile bodies: 400 for a body that is not an event, 200 and kept
for review for an event that cannot be applied, never a 500 and never money moved."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from app.contributions.models import InvoiceStatus, Payment, StripeEvent, StripeEventStatus
from app.contributions.stripe_gateway import SIGNATURE_TOLERANCE_SECONDS
from app.extensions import db
from tests.conftest import count

from .stripe_fakes import post_event, refund_event, session_event, signature_header


@pytest.fixture
def invoice(make_issued_invoice):
    return make_issued_invoice(amount="10000.00", currency="EUR")


def post_raw(client, body: bytes, timestamp: int | None = None):
    """POST bytes exactly as given, correctly signed: what a leaked secret or a broken sender could send."""
    return client.post(
        "/stripe/webhook",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": signature_header(body, timestamp=timestamp)},
    )


def money_received() -> tuple:
    return db.session.execute(sa.select(sa.func.count(Payment.id), sa.func.sum(Payment.amount))).one()


@pytest.mark.parametrize(
    "body",
    [
        b"1",
        b"-1e400",
        b'"an event"',
        b"[]",
        b'[{"id": "evt_1", "type": "checkout.session.completed"}]',
        b"null",
        b"true",
        b"{}",
        b'{"id": "evt_1"}',
        b'{"id": ["evt_1"], "type": "checkout.session.completed"}',
        b'{"id": "evt_1", "type": 7}',
        b'{"id": "evt_1", "type": "x", "amount": NaN}',
        b'{"id": "evt_1", "type": "x", "amount": Infinity}',
        b'{"id": "evt_1", "type": "x", "amount": 1e400}',
        b'{"id": "evt_\\u0000", "type": "checkout.session.completed"}',
        b'{"id": "evt_1", "type": "x", "data": {"object": {"note": "a\\u0000b"}}}',
        b'{"id": "' + b"e" * 300 + b'", "type": "x"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"id": "evt_1", "type": "x", "amount": ' + b"9" * 5000 + b"}",
        b"\xff\xfe not utf-8",
    ],
    ids=lambda body: body[:40].decode("utf-8", "replace"),
)
def test_a_signed_body_that_is_not_an_event_is_refused_with_400(client, stripe_keys, invoice, body):
    response = post_raw(client, body)
    assert response.status_code == 400
    assert count(StripeEvent) == 0


def _session(invoice, **changes) -> dict:
    delivered = session_event(invoice, event_id="evt_hostile")
    delivered["data"]["object"].update(changes)
    return delivered


@pytest.mark.parametrize(
    "changes",
    [
        {"metadata": {"invoice_id": "2147483648", "expected_amount": "10000.00"}},
        {"metadata": {"invoice_id": "99999999999999999999999999", "expected_amount": "10000.00"}},
        {"metadata": {"invoice_id": "-1", "expected_amount": "10000.00"}},
        {"metadata": {"invoice_id": "1e3", "expected_amount": "10000.00"}},
        {"amount_total": "NaN"},
        {"amount_total": 10**30},
        {"amount_total": -1_000_000},
        {"amount_total": 1.5},
        {"amount_total": None},
        {"currency": ["eur"]},
        {"metadata": {"invoice_id": "{id}", "expected_amount": "Infinity"}},
        {"metadata": {"invoice_id": "{id}", "expected_amount": "1e999999999"}},
        {"metadata": ["invoice_id"]},
        {"id": {"nested": True}},
    ],
    ids=lambda changes: json.dumps(changes)[:60],
)
def test_a_signed_event_that_cannot_be_applied_is_kept_for_review(client, stripe_keys, invoice, changes):
    if isinstance(changes.get("metadata"), dict) and changes["metadata"]["invoice_id"] == "{id}":
        changes["metadata"]["invoice_id"] = str(invoice.id)
    before = money_received()
    response = post_event(client, _session(invoice, **changes))
    assert response.status_code == 200
    stored = db.session.get(StripeEvent, "evt_hostile")
    assert stored.status == StripeEventStatus.NEEDS_REVIEW and stored.problem
    assert money_received() == before and invoice.status == InvoiceStatus.ISSUED


@pytest.mark.parametrize(
    "changes",
    [
        {"client_reference_id": ["BE-2027-0001"]},
        {"customer_details": ["treasury@gov.example"]},
        {"customer_email": 42},
        {"payment_method_types": 7},
        {"payment_intent": ["pi_1"]},
        {"payment_status": {"paid": True}},
    ],
    ids=lambda changes: json.dumps(changes)[:60],
)
def test_details_of_the_wrong_kind_are_ignored_and_never_a_server_error(
    client, stripe_keys, invoice, changes
):
    stripe_keys.add_payment_intent("pi_test_1", amount=1_000_000)
    response = post_event(client, _session(invoice, **changes))
    assert response.status_code == 200
    assert db.session.get(StripeEvent, "evt_hostile") is not None


def test_an_event_dated_beyond_any_calendar_is_still_stored(client, stripe_keys, invoice):
    stripe_keys.add_payment_intent("pi_test_1", amount=1_000_000)
    delivered = session_event(invoice, event_id="evt_far", created=10**20)
    assert post_event(client, delivered).status_code == 200
    assert db.session.get(StripeEvent, "evt_far").stripe_created_at is None


def test_a_refund_with_a_malformed_refund_list_answers_200(client, stripe_keys, invoice):
    delivered = refund_event("pi_unknown", amount=100, amount_refunded=100, event_id="evt_refund")
    delivered["data"]["object"]["refunds"] = ["re_1"]
    delivered["data"]["object"]["amount_refunded"] = 10**40
    assert post_event(client, delivered).status_code == 200
    assert db.session.get(StripeEvent, "evt_refund").status == StripeEventStatus.NEEDS_REVIEW


def test_a_signature_dated_in_the_future_is_refused_like_a_stale_one(client, stripe_keys, invoice):
    # A minute past the tolerance, so that a slow machine cannot bring it back in before it is checked.
    far_ahead = int(time.time()) + SIGNATURE_TOLERANCE_SECONDS + 60
    far = post_event(client, session_event(invoice, event_id="evt_future"), timestamp=far_ahead)
    assert far.status_code == 400 and "future" in far.json["error"]
    assert count(StripeEvent) == 0
    # Clocks differ a little: a signature a few minutes ahead is still accepted.
    stripe_keys.add_payment_intent("pi_test_1", amount=1_000_000)
    near_ahead = int(time.time()) + SIGNATURE_TOLERANCE_SECONDS - 100
    near = post_event(client, session_event(invoice, event_id="evt_near"), timestamp=near_ahead)
    assert near.status_code == 200
