"""The one door to Stripe: the only module that imports `stripe`.

Amounts cross into Stripe's minor units here and only here; everything this module hands back is plain data
(dataclasses, dicts, Decimal amounts in major units, upper-case ISO currency codes), so that domain code never
sees a `StripeObject` and tests replace the network (a fake Stripe on 127.0.0.1 through STRIPE_API_BASE) and
nothing else.

Minor units follow Stripe's rules, which differ from ISO 4217 / CLDR (Babel) for a few currencies:
- Stripe's zero-decimal currencies (BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF) are sent
  as whole units (JPY 500 -> 500). UGX follows Stripe's zero-decimal list (CLDR agrees).
- Stripe's three-decimal currencies (BHD JOD KWD OMR TND) are sent in thousandths whose last digit must be 0;
  our amounts carry two decimals, so that always holds (KWD 5.12 -> 5120).
- Every other currency is two-decimal at Stripe, including those CLDR calls zero-decimal (ISK, HUF, IDR, COP,
  ...): HUF 1000 -> 100000. ISK is a special case: two-decimal in the API but only whole krónur may be charged
  (amount divisible by 100), so an ISK amount with a fraction is refused. HUF and TWD are two-decimal for
  charges (they are zero-decimal only for payouts, which Tributary does not make).
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import stripe
from flask import current_app

from ..common.db_types import MONEY
from ..common.decimals import column_limit
from ..common.errors import DomainError
from ..common.money import is_currency

log = logging.getLogger(__name__)

#: The largest amount a MONEY column holds: a larger Stripe amount cannot be one of ours.
MONEY_LIMIT = column_limit(MONEY)
#: https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
#: https://docs.stripe.com/currencies#three-decimal
THREE_DECIMAL_CURRENCIES = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])
#: Two-decimal in Stripe's API, but only whole units may be charged (https://docs.stripe.com/currencies#special-cases).
WHOLE_UNITS_ONLY = frozenset({"ISK"})

#: Payment method types that are cards (or card wallets); the rest are bank payments (SEPA, ACH, Bacs ...).
CARD_METHOD_TYPES = frozenset({"card", "card_present", "link", "apple_pay", "google_pay"})


class GatewayError(DomainError):
    """Stripe refused a request or could not be reached; the message is safe to show."""


class NotConfigured(GatewayError):
    """The Stripe keys are not set: online payment is off."""


class InvalidSignature(GatewayError):
    """A webhook body whose Stripe-Signature is missing, wrong, too old or dated in the future."""


class NotAnEvent(GatewayError):
    """A correctly signed webhook body that is not a Stripe event (not a JSON object, no id ...)."""


class AmountNotRepresentable(GatewayError):
    """An amount that Stripe's minor units for its currency cannot carry exactly."""


class MalformedEvent(GatewayError):
    """A signed event whose content is not what its type promises."""


# --- Amounts -----------------------------------------------------------------------------------------------


def stripe_exponent(currency: str) -> int:
    """Digits of the minor unit in Stripe's API for a currency (0 for JPY, 2 for EUR and ISK, 3 for KWD)."""
    code = _currency(currency)
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_minor_units(amount: Decimal, currency: str) -> int:
    """A Decimal amount in major units as Stripe's integer amount; refuses what would need rounding."""
    if not isinstance(amount, Decimal):
        raise TypeError("Amounts are Decimal.")
    code = _currency(currency)
    if code in WHOLE_UNITS_ONLY and amount != amount.to_integral_value():
        raise AmountNotRepresentable(f"{code} can only be charged in whole units; {amount} has a fraction.")
    scaled = amount.scaleb(stripe_exponent(code))
    if scaled != scaled.to_integral_value():
        raise AmountNotRepresentable(f"{amount} {code} has more decimals than {code} allows.")
    return int(scaled)


