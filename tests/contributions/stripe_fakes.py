"""Stripe in tests: a fake Stripe API on 127.0.0.1, Stripe-style webhook signing, and event builders.

The app talks to the fake through STRIPE_API_BASE with stripe-python's own HTTP client, so the request
encoding, headers and idempotency keys are the real ones; nothing leaves the machine. localstripe has no
Checkout Session resource, hence this small fake of the three endpoints Tributary uses.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

SECRET_KEY = "sk_test_tributary_fake"
WEBHOOK_SECRET = "whsec_tributary_test_secret"


class FakeStripe:
    """Records every request; answers Checkout Session creation (idempotently) and payment intent reads."""

    def __init__(self):
        self.requests: list[dict] = []
        self.sessions: dict[str, dict] = {}
        self.payment_intents: dict[str, dict] = {}
        self._by_idempotency_key: dict[str, tuple[dict, dict]] = {}
        self.fail_next: tuple[int, dict] | None = None
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self.url = ""

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.sessions.clear()
            self.payment_intents.clear()
            self._by_idempotency_key.clear()
            self.fail_next = None

    def session_requests(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST" and r["path"] == "/v1/checkout/sessions"]

    def add_payment_intent(
        self,
        intent_id: str,
        *,
        amount: int,
        currency: str = "eur",
        fee: int | None = None,
        net: int | None = None,
        balance_currency: str | None = None,
        method: str = "card",
    ) -> None:
        """A succeeded payment intent whose charge has a balance transaction (fee and net in minor units)."""
        balance = None
        if fee is not None:
            balance = {
                "id": f"txn_{intent_id}",
                "object": "balance_transaction",
                "amount": amount,
                "currency": balance_currency or currency,
                "fee": fee,
                "net": net if net is not None else amount - fee,
            }
        self.payment_intents[intent_id] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "currency": currency,
            "status": "succeeded",
            "latest_charge": {
                "id": f"ch_{intent_id}",
                "object": "charge",
                "amount": amount,
                "currency": currency,
                "payment_method_details": {"type": method},
                "balance_transaction": balance,
            },
        }

    # --- serving ---------------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict, body: bytes) -> tuple[int, dict]:
        parts = urlsplit(target)
        params = dict(parse_qsl(body.decode() if method == "POST" else parts.query, keep_blank_values=True))
        with self._lock:
            self.requests.append({"method": method, "path": parts.path, "headers": headers, "params": params})
            if self.fail_next is not None:
                failure, self.fail_next = self.fail_next, None
                return failure
            if method == "POST" and parts.path == "/v1/checkout/sessions":
                return self._create_session(headers.get("Idempotency-Key"), params)
            if method == "GET" and parts.path.startswith("/v1/payment_intents/"):
                intent = self.payment_intents.get(parts.path.rsplit("/", 1)[1])
                if intent is not None:
                    return 200, intent
                return 404, _error("invalid_request_error", "No such payment_intent")
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {parts.path})")

    def _create_session(self, key: str | None, params: dict) -> tuple[int, dict]:
        if key and key in self._by_idempotency_key:
            first_params, session = self._by_idempotency_key[key]
            if first_params != params:
                return 400, _error(
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters they were first "
                    "used with.",
                )
            return 200, session
        number = next(self._numbers)
        session_id = f"cs_test_{number:04d}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            "mode": params.get("mode"),
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": int(params["line_items[0][price_data][unit_amount]"]),
            "currency": params["line_items[0][price_data][currency]"],
            "client_reference_id": params.get("client_reference_id"),
            "metadata": {k[len("metadata[") : -1]: v for k, v in params.items() if k.startswith("metadata[")},
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
        }
        self.sessions[session_id] = session
        if key:
            self._by_idempotency_key[key] = (params, session)
        return 200, session


def _error(kind: str, message: str) -> dict:
    return {"error": {"type": kind, "message": message}}


def _handler_for(fake: FakeStripe):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload = fake.handle(method, self.path, dict(self.headers.items()), body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_fake_{len(fake.requests)}")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802 - the name http.server calls
            self._serve("GET")

        def do_POST(self):  # noqa: N802
            self._serve("POST")

        def log_message(self, format, *args):  # quiet: the test output is about the app
            pass

    return Handler


@pytest.fixture(scope="session")
def stripe_api():
    """The fake Stripe API server, one per test run (reset per test by `stripe_keys`)."""
    fake = FakeStripe()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def stripe_keys(app, stripe_api):
    """Online payment switched on for one test, pointed at the fake; the app's config is restored after."""
    keys = {
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": "pk_test_tributary_fake",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_api.url,
    }
    saved = {key: app.config.get(key) for key in keys}
    app.config.update(keys)
    stripe_api.reset()
    try:
        yield stripe_api
    finally:
        app.config.update(saved)
        stripe_api.reset()


