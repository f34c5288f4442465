"""The public pay page: no login, a signed token per invoice, the invoice's language, and one Checkout Session
per double click."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from itsdangerous import URLSafeSerializer

from app.common.languages import Language
from app.contributions import paylinks
from app.contributions.models import InvoiceStatus
from app.contributions.services import stripe_payments

from .stripe_fakes import post_event, session_event


@pytest.fixture
def invoice(make_issued_invoice):
    return make_issued_invoice(amount="10000.00", currency="EUR")


def _path(invoice) -> str:
    return f"/pay/{paylinks.pay_token(invoice)}"


def test_the_pay_page_needs_no_login_and_shows_what_is_due(client, stripe_keys, invoice):
    response = client.get(_path(invoice))
    assert response.status_code == 200
    page = response.text
    assert invoice.hub.legal_name in page
    assert f"Invoice {invoice.number}" in page
    assert "€10,000.00" in page
    assert "Pay €10,000.00 online" in page
    assert "Sign out" not in page and "Contributions" not in page  # nothing of the staff interface


def test_a_bad_token_is_a_404_that_reveals_nothing(app, client, stripe_keys, invoice, make_draft_invoice):
    token = paylinks.pay_token(invoice)
    forged = URLSafeSerializer("not-our-secret", salt="tributary.pay-invoice").dumps(
        {"i": invoice.id, "n": invoice.number}
    )
    ours = URLSafeSerializer(app.config["SECRET_KEY"], salt="tributary.pay-invoice")
    draft = make_draft_invoice()
    for bad in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # tampered
        forged,  # signed with another key
        ours.dumps({"i": 987654, "n": "BE-2027-9999"}),  # unknown invoice
        ours.dumps({"i": invoice.id, "n": "BE-2027-0001-other"}),  # the number does not match
        ours.dumps({"i": draft.id, "n": "None"}),  # a draft has no pay page
        ours.dumps(["not", "a", "dict"]),
        "nonsense",
    ):
        response = client.get(f"/pay/{bad}")
        assert response.status_code == 404, bad
        assert invoice.number not in response.text and invoice.hub.legal_name not in response.text
        assert client.post(f"/pay/{bad}/checkout").status_code == 404
    assert stripe_keys.requests == []


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (Language.FR, ["Facture", "Montant dû", "10\u202f000,00\u00a0€", "Payer"]),
        (Language.ES, ["Factura", "Importe adeudado", "10.000,00\u00a0€", "Pagar"]),
    ],
)
def test_the_page_speaks_the_invoice_language(
    client, stripe_keys, make_issued_invoice, make_member, language, expected
):
    invoice = make_issued_invoice(amount="10000.00", member=make_member(language=language), language=language)
    page = client.get(_path(invoice)).text
    assert f'<html lang="{language.value}">' in page
    for text in expected:
        assert text in page


def test_a_paid_invoice_says_so_and_offers_no_payment(client, stripe_keys, invoice):
    post_event(client, session_event(invoice))
    page = client.get(_path(invoice)).text
    assert invoice.status == InvoiceStatus.PAID
    assert "This invoice is paid" in page and "online</button>" not in page
    response = client.post(_path(invoice) + "/checkout")
    assert response.status_code == 303 and response.headers["Location"].endswith(_path(invoice))
    assert stripe_keys.session_requests() == []


def test_a_processing_payment_says_so(client, stripe_keys, invoice):
    post_event(client, session_event(invoice, payment_status="unpaid"))
    page = client.get(_path(invoice)).text
    assert "Payment processing" in page and "online</button>" not in page


def test_without_stripe_keys_the_page_offers_the_bank_transfer(client, invoice, stripe_api):
    page = client.get(_path(invoice)).text
    assert "Online payment is not available" in page
    assert invoice.hub.iban in page and "online</button>" not in page
    response = client.post(_path(invoice) + "/checkout")
    assert response.status_code == 503 and "Online payment is not available" in response.text
    assert stripe_api.requests == []


def test_paying_creates_a_checkout_session_for_the_balance_and_redirects(client, stripe_keys, invoice):
    response = client.post(_path(invoice) + "/checkout")

    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    [sent] = stripe_keys.session_requests()
    params = sent["params"]
    assert params["line_items[0][price_data][unit_amount]"] == "1000000"
    assert params["line_items[0][price_data][currency]"] == "eur"
    assert params["client_reference_id"] == invoice.number
    assert params["metadata[invoice_id]"] == str(invoice.id)
    assert params["metadata[expected_amount]"] == "10000.00" and params["metadata[currency]"] == "EUR"
    assert params["payment_intent_data[metadata][invoice_id]"] == str(invoice.id)
    assert params["success_url"] == paylinks.pay_url(invoice) + "?checkout=success"
    assert params["cancel_url"] == paylinks.pay_url(invoice) + "?checkout=cancelled"
    assert sent["headers"]["Idempotency-Key"].startswith(f"tributary-invoice-{invoice.id}-EUR-10000.00-")


def test_a_double_click_makes_one_checkout_session(client, stripe_keys, invoice):
    first = client.post(_path(invoice) + "/checkout")
    second = client.post(_path(invoice) + "/checkout")
    assert first.headers["Location"] == second.headers["Location"]
    keys = {r["headers"]["Idempotency-Key"] for r in stripe_keys.session_requests()}
    assert len(keys) == 1 and len(stripe_keys.sessions) == 1


def test_a_new_balance_or_a_later_window_is_a_new_session(stripe_keys, invoice):
    moment = datetime(2027, 2, 1, 10, 0, tzinfo=UTC)
    key = stripe_payments.checkout_idempotency_key(invoice, moment)
    assert stripe_payments.checkout_idempotency_key(invoice, moment.replace(minute=10)) == key
    assert stripe_payments.checkout_idempotency_key(invoice, moment.replace(minute=20)) != key
    invoice.amount_paid = Decimal("1000.00")
    assert stripe_payments.checkout_idempotency_key(invoice, moment) != key


def test_a_stripe_failure_shows_a_message_and_charges_nothing(client, stripe_keys, invoice):
    stripe_keys.fail_next = (400, {"error": {"type": "invalid_request_error", "message": "Bad"}})
    response = client.post(_path(invoice) + "/checkout")
    assert response.status_code == 503
    assert "could not be reached" in response.text
    assert "Pay €10,000.00 online" in response.text  # the payer can try again


def test_the_pay_button_needs_the_csrf_token(app, client, stripe_keys, invoice):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = client.get(_path(invoice)).text
        assert 'name="csrf_token"' in page
        assert client.post(_path(invoice) + "/checkout").status_code == 400
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        response = client.post(_path(invoice) + "/checkout", data={"csrf_token": token})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 303
    assert len(stripe_keys.session_requests()) == 1


def test_the_return_from_checkout_thanks_the_payer_without_trusting_it(client, stripe_keys, invoice):
    page = client.get(_path(invoice) + "?checkout=success").text
    assert "Your payment is being confirmed" in page
    assert invoice.status == InvoiceStatus.ISSUED
    assert "Nothing was charged" in client.get(_path(invoice) + "?checkout=cancelled").text


def test_the_invoice_page_shows_the_pay_link(login_as, stripe_keys, invoice):
    page = login_as("board").get(f"/contributions/invoices/{invoice.id}").text
    assert paylinks.pay_url(invoice) in page and "Online payment" in page


def test_the_invoice_page_says_when_online_payment_is_not_configured(login_as, invoice):
    page = login_as("operations").get(f"/contributions/invoices/{invoice.id}").text
    assert "Online payment is not configured" in page
    assert "/pay/" not in page


def test_the_invoice_page_lists_stripe_payments(login_as, stripe_keys, invoice):
    stripe_keys.add_payment_intent("pi_test_1", amount=1_000_000, fee=14_500)
    operations = login_as("operations")
    post_event(operations, session_event(invoice))
    page = operations.get(f"/contributions/invoices/{invoice.id}").text
    assert "Card (Stripe)" in page and "€145.00" in page and "pi_test_1" in page