def from_minor_units(minor: int, currency: str) -> Decimal:
    """Stripe's integer amount as a Decimal in major units, with two decimals (our MONEY columns)."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise MalformedEvent(f"Stripe amount {minor!r} is not an integer.")
    code = _currency(currency)
    amount = Decimal(minor).scaleb(-stripe_exponent(code))
    if abs(amount) > MONEY_LIMIT:
        raise AmountNotRepresentable(f"Stripe amount {minor} {code} is larger than any amount kept here.")
    two_places = amount.quantize(Decimal("0.01"))
    if two_places != amount:
        raise AmountNotRepresentable(f"{amount} {code} has more than two decimals.")
    return two_places


def _currency(code: Any) -> str:
    upper = str(code or "").upper()
    if not is_currency(upper):
        raise MalformedEvent(f"{code!r} is not a currency.")
    return upper


# --- Configuration -----------------------------------------------------------------------------------------


def is_configured() -> bool:
    """True when the secret key and the webhook secret are set (publishable key is optional for Checkout)."""
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_WEBHOOK_SECRET"))


def _client() -> stripe.StripeClient:
    config = current_app.config
    if not config.get("STRIPE_SECRET_KEY"):
        raise NotConfigured("Online payment is not configured.")
    base = config.get("STRIPE_API_BASE") or None
    return stripe.StripeClient(
        config["STRIPE_SECRET_KEY"],
        base_addresses={"api": base} if base else None,
        # Retries are safe: every POST carries an idempotency key.
        max_network_retries=2,
        # The webhook may read fees while it holds an invoice row lock: never wait long.
        http_client=stripe.RequestsClient(timeout=(5, 20)),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, stripe.StripeObject):
        return value.to_dict()
    return value


# --- Checkout ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckoutSession:
    """What Tributary keeps of a Checkout Session it created."""

    id: str
    url: str


def create_checkout_session(
    *,
    amount: Decimal,
    currency: str,
    description: str,
    client_reference_id: str,
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
    locale: str | None = None,
    customer_email: str | None = None,
) -> CheckoutSession:
    """Create a one-line Checkout Session for `amount` (the same key twice gives the same session)."""
    params: dict[str, Any] = {
        "mode": "payment",
        "client_reference_id": client_reference_id,
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": _currency(currency).lower(),
                    "unit_amount": to_minor_units(amount, currency),
                    "product_data": {"name": description},
                },
            }
        ],
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata, "description": description},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if locale:
        params["locale"] = locale
    if customer_email:
        params["customer_email"] = customer_email
    try:
        session = _client().v1.checkout.sessions.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    except stripe.StripeError as error:
        log.warning("Stripe refused a Checkout Session: %r", error)
        raise GatewayError(
            "The payment service could not start the payment. Please try again in a few minutes."
        ) from error
    data = _plain(session)
    if not data.get("id") or not data.get("url"):
        raise GatewayError("The payment service answered without a payment page. Please try again.")
    return CheckoutSession(id=data["id"], url=data["url"])


# --- Fees --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChargeDetails:
    """What the charge behind a payment intent says: the method used and, once settled, Stripe's fee."""

    payment_method_type: str | None
    fee: Decimal | None = None
    net: Decimal | None = None
    #: Currency of fee and net (the settlement currency, which may differ from the charge's).
    fee_currency: str | None = None


def charge_details_from_payment_intent(payment_intent: dict) -> ChargeDetails | None:
    """Read the method and fees from a payment intent whose latest_charge.balance_transaction is expanded."""
    charge = payment_intent.get("latest_charge") if isinstance(payment_intent, dict) else None
    if not isinstance(charge, dict):
        return None
    method_details = charge.get("payment_method_details") or {}
    method_type = method_details.get("type") if isinstance(method_details, dict) else None
    balance = charge.get("balance_transaction")
    if not isinstance(balance, dict):
        return ChargeDetails(payment_method_type=method_type)
    try:
        fee_currency = _currency(balance.get("currency"))
        fee = from_minor_units(balance.get("fee"), fee_currency)
        net = from_minor_units(balance.get("net"), fee_currency)
    except GatewayError:
        return ChargeDetails(payment_method_type=method_type)
    return ChargeDetails(payment_method_type=method_type, fee=fee, net=net, fee_currency=fee_currency)


