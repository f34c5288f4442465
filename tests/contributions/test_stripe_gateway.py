"""The Stripe gateway: minor units (zero- and three-decimal currencies), signature checks, plain data out,
and real stripe-python requests to the local fake Stripe."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import pytest

from app.contributions import stripe_gateway as gateway

from .stripe_fakes import WEBHOOK_SECRET, event, refund_event, signature_header

# --- Minor units -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("10000.00", "EUR", 1_000_000),
        ("12.34", "USD", 1234),
        ("500", "JPY", 500),  # zero-decimal: whole yen
        ("500.00", "JPY", 500),
        ("25000", "UGX", 25000),  # zero-decimal in Stripe's list
        ("1200", "XOF", 1200),
        ("5.12", "KWD", 5120),  # three-decimal: thousandths, last digit 0
        ("1000", "HUF", 100_000),  # CLDR says 0 decimals; Stripe charges HUF with two
        ("5", "ISK", 500),  # two-decimal in the API, whole krónur only
        ("150000", "IDR", 15_000_000),  # CLDR 0, Stripe 2
    ],
)
def test_amounts_become_stripe_minor_units_and_come_back_unchanged(amount, currency, minor):
    assert gateway.to_minor_units(Decimal(amount), currency) == minor
    assert gateway.from_minor_units(minor, currency.lower()) == Decimal(amount).quantize(Decimal("0.01"))


def test_zero_decimal_currencies_are_sent_without_multiplying():
    assert gateway.stripe_exponent("jpy") == 0
    assert gateway.to_minor_units(Decimal("1500"), "JPY") == 1500
    assert gateway.from_minor_units(1500, "jpy") == Decimal("1500.00")
    assert gateway.stripe_exponent("EUR") == 2
    assert gateway.stripe_exponent("BHD") == 3


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("500.50", "JPY"), ("5.50", "ISK"), ("10.005", "EUR"), ("1.5", "UGX")],
)
def test_an_amount_the_currency_cannot_carry_is_refused_not_rounded(amount, currency):
    with pytest.raises(gateway.AmountNotRepresentable):
        gateway.to_minor_units(Decimal(amount), currency)


def test_floats_and_odd_stripe_amounts_are_refused():
    with pytest.raises(TypeError):
        gateway.to_minor_units(12.5, "EUR")
    with pytest.raises(gateway.MalformedEvent):
        gateway.from_minor_units("1000", "EUR")
    with pytest.raises(gateway.MalformedEvent):
        gateway.from_minor_units(1000, "XXY")
    with pytest.raises(gateway.AmountNotRepresentable):
        gateway.from_minor_units(5125, "KWD")  # our books keep two decimals


# --- Webhook signatures ------------------------------------------------------------------------------------


@pytest.fixture
def webhook_secret(app):
    saved = app.config["STRIPE_WEBHOOK_SECRET"]
    app.config["STRIPE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    yield WEBHOOK_SECRET
    app.config["STRIPE_WEBHOOK_SECRET"] = saved


def _body(payload: dict) -> bytes:
    return json.dumps(payload).encode()


def test_a_correctly_signed_body_becomes_plain_data(app, webhook_secret):
    body = _body(
        event(
            "checkout.session.completed", {"id": "cs_1", "object": "checkout.session"}, created=1_800_000_000
        )
    )
    verified = gateway.construct_event(body, signature_header(body))
    assert isinstance(verified, gateway.WebhookEvent)
    assert verified.type == "checkout.session.completed"
    assert verified.created.year == 2027
    assert type(verified.object) is dict and verified.object["id"] == "cs_1"
    assert verified.payload == json.loads(body)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "t=1,v1=deadbeef",
    ],
)
def test_missing_or_malformed_signatures_are_refused(app, webhook_secret, header):
    with pytest.raises(gateway.InvalidSignature):
        gateway.construct_event(_body(event("x.y", {})), header)


def test_a_tampered_body_a_wrong_secret_and_a_stale_signature_are_refused(app, webhook_secret):
    body = _body(event("x.y", {"amount": 100}))
    with pytest.raises(gateway.InvalidSignature):
        gateway.construct_event(body.replace(b"100", b"999"), signature_header(body))
    with pytest.raises(gateway.InvalidSignature):
        gateway.construct_event(body, signature_header(body, secret="whsec_someone_else"))
    with pytest.raises(gateway.InvalidSignature):
        gateway.construct_event(body, signature_header(body, timestamp=int(time.time()) - 301))
    assert (
        gateway.construct_event(body, signature_header(body, timestamp=int(time.time()) - 200)).type == "x.y"
    )


def test_a_signed_body_that_is_not_json_is_refused(app, webhook_secret):
    body = b"not json at all"
    with pytest.raises(gateway.NotAnEvent):
        gateway.construct_event(body, signature_header(body))


def test_without_a_webhook_secret_nothing_is_verified(app):
    body = _body(event("x.y", {}))
    with pytest.raises(gateway.NotConfigured):
        gateway.construct_event(body, signature_header(body))


def test_a_checkout_session_reads_in_major_units():
    session = gateway.event_from_payload(
        event(
            "checkout.session.completed",
            {
                "id": "cs_1",
                "object": "checkout.session",
                "payment_status": "paid",
                "amount_total": 1500,
                "currency": "jpy",
                "client_reference_id": "BE-2027-0001",
                "metadata": {"invoice_id": "7", "expected_amount": "1500"},
                "payment_intent": "pi_1",
                "payment_method_types": ["card"],
            },
        )
    ).checkout_session()
    assert (session.amount, session.currency) == (Decimal("1500.00"), "JPY")
    assert session.metadata["invoice_id"] == "7" and session.payment_intent_id == "pi_1"


def test_a_refunded_charge_reads_its_cumulative_amount_and_refunds():
    charge = gateway.event_from_payload(
        refund_event("pi_1", amount=10000, amount_refunded=2500, refunds=[("re_1", 2500)])
    ).refunded_charge()
    assert charge.amount_refunded == Decimal("25.00") and charge.currency == "EUR"
    assert [(r.id, r.amount) for r in charge.refunds] == [("re_1", Decimal("25.00"))]


def test_an_event_without_the_promised_object_is_malformed():
    with pytest.raises(gateway.MalformedEvent):
        gateway.event_from_payload(
            event("checkout.session.completed", {"id": "ch_1", "object": "charge"})
        ).checkout_session()


# --- Outgoing calls (to the fake on 127.0.0.1) -------------------------------------------------------------


def _create(**overrides):
    params = dict(
        amount=Decimal("10000.00"),
        currency="EUR",
        description="Invoice BE-2027-0001",
        client_reference_id="BE-2027-0001",
        metadata={"invoice_id": "1", "expected_amount": "10000.00", "currency": "EUR"},
        success_url="http://localhost/pay/t?checkout=success",
        cancel_url="http://localhost/pay/t?checkout=cancelled",
        idempotency_key="key-1",
    )
    params.update(overrides)
    return gateway.create_checkout_session(**params)


def test_a_checkout_session_is_created_in_minor_units_with_the_idempotency_key(app, stripe_keys):
    session = _create(locale="fr")
    assert session.url.startswith("https://checkout.stripe.com/")
    [sent] = stripe_keys.session_requests()
    params = sent["params"]
    assert sent["headers"]["Idempotency-Key"] == "key-1"
    assert sent["headers"]["Authorization"] == "Bearer sk_test_tributary_fake"
    assert params["line_items[0][price_data][unit_amount]"] == "1000000"
    assert params["line_items[0][price_data][currency]"] == "eur"
    assert params["client_reference_id"] == "BE-2027-0001"
    assert params["metadata[invoice_id]"] == "1"
    assert params["payment_intent_data[metadata][invoice_id]"] == "1"
    assert params["locale"] == "fr" and params["mode"] == "payment"


def test_a_zero_decimal_checkout_sends_whole_units(app, stripe_keys):
    _create(amount=Decimal("150000"), currency="JPY", idempotency_key="key-jpy")
    assert stripe_keys.session_requests()[0]["params"]["line_items[0][price_data][unit_amount]"] == "150000"


def test_the_same_idempotency_key_gives_the_same_session(app, stripe_keys):
    first, second = _create(), _create()
    assert first == second
    assert len(stripe_keys.session_requests()) == 2 and len(stripe_keys.sessions) == 1


def test_a_refusal_from_stripe_is_a_gateway_error(app, stripe_keys):
    stripe_keys.fail_next = (400, {"error": {"type": "invalid_request_error", "message": "No such price"}})
    with pytest.raises(gateway.GatewayError):
        _create()


def test_without_keys_nothing_is_sent(app, stripe_api):
    with pytest.raises(gateway.NotConfigured):
        _create()
    assert stripe_api.requests == []


def test_fees_come_from_the_balance_transaction(app, stripe_keys):
    stripe_keys.add_payment_intent("pi_fee", amount=1_000_000, fee=14_500, method="sepa_debit")
    details = gateway.fetch_charge_details("pi_fee")
    assert details == gateway.ChargeDetails("sepa_debit", Decimal("145.00"), Decimal("9855.00"), "EUR")
    request = stripe_keys.requests[-1]
    assert request["path"] == "/v1/payment_intents/pi_fee"
    assert request["params"]["expand[0]"] == "latest_charge.balance_transaction"


def test_an_unknown_payment_intent_is_a_gateway_error(app, stripe_keys):
    with pytest.raises(gateway.GatewayError):
        gateway.fetch_charge_details("pi_missing")


def test_the_gateway_is_the_only_module_that_imports_stripe():
    root = Path(__file__).resolve().parents[2] / "app"
    importers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if any(
            line.strip().startswith(("import stripe", "from stripe"))
            for line in path.read_text(encoding="utf-8").splitlines()
        )
    )
    assert importers == ["contributions/stripe_gateway.py"]