# --- Webhook signing and events ----------------------------------------------------------------------------


def signature_header(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Stripe's scheme: HMAC-SHA256 of "{timestamp}.{body}" with the endpoint secret, as t=...,v1=..."""
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


def post_event(client, event: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    """POST an event the way Stripe does: raw JSON bytes, signed."""
    body = json.dumps(event).encode()
    return client.post(
        "/stripe/webhook",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": signature_header(body, secret, timestamp)},
    )


_event_numbers = itertools.count(1)


def minor(amount: Decimal | str, exponent: int = 2) -> int:
    """Major units to Stripe's minor units, for building payloads (exact: Decimal only)."""
    return int(Decimal(amount).scaleb(exponent))


def event(event_type: str, obj: dict, *, event_id: str | None = None, created: int | None = None) -> dict:
    return {
        "id": event_id or f"evt_test_{next(_event_numbers):05d}",
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": created or int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {"object": obj},
    }


def session_event(
    invoice,
    event_type: str = "checkout.session.completed",
    *,
    session_id: str = "cs_test_paid_1",
    payment_intent: str | None = "pi_test_1",
    amount_total: int | None = None,
    currency: str | None = None,
    payment_status: str = "paid",
    metadata: dict | None = None,
    client_reference_id: str | None = None,
    payment_method_types: tuple[str, ...] = ("card",),
    event_id: str | None = None,
    created: int | None = None,
) -> dict:
    """A Checkout Session event as Stripe sends it for a session Tributary created for `invoice`."""
    currency = currency or invoice.currency.lower()
    expected = invoice.balance_due
    session = {
        "id": session_id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete",
        "payment_status": payment_status,
        "amount_total": minor(expected) if amount_total is None else amount_total,
        "currency": currency,
        "client_reference_id": client_reference_id or invoice.number,
        "customer_details": {"email": "treasury@gov.example"},
        "metadata": metadata
        if metadata is not None
        else {
            "invoice_id": str(invoice.id),
            "invoice_number": invoice.number,
            "expected_amount": str(expected),
            "currency": invoice.currency,
        },
        "payment_intent": payment_intent,
        "payment_method_types": list(payment_method_types),
    }
    return event(event_type, session, event_id=event_id, created=created)


def refund_event(
    payment_intent: str,
    *,
    amount: int,
    amount_refunded: int,
    currency: str = "eur",
    refunds: list[tuple[str, int]] = (),
    event_id: str | None = None,
) -> dict:
    """A charge.refunded event; `amount_refunded` is cumulative, as Stripe sends it."""
    charge = {
        "id": f"ch_{payment_intent}",
        "object": "charge",
        "amount": amount,
        "amount_refunded": amount_refunded,
        "currency": currency,
        "payment_intent": payment_intent,
        "refunded": amount_refunded == amount,
        "refunds": {
            "object": "list",
            "data": [
                {"id": refund_id, "object": "refund", "amount": value, "status": "succeeded"}
                for refund_id, value in refunds
            ],
        },
    }
    return event("charge.refunded", charge, event_id=event_id)