def fetch_charge_details(payment_intent_id: str) -> ChargeDetails | None:
    """Ask Stripe for a payment intent's charge and balance transaction (a read: safe to repeat)."""
    try:
        intent = _client().v1.payment_intents.retrieve(
            payment_intent_id, params={"expand": ["latest_charge.balance_transaction"]}
        )
    except stripe.StripeError as error:
        log.warning("Could not read payment intent %s from Stripe: %r", payment_intent_id, error)
        raise GatewayError(f"Stripe did not return payment intent {payment_intent_id}.") from error
    return charge_details_from_payment_intent(_plain(intent))


# --- Webhook events ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckoutSessionData:
    """A Checkout Session as an event carries it, amounts in major units."""

    id: str
    payment_status: str
    amount: Decimal
    currency: str
    client_reference_id: str | None
    metadata: dict[str, str]
    payment_intent_id: str | None
    payment_method_types: tuple[str, ...]
    customer_email: str | None
    #: Method and fees when the event carried an expanded payment intent (Stripe's own events do not).
    charge: ChargeDetails | None = None


@dataclass(frozen=True)
class RefundData:
    id: str
    amount: Decimal
    status: str
    created: datetime | None


@dataclass(frozen=True)
class ChargeRefundedData:
    """A refunded charge: `amount_refunded` is cumulative over all its refunds."""

    charge_id: str
    payment_intent_id: str | None
    currency: str
    amount: Decimal
    amount_refunded: Decimal
    refunds: tuple[RefundData, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class WebhookEvent:
    """A verified Stripe event as plain data."""

    id: str
    type: str
    created: datetime | None
    livemode: bool
    object: dict
    payload: dict

    def checkout_session(self) -> CheckoutSessionData:
        """The Checkout Session this event is about (raises MalformedEvent when it is not one)."""
        data = self.object
        if data.get("object") != "checkout.session" or not _text(data.get("id")):
            raise MalformedEvent("The event does not carry a Checkout Session.")
        currency = _currency(data.get("currency"))
        intent = data.get("payment_intent")
        intent_id = intent.get("id") if isinstance(intent, dict) else intent
        metadata = data.get("metadata")
        details = data.get("customer_details")
        method_types = data.get("payment_method_types")
        return CheckoutSessionData(
            id=_text(data["id"]),
            payment_status=_text(data.get("payment_status")) or "",
            amount=from_minor_units(data.get("amount_total"), currency),
            currency=currency,
            client_reference_id=_text(data.get("client_reference_id")),
            metadata={str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {},
            payment_intent_id=_text(intent_id),
            payment_method_types=tuple(t for t in method_types if isinstance(t, str))
            if isinstance(method_types, list)
            else (),
            customer_email=_text(data.get("customer_email"))
            or (_text(details.get("email")) if isinstance(details, dict) else None),
            charge=charge_details_from_payment_intent(intent) if isinstance(intent, dict) else None,
        )

    def refunded_charge(self) -> ChargeRefundedData:
        """The charge a charge.refunded event is about, with its refunds when the event lists them."""
        data = self.object
        if data.get("object") != "charge" or not _text(data.get("id")):
            raise MalformedEvent("The event does not carry a charge.")
        currency = _currency(data.get("currency"))
        intent = data.get("payment_intent")
        intent_id = intent.get("id") if isinstance(intent, dict) else intent
        refunds_list = data.get("refunds")
        listed = refunds_list.get("data") if isinstance(refunds_list, dict) else None
        refunds = tuple(
            RefundData(
                id=_text(refund["id"]),
                amount=from_minor_units(refund.get("amount"), currency),
                status=_text(refund.get("status")) or "",
                created=_timestamp(refund.get("created")),
            )
            for refund in (listed if isinstance(listed, list) else [])
            if isinstance(refund, dict) and _text(refund.get("id"))
        )
        return ChargeRefundedData(
            charge_id=_text(data["id"]),
            payment_intent_id=_text(intent_id),
            currency=currency,
            amount=from_minor_units(data.get("amount"), currency),
            amount_refunded=from_minor_units(data.get("amount_refunded"), currency),
            refunds=refunds,
        )


def _text(value: Any) -> str | None:
    # Ids and references are strings in Stripe's events; a number or a list there is not one of them.
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None  # a time no calendar holds: as if Stripe had not said
    return None


#: Stripe's tolerance for a signature's age (its default), applied to signatures dated in the future as well:
#: stripe-python checks only the past, so a captured signature with a forged future date would never expire.
SIGNATURE_TOLERANCE_SECONDS = 300
#: Longest event id and type the stripe_events columns hold.
EVENT_ID_MAX, EVENT_TYPE_MAX = 255, 100


def construct_event(payload: bytes, signature_header: str | None, now: float | None = None) -> WebhookEvent:
    """Verify a webhook body against STRIPE_WEBHOOK_SECRET and return it as plain data.

    Raises InvalidSignature for a missing, wrong, stale or future-dated signature, and NotAnEvent for a
    correctly signed body that is not a Stripe event."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise NotConfigured("The Stripe webhook secret is not configured.")
    if not signature_header:
        raise InvalidSignature("The Stripe-Signature header is missing.")
    try:
        stripe.WebhookSignature.verify_header(payload, signature_header, secret, SIGNATURE_TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as error:
        raise InvalidSignature("The Stripe signature does not match this body.") from error
    except UnicodeDecodeError as error:
        raise InvalidSignature("The body is not a Stripe event.") from error
    if _signed_at(signature_header) > (time.time() if now is None else now) + SIGNATURE_TOLERANCE_SECONDS:
        raise InvalidSignature("The Stripe signature is dated in the future.")
    # The verified body itself is the plain data: exactly what Stripe signed, and JSON for storage.
    try:
        parsed = json.loads(payload, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as error:
        raise NotAnEvent("The body is not JSON that a Stripe event could be.") from error
    return event_from_payload(parsed, strict=True)


def _signed_at(signature_header: str) -> int:
    # The timestamp stripe-python verified: the first t= item, read as it reads it (so int() cannot fail).
    items = [item.split("=", 2) for item in signature_header.split(",")]
    return int(next(item[1] for item in items if item[0] == "t"))


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number a Stripe event carries.")


def _finite_float(text: str) -> float:
    # Stripe's amounts are integers; a float that overflows to infinity could never be stored as JSON.
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text} is too large a number.")
    return number


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def event_from_payload(payload: Any, strict: bool = False) -> WebhookEvent:
    """A stored (already verified) event payload as plain data, e.g. to apply it after review.

    `strict` (a new delivery) also refuses what could not be stored: an id or type longer than their columns,
    or a NUL character, which PostgreSQL refuses in text."""
    if not isinstance(payload, dict):
        raise NotAnEvent("The body is not a Stripe event (not a JSON object).")
    event_id, event_type = _text(payload.get("id")), payload.get("type")
    if not event_id or not isinstance(event_type, str) or not event_type:
        raise NotAnEvent("The body is not a Stripe event (no id or type).")
    if strict and (len(event_id) > EVENT_ID_MAX or len(event_type) > EVENT_TYPE_MAX or _holds_nul(payload)):
        raise NotAnEvent("The body is not a Stripe event (its id, type or text cannot be one).")
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    return WebhookEvent(
        id=event_id,
        type=event_type,
        created=_timestamp(payload.get("created")),
        livemode=payload.get("livemode") is True,
        object=obj if isinstance(obj, dict) else {},
        payload=payload,
    )
