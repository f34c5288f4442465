"""What a typed amount or rate may be, defined once: the bounds, the strict parser and the messages.

Every form field (`app.common.fields`), import and service that takes a number a person typed goes through
`parse_decimal` or `check_decimal`, so that the same value is refused everywhere with the same words. A value
is refused, never rounded: 0.001 is not an amount of 0.00.

The bounds come from the columns the values land in (`db_types.MONEY`, `db_types.RATE`): the places are the
column's scale, and the largest typed value sits well inside the column, so that sums of many of them (an
invoice's total, a member's balance, a year's collection) still fit it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal

import sqlalchemy as sa

from . import db_types
from .money import currency_exponent, is_currency


class DecimalRefused(ValueError):
    """A typed number that is not acceptable; the message says why and is safe to show beside the field."""


def column_limit(column_type: sa.Numeric) -> Decimal:
    """The largest value a Numeric(precision, scale) column holds: Numeric(14, 2) holds 999,999,999,999.99."""
    return Decimal(10) ** (column_type.precision - column_type.scale) - Decimal(1).scaleb(-column_type.scale)


@dataclass(frozen=True)
class DecimalBounds:
    """A typed number has at most `places` decimals and lies from `minimum` to `maximum` (both included)."""

    places: int
    minimum: Decimal
    maximum: Decimal
    #: What to type, for the message shown when the text is not a number at all.
    example: str
    #: What the number is, for messages: "an amount", "a rate".
    noun: str = "an amount"
    #: Money is kept with exactly `places` decimals (12.5 is 12.50); a rate keeps the digits typed.
    is_money: bool = True

    def with_minimum(self, minimum: Decimal | str) -> DecimalBounds:
        return replace(self, minimum=Decimal(minimum))


def _plain(value: Decimal) -> str:
    # Thousands separated, no exponent, no trailing zeros beyond what the value needs.
    return f"{value.normalize():,f}"


#: The largest amount of money anyone may type: a thousandth of what a MONEY column holds, so that a thousand
#: of them still add up inside it. It is also the largest amount an EPC (SEPA) payment QR code can carry.
AMOUNT_MAX = Decimal("999999999.99")
#: The largest exchange or budget rate anyone may type (units of one currency for one unit of another).
RATE_MAX = Decimal("1000000")

#: Money typed by a person: a positive amount with the MONEY column's places.
AMOUNT = DecimalBounds(
    places=db_types.MONEY.scale,
    minimum=Decimal(1).scaleb(-db_types.MONEY.scale),
    maximum=AMOUNT_MAX,
    example="1234.50",
)
#: Money where zero is meaningful (a policy amount, an adjusted amount).
AMOUNT_OR_ZERO = AMOUNT.with_minimum("0")
#: An exchange rate or budget rate: positive, with the RATE column's places.
RATE = DecimalBounds(
    places=db_types.RATE.scale,
    minimum=Decimal(1).scaleb(-db_types.RATE.scale),
    maximum=RATE_MAX,
    example="0.9215",
    noun="a rate",
    is_money=False,
)

for _bounds, _column in ((AMOUNT, db_types.MONEY), (RATE, db_types.RATE)):
    if _bounds.maximum > column_limit(_column) or _bounds.places > _column.scale:
        raise RuntimeError(f"The typed bounds {_bounds} do not fit their column {_column}.")

#: ASCII digits with an optional sign and decimal point: no exponent, no grouping (is "1,500" 1.5 or 1500?).
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
#: Longer text is not a number anyone typed by hand (and would be slow to look at).
_MAX_LENGTH = 40


def parse_decimal(
    text: str | Decimal | int | None, bounds: DecimalBounds, currency: str | None = None
) -> Decimal:
    """The number typed in `text`, or DecimalRefused saying what is wrong with it (never rounded).

    `currency` narrows the places to its minor unit (JPY amounts have none)."""
    if isinstance(text, float):
        raise TypeError("Amounts are never floats; pass the text that was typed, or a Decimal.")
    if isinstance(text, Decimal | int) and not isinstance(text, bool):
        return check_decimal(Decimal(text), bounds, currency)
    cleaned = (text or "").strip()
    if not cleaned:
        raise DecimalRefused(f"Enter {bounds.noun}, such as {bounds.example}.")
    if len(cleaned) > _MAX_LENGTH or not _NUMBER.fullmatch(cleaned):
        raise DecimalRefused(
            f"Enter {bounds.noun} in digits, with a point before the decimals, such as {bounds.example}."
        )
    return check_decimal(Decimal(cleaned), bounds, currency)


def check_decimal(value: Decimal, bounds: DecimalBounds, currency: str | None = None) -> Decimal:
    """`value` itself when it is within `bounds` (and the currency's places), else DecimalRefused."""
    if not isinstance(value, Decimal):
        raise TypeError("check_decimal takes a Decimal.")
    if not value.is_finite():
        raise DecimalRefused(f"Enter {bounds.noun}, such as {bounds.example}.")
    if value == 0:
        value = abs(value)  # -0 is 0
    noun = bounds.noun[0].upper() + bounds.noun[1:]
    if value < bounds.minimum:
        if value < 0 and bounds.minimum == 0:
            raise DecimalRefused(f"{noun} cannot be negative.")
        if value <= 0:
            raise DecimalRefused(f"{noun} must be more than zero.")
    if value > bounds.maximum:
        raise DecimalRefused(f"{noun} can be at most {_plain(bounds.maximum)}.")
    places = bounds.places
    if currency and is_currency(currency):
        places = min(places, currency_exponent(currency))
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise DecimalRefused(_too_many_places(bounds, places, currency))
    if value < bounds.minimum:
        raise DecimalRefused(f"{noun} must be at least {_plain(bounds.minimum)}.")
    # A canonical value: money keeps exactly its places (12.5 typed is 12.50); a rate keeps what was typed.
    return value.quantize(Decimal(1).scaleb(-places)) if bounds.is_money else value


def _too_many_places(bounds: DecimalBounds, places: int, currency: str | None) -> str:
    if currency and places < bounds.places:
        if places == 0:
            return f"{currency} amounts have no decimals."
        return f"{currency} amounts have at most {places} decimal places."
    return f"Use at most {places} decimal places."


def decimal_problem(value: Decimal, bounds: DecimalBounds, currency: str | None = None) -> str | None:
    """What is wrong with `value`, or None when it is acceptable (for services that collect field errors)."""
    try:
        check_decimal(value, bounds, currency)
    except DecimalRefused as refused:
        return str(refused)
    return None
