"""The Stripe webhook: signed events only, each applied once, in any order; doubtful ones kept for review.
And the reconciliation page where operations review them."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.contributions.models import (
    InvoiceEvent,
    InvoiceEventKind,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    Refund,
    StripeEvent,
    StripeEventStatus,
)
from app.contributions.services import stripe_payments
from app.extensions import db
from tests.conftest import count
from tests.helpers import at_once

from .stripe_fakes import WEBHOOK_SECRET, event, post_event, refund_event, session_event, signature_header

SUCCEEDED = "checkout.session.async_payment_succeeded"
FAILED = "checkout.session.async_payment_failed"


@pytest.fixture
def invoice(make_issued_invoice):
    return make_issued_invoice(amount="10000.00", currency="EUR")


def _events(kind: InvoiceEventKind, invoice) -> list[InvoiceEvent]:
    return list(
        db.session.scalars(
            sa.select(InvoiceEvent).where(InvoiceEvent.invoice_id == invoice.id, InvoiceEvent.kind == kind)
        )
    )


def _stored(event_id: str) -> StripeEvent:
    return db.session.get(StripeEvent, event_id)


# --- Signatures --------------------------------------------------------------------------------------------


def test_a_paid_checkout_session_pays_the_invoice(client, stripe_keys, invoice):
    stripe_keys.add_payment_intent("pi_test_1", amount=1_000_000, fee=14_500)
    paid = session_event(invoice, event_id="evt_paid")

    response = post_event(client, paid)

    assert response.status_code == 200 and response.json == {"received": True, "status": "applied"}
    [payment] = db.session.scalars(sa.select(Payment)).all()
    assert (payment.amount, payment.currency, payment.member_id) == (
        Decimal("10000.00"),
        "EUR",
        invoice.member_id,
    )
    assert payment.method == PaymentMethod.STRIPE_CARD
    assert (payment.stripe_checkout_session_id, payment.stripe_payment_intent_id) == (
        "cs_test_paid_1",
        "pi_test_1",
    )
    assert (payment.fee_amount, payment.net_amount) == (Decimal("145.00"), Decimal("9855.00"))
    assert [a.invoice_id for a in payment.allocations] == [invoice.id]
    assert invoice.status == InvoiceStatus.PAID and invoice.balance_due == Decimal("0.00")
    stored = _stored("evt_paid")
    assert (stored.status, stored.invoice_id, stored.payment_id) == (
        StripeEventStatus.APPLIED,
        invoice.id,
        payment.id,
    )


def test_a_tampered_body_is_refused_and_changes_nothing(client, stripe_keys, invoice):
    body = json.dumps(session_event(invoice, event_id="evt_tampered")).encode()
    header = signature_header(body)
    tampered = body.replace(b'"amount_total": 1000000', b'"amount_total": 1')

    response = client.post(
        "/stripe/webhook",
        data=tampered,
        content_type="application/json",
        headers={"Stripe-Signature": header},
    )

    assert response.status_code == 400 and "error" in response.json
    assert count(StripeEvent) == 0 and count(Payment) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Stripe-Signature": ""},
        {"Stripe-Signature": "t=123"},
    ],
)
def test_a_missing_or_empty_signature_is_refused(client, stripe_keys, invoice, headers):
    response = client.post(
        "/stripe/webhook",
        data=json.dumps(session_event(invoice)).encode(),
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 400
    assert count(StripeEvent) == 0 and count(Payment) == 0


def test_a_stale_or_foreign_signature_is_refused(client, stripe_keys, invoice):
    stale = post_event(client, session_event(invoice), timestamp=int(time.time()) - 301)
    foreign = post_event(client, session_event(invoice), secret="whsec_of_another_endpoint")
    assert (stale.status_code, foreign.status_code) == (400, 400)
    assert count(StripeEvent) == 0 and invoice.status == InvoiceStatus.ISSUED


def test_without_a_webhook_secret_the_webhook_says_so_clearly(client, invoice):
    response = post_event(client, session_event(invoice))
    assert response.status_code == 503
    assert "not configured" in response.json["error"]
    assert count(StripeEvent) == 0


def test_the_webhook_needs_no_csrf_token_and_no_login(app, client, stripe_keys, invoice):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = post_event(client, session_event(invoice))
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 200


# --- Once, whatever the number of deliveries ---------------------------------------------------------------


def test_a_replayed_event_is_applied_once(client, stripe_keys, invoice):
    paid = session_event(invoice, event_id="evt_replayed")
    responses = [post_event(client, paid) for _ in range(10)]
    assert [r.status_code for r in responses] == [200] * 10
    assert all(r.json.get("duplicate") for r in responses[1:])
    assert count(Payment) == 1 and count(StripeEvent) == 1
    assert invoice.amount_paid == Decimal("10000.00")


def test_a_concurrent_second_delivery_that_loses_the_insert_answers_200(
    client, stripe_keys, invoice, monkeypatch
):
    # The other delivery committed the event between our check and our insert.
    paid = session_event(invoice, event_id="evt_race")
    db.session.add(
        StripeEvent(id="evt_race", type=paid["type"], status=StripeEventStatus.APPLIED, payload=paid)
    )
    db.session.flush()
    monkeypatch.setattr(stripe_payments, "already_received", lambda event_id: False)

    response = post_event(client, paid)

    assert response.status_code == 200 and response.json["duplicate"] is True
    assert count(Payment) == 0 and count(StripeEvent) == 1


def test_completed_and_async_succeeded_for_one_session_pay_once(client, stripe_keys, invoice):
    post_event(client, session_event(invoice, event_id="evt_a"))
    post_event(client, session_event(invoice, SUCCEEDED, event_id="evt_b"))
    assert count(Payment) == 1
    second = _stored("evt_b")
    assert second.status == StripeEventStatus.IGNORED and "Already recorded" in second.problem


def test_a_second_session_for_an_already_paid_invoice_is_kept_for_review(client, stripe_keys, invoice):
    post_event(client, session_event(invoice, session_id="cs_first", payment_intent="pi_first"))
    response = post_event(client, session_event(invoice, session_id="cs_second", payment_intent="pi_second"))
    # The metadata's expected amount was the full balance: the invoice now owes nothing, so a person decides.
    assert response.status_code == 200
    assert count(Payment) == 1
    review = db.session.scalars(sa.select(StripeEvent).where(StripeEvent.status == "needs_review")).one()
    assert "paid" in review.problem


# --- Asynchronous payments and order -----------------------------------------------------------------------


def test_an_unpaid_completed_session_marks_the_invoice_processing_not_paid(client, stripe_keys, invoice):
    response = post_event(
        client, session_event(invoice, payment_status="unpaid", payment_method_types=("sepa_debit",))
    )
    assert response.status_code == 200
    assert invoice.payment_processing_since is not None
    assert invoice.status == InvoiceStatus.ISSUED and count(Payment) == 0
    assert len(_events(InvoiceEventKind.PAYMENT_PROCESSING, invoice)) == 1


def test_async_success_after_processing_pays_and_clears_processing(client, stripe_keys, invoice):
    post_event(client, session_event(invoice, payment_status="unpaid", payment_method_types=("sepa_debit",)))
    post_event(client, session_event(invoice, SUCCEEDED, payment_method_types=("sepa_debit",)))
    assert invoice.status == InvoiceStatus.PAID and invoice.payment_processing_since is None
    assert db.session.scalars(sa.select(Payment)).one().method == PaymentMethod.STRIPE_BANK


def test_async_failure_clears_processing_and_says_why(client, stripe_keys, invoice):
    post_event(client, session_event(invoice, payment_status="unpaid"))
    response = post_event(client, session_event(invoice, FAILED, payment_status="unpaid"))
    assert response.status_code == 200
    assert invoice.payment_processing_since is None and invoice.status == InvoiceStatus.ISSUED
    assert "failed" in invoice.online_payment_note
    assert len(_events(InvoiceEventKind.PAYMENT_FAILED, invoice)) == 1
    assert count(Payment) == 0


@pytest.mark.parametrize(
    "order",
    [
        ("processing", "succeeded"),
        ("succeeded", "processing"),
    ],
)
def test_success_and_processing_in_either_order_end_paid(client, stripe_keys, invoice, order):
    events = {
        "processing": session_event(invoice, payment_status="unpaid"),
        "succeeded": session_event(invoice, SUCCEEDED),
    }
    for name in order:
        assert post_event(client, events[name]).status_code == 200
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.payment_processing_since is None
    assert count(Payment) == 1


def test_a_failure_after_success_undoes_nothing(client, stripe_keys, invoice):
    post_event(client, session_event(invoice, SUCCEEDED))
    failed = session_event(invoice, FAILED, payment_status="unpaid", event_id="evt_late_failure")
    assert post_event(client, failed).status_code == 200
    assert invoice.status == InvoiceStatus.PAID and count(Payment) == 1
    assert _stored("evt_late_failure").status == StripeEventStatus.NEEDS_REVIEW


def test_a_failure_before_the_processing_event_keeps_processing_off(client, stripe_keys, invoice):
    post_event(client, session_event(invoice, FAILED, payment_status="unpaid"))
    late = session_event(invoice, payment_status="unpaid", event_id="evt_late_processing")
    post_event(client, late)
    assert invoice.payment_processing_since is None and "failed" in invoice.online_payment_note
    assert _stored("evt_late_processing").status == StripeEventStatus.IGNORED


# --- Kept for review ---------------------------------------------------------------------------------------


def _review_problem(event_id: str) -> str:
    stored = _stored(event_id)
    assert stored.status == StripeEventStatus.NEEDS_REVIEW
    return stored.problem


def test_an_unknown_invoice_is_kept_for_review(client, stripe_keys, invoice):
    unknown = session_event(invoice, event_id="evt_unknown", client_reference_id="XX-2027-9999")
    unknown["data"]["object"]["metadata"] = {"invoice_id": "987654", "expected_amount": "10000.00"}
    response = post_event(client, unknown)
    assert response.status_code == 200
    assert "not known here" in _review_problem("evt_unknown")
    assert count(Payment) == 0


def test_a_wrong_amount_is_kept_for_review(client, stripe_keys, invoice):
    response = post_event(client, session_event(invoice, event_id="evt_amount", amount_total=900_000))
    assert response.status_code == 200
    assert "started for" in _review_problem("evt_amount")
    assert count(Payment) == 0 and invoice.status == InvoiceStatus.ISSUED


def test_a_wrong_currency_is_kept_for_review(client, stripe_keys, invoice):
    response = post_event(client, session_event(invoice, event_id="evt_currency", currency="usd"))
    assert response.status_code == 200
    assert "is in EUR" in _review_problem("evt_currency")
    assert count(Payment) == 0


def test_a_session_whose_reference_names_another_invoice_is_kept_for_review(client, stripe_keys, invoice):
    post_event(client, session_event(invoice, event_id="evt_ref", client_reference_id="BE-2027-0999"))
    assert "reference" in _review_problem("evt_ref")


def test_a_session_not_started_from_tributary_is_kept_for_review(client, stripe_keys, invoice):
    foreign = session_event(invoice, event_id="evt_foreign", metadata={"invoice_id": str(invoice.id)})
    post_event(client, foreign)
    assert "not started from Tributary" in _review_problem("evt_foreign")


def test_more_than_the_balance_is_kept_for_review(client, stripe_keys, invoice, make_user):
    expected = session_event(invoice, event_id="evt_over")  # asked for 10,000.00 when the session started
    from app.contributions.services.payments import record_payment

    record_payment(
        invoice.member,
        Decimal("4000.00"),
        "EUR",
        invoice.issued_on,
        PaymentMethod.WIRE,
        make_user("operations"),
        allocations=[(invoice, Decimal("4000.00"), None)],
    )
    post_event(client, expected)
    assert "more than invoice" in _review_problem("evt_over")
    assert invoice.amount_paid == Decimal("4000.00")


def test_other_event_types_are_acknowledged_and_ignored(client, stripe_keys):
    response = post_event(
        client, event("customer.created", {"id": "cus_1", "object": "customer"}, event_id="evt_x")
    )
    assert response.status_code == 200
    assert _stored("evt_x").status == StripeEventStatus.IGNORED


# --- Refunds -----------------------------------------------------------------------------------------------


def test_a_refund_is_recorded_once_from_the_cumulative_amount(client, stripe_keys, invoice):
    post_event(client, session_event(invoice))
    first = refund_event("pi_test_1", amount=1_000_000, amount_refunded=250_000, refunds=[("re_1", 250_000)])
    again = refund_event("pi_test_1", amount=1_000_000, amount_refunded=250_000, refunds=[("re_1", 250_000)])

    assert post_event(client, first).status_code == 200
    assert post_event(client, again).status_code == 200

    [refund] = db.session.scalars(sa.select(Refund)).all()
    assert (refund.amount, refund.stripe_refund_id) == (Decimal("2500.00"), "re_1")
    payment = refund.payment
    assert payment.refunded_amount == Decimal("2500.00")
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID and invoice.balance_due == Decimal("2500.00")
    assert _stored(again["id"]).status == StripeEventStatus.IGNORED


def test_a_second_refund_records_only_the_difference(client, stripe_keys, invoice):
    post_event(client, session_event(invoice))
    post_event(
        client,
        refund_event("pi_test_1", amount=1_000_000, amount_refunded=100_000, refunds=[("re_1", 100_000)]),
    )
    post_event(
        client,
        refund_event(
            "pi_test_1",
            amount=1_000_000,
            amount_refunded=300_000,
            refunds=[("re_2", 200_000), ("re_1", 100_000)],
        ),
    )
    refunds = db.session.scalars(sa.select(Refund).order_by(Refund.id)).all()
    assert [(r.amount, r.stripe_refund_id) for r in refunds] == [
        (Decimal("1000.00"), "re_1"),
        (Decimal("2000.00"), "re_2"),
    ]


def test_a_refund_before_its_payment_waits_and_is_applied_when_the_payment_arrives(
    client, stripe_keys, invoice
):
    early = refund_event(
        "pi_test_1", amount=1_000_000, amount_refunded=100_000, refunds=[("re_early", 100_000)]
    )
    assert post_event(client, early).status_code == 200
    assert "applied when that payment arrives" in _review_problem(early["id"])

    post_event(client, session_event(invoice))

    waiting = _stored(early["id"])
    assert waiting.status == StripeEventStatus.APPLIED and waiting.problem == ""
    [refund] = db.session.scalars(sa.select(Refund)).all()
    assert refund.stripe_refund_id == "re_early" and refund.amount == Decimal("1000.00")
    assert invoice.balance_due == Decimal("1000.00")


# --- Fees --------------------------------------------------------------------------------------------------


def test_fees_in_another_settlement_currency_are_not_recorded_as_ours(client, stripe_keys, invoice):
    stripe_keys.add_payment_intent("pi_test_1", amount=1_000_000, fee=15_000, balance_currency="usd")
    post_event(client, session_event(invoice))
    payment = db.session.scalars(sa.select(Payment)).one()
    assert payment.fee_amount is None and payment.net_amount is None
    assert invoice.status == InvoiceStatus.PAID


def test_a_payment_is_recorded_even_when_stripe_cannot_tell_the_fees(client, stripe_keys, invoice):
    post_event(client, session_event(invoice, payment_intent="pi_unknown_to_fake"))
    payment = db.session.scalars(sa.select(Payment)).one()
    assert payment.fee_amount is None and invoice.status == InvoiceStatus.PAID


def test_the_method_follows_the_charge_stripe_reports(client, stripe_keys, invoice):
    stripe_keys.add_payment_intent("pi_test_1", amount=1_000_000, fee=3_500, method="us_bank_account")
    post_event(client, session_event(invoice, payment_method_types=("card", "us_bank_account")))
    payment = db.session.scalars(sa.select(Payment)).one()
    assert payment.method == PaymentMethod.STRIPE_BANK
    assert (payment.fee_amount, payment.net_amount) == (Decimal("35.00"), Decimal("9965.00"))


def test_a_zero_decimal_invoice_is_paid_in_whole_units(client, stripe_keys, make_issued_invoice):
    invoice = make_issued_invoice(amount="1500000", currency="JPY")
    response = post_event(client, session_event(invoice, amount_total=1_500_000, currency="jpy"))
    assert response.status_code == 200
    payment = db.session.scalars(sa.select(Payment)).one()
    assert (payment.amount, payment.currency) == (Decimal("1500000.00"), "JPY")
    assert invoice.status == InvoiceStatus.PAID


# --- Reconciliation ----------------------------------------------------------------------------------------


@pytest.fixture
def wrong_amount_event(client, stripe_keys, invoice):
    """A paid session of 9,000.00 for the 10,000.00 invoice: kept for review."""
    post_event(client, session_event(invoice, event_id="evt_review", amount_total=900_000))
    return _stored("evt_review")


def test_operations_see_payments_and_events_waiting_for_review(
    login_as, stripe_keys, invoice, wrong_amount_event
):
    other = session_event(invoice, event_id="evt_ok", session_id="cs_ok", payment_intent="pi_ok")
    stripe_keys.add_payment_intent("pi_ok", amount=1_000_000, fee=14_500)
    operations = login_as("operations")
    post_event(operations, other)

    page = operations.get("/contributions/online-payments/").text

    assert "Waiting for review" in page and "evt_review" in page
    assert "was started for" in page
    assert invoice.number in page and "€145.00" in page and "€9,855.00" in page
    assert "Attach to this invoice" in page and "Dismiss" in page


def test_board_reads_the_page_but_cannot_act(login_as, wrong_amount_event):
    board = login_as("board")
    page = board.get("/contributions/online-payments/")
    assert page.status_code == 200 and "evt_review" in page.text
    assert "Attach to this invoice" not in page.text
    url = "/contributions/online-payments/events/evt_review/"
    assert board.post(url + "attach", data={"attach-evt_review-invoice_number": "X"}).status_code == 403
    assert board.post(url + "dismiss", data={"dismiss-evt_review-note": "no"}).status_code == 403
    assert _stored("evt_review").status == StripeEventStatus.NEEDS_REVIEW


def test_attaching_a_reviewed_event_applies_the_event_amount(login_as, invoice, wrong_amount_event):
    operations = login_as("operations")
    response = operations.post(
        "/contributions/online-payments/events/evt_review/attach",
        data={"attach-evt_review-invoice_number": invoice.number},
    )
    assert response.status_code == 302
    payment = db.session.scalars(sa.select(Payment)).one()
    assert payment.amount == Decimal("9000.00") and payment.stripe_checkout_session_id == "cs_test_paid_1"
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID and invoice.balance_due == Decimal("1000.00")
    stored = _stored("evt_review")
    assert stored.status == StripeEventStatus.RESOLVED and stored.payment_id == payment.id
    assert stored.resolved_by_id == operations.user.id and "Attached by" in stored.problem


def test_attaching_more_than_the_balance_becomes_credit_on_account(
    login_as, stripe_keys, make_issued_invoice
):
    small = make_issued_invoice(amount="500.00", currency="EUR")
    post_event(login_as("operations"), session_event(small, event_id="evt_big", amount_total=900_000))
    operations = login_as("operations")
    operations.post(
        "/contributions/online-payments/events/evt_big/attach",
        data={"attach-evt_big-invoice_number": small.number},
    )
    payment = db.session.scalars(sa.select(Payment)).one()
    assert payment.allocations == [] and payment.unallocated_amount == Decimal("9000.00")
    assert small.status == InvoiceStatus.ISSUED
    assert _stored("evt_big").status == StripeEventStatus.RESOLVED


def test_attaching_to_an_invoice_in_another_currency_is_refused_beside_the_field(
    login_as, make_issued_invoice, make_hub, wrong_amount_event
):
    usd = make_issued_invoice(amount="9000.00", currency="USD", hub=make_hub(base_currency="USD"))
    response = login_as("operations").post(
        "/contributions/online-payments/events/evt_review/attach",
        data={"attach-evt_review-invoice_number": usd.number},
    )
    assert response.status_code == 422
    assert "The payment is in EUR" in response.text
    assert count(Payment) == 0 and _stored("evt_review").status == StripeEventStatus.NEEDS_REVIEW


def test_dismissing_needs_a_note(login_as, wrong_amount_event):
    operations = login_as("operations")
    url = "/contributions/online-payments/events/evt_review/dismiss"
    refused = operations.post(url, data={"dismiss-evt_review-note": ""})
    assert refused.status_code == 422 and "Say why this event is dismissed." in refused.text
    operations.post(url, data={"dismiss-evt_review-note": "Refunded in Stripe by hand."})
    stored = _stored("evt_review")
    assert stored.status == StripeEventStatus.RESOLVED and "Refunded in Stripe by hand." in stored.problem
    assert count(Payment) == 0


def test_a_refund_waiting_for_its_payment_cannot_be_attached(login_as, stripe_keys):
    early = refund_event("pi_nowhere", amount=1000, amount_refunded=1000, event_id="evt_refund_wait")
    post_event(login_as("operations"), early)
    response = login_as("operations").post(
        "/contributions/online-payments/events/evt_refund_wait/attach",
        data={"attach-evt_refund_wait-invoice_number": "BE-2027-0001"},
        follow_redirects=True,
    )
    assert "Only a paid Checkout Session can be attached" in response.text
    assert _stored("evt_refund_wait").status == StripeEventStatus.NEEDS_REVIEW


def test_review_actions_are_audited(login_as, wrong_amount_event):
    from app.common.audit import AuditEntry

    login_as("operations").post(
        "/contributions/online-payments/events/evt_review/dismiss",
        data={"dismiss-evt_review-note": "Duplicate test payment."},
    )
    entries = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.record_type == "StripeEvent", AuditEntry.record_id == "evt_review"
        )
    ).all()
    *by_webhook, by_operations = sorted(entries, key=lambda e: e.id)
    assert by_webhook[0].action == "create" and {e.actor_label for e in by_webhook} == {"stripe"}
    assert by_operations.actor_label.endswith("@example.org")
    assert by_operations.changes["status"] == ["needs_review", "resolved"]


def test_the_webhook_secret_is_what_signs(client, stripe_keys, invoice):
    # The fixture's secret signs; the same body signed with it once more is a replay, not a second payment.
    paid = session_event(invoice, event_id="evt_sig")
    assert post_event(client, paid, secret=WEBHOOK_SECRET).status_code == 200
    assert post_event(client, paid, secret=WEBHOOK_SECRET).json["duplicate"] is True


# --- Real concurrency (PostgreSQL) -------------------------------------------------------------------------


@pytest.mark.real_commits
def test_simultaneous_deliveries_on_postgresql_pay_once(app, stripe_keys, make_issued_invoice):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL; in-memory SQLite has one connection per thread")
    invoice = make_issued_invoice(amount="10000.00", currency="EUR")
    # The same event delivered four times at once, and the other event about the same session four times too.
    deliveries = [session_event(invoice, event_id="evt_concurrent")] * 4 + [
        session_event(invoice, SUCCEEDED, event_id="evt_concurrent_async")
    ] * 4
    invoice_id = invoice.id
    db.session.commit()
    db.session.remove()

    statuses: list[int] = []

    def deliver(payload: dict):
        client = app.test_client()
        return lambda: statuses.append(post_event(client, payload).status_code)

    outcomes = at_once(app, [lambda payload=payload: deliver(payload) for payload in deliveries])

    assert outcomes == ["done"] * len(deliveries) and statuses == [200] * len(deliveries)
    assert count(Payment) == 1 and count(StripeEvent) == 2
    paid = db.session.get(type(invoice), invoice_id)
    assert paid.status == InvoiceStatus.PAID and paid.amount_paid == Decimal("10000.00")
