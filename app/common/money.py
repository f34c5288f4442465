"""Money: a Decimal amount beside its ISO 4217 currency. No float ever touches it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale
from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    list_currencies,
)

CENT = Decimal("0.01")


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were added or compared without an exchange rate."""


def is_currency(code: str | None) -> bool:
    """True for an ISO 4217 code that Babel (CLDR) knows."""
    return bool(code) and code.upper() == code and code in _CURRENCIES


_CURRENCIES = frozenset(list_currencies())


def currency_exponent(code: str) -> int:
    """Number of minor-unit digits (2 for EUR, 0 for JPY)."""
    return get_currency_precision(code)


def to_decimal(value: str | int | Decimal) -> Decimal:
    """Parse an amount from text or int; refuses floats so that none sneaks in."""
    if isinstance(value, float):
        raise TypeError("Money is never built from a float; pass a string or a Decimal.")
    try:
        return Decimal(str(value).strip().replace(",", "")) if not isinstance(value, Decimal) else value
    except InvalidOperation as error:
        raise ValueError(f"{value!r} is not an amount") from error


def quantize(amount: Decimal, currency: str = "USD") -> Decimal:
    """Round half-up to the currency's minor unit."""
    exponent = currency_exponent(currency)
    return amount.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self):
        if not isinstance(self.amount, Decimal):
            object.__setattr__(self, "amount", to_decimal(self.amount))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal("0"), currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency} cannot be combined without a rate")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __bool__(self) -> bool:
        return self.amount != 0

    def format(self, locale: str = "en") -> str:
        return format_money(self.amount, self.currency, locale)

    def __str__(self) -> str:
        return self.format()


def format_money(amount: Decimal | None, currency: str | None, locale: str = "en") -> str:
    """Babel's currency formatting for a locale: `$1,234.50`, `1 234,50 €`.

    The same text as babel's format_currency(amount, currency, locale=locale, currency_digits=True), made
    from the locale's pattern and symbols read once per currency and locale (babel looks them all up again
    on every call, which made a list of 50 invoices spend more on its amounts than on its queries)."""
    if amount is None:
        return ""
    if not currency:
        return f"{amount:,.2f}"
    style = _currency_style(currency, locale)
    if style is None or not isinstance(amount, Decimal):
        return _formatted(amount, currency, locale, _is_signed(amount))
    return style.format(amount)


@dataclass(frozen=True, slots=True)
class _CurrencyStyle:
    """A locale's standard currency pattern for one currency, with its symbols looked up."""

    #: (positive, negative) text before and after the number, the currency sign already in place.
    prefix: tuple[str, str]
    suffix: tuple[str, str]
    quantum: Decimal
    digits: int
    min_integer_digits: int
    grouping: tuple[int, int]
    group_symbol: str
    decimal_symbol: str

    def format(self, amount: Decimal) -> str:
        # As babel's NumberPattern.apply, _quantize_value, _format_int and _format_frac for this pattern.
        negative = int(amount.is_signed())
        integer, _, fraction = f"{abs(amount).normalize().quantize(self.quantum):f}".partition(".")
        if len(integer) < self.min_integer_digits:
            integer = "0" * (self.min_integer_digits - len(integer)) + integer
        size, grouped = self.grouping[0], ""
        while len(integer) > size:
            grouped = self.group_symbol + integer[-size:] + grouped
            integer = integer[:-size]
            size = self.grouping[1]
        number = integer + grouped
        if self.digits:
            fraction = (fraction or "0").ljust(self.digits, "0")
            number += self.decimal_symbol + fraction
        return f"{self.prefix[negative]}{number}{self.suffix[negative]}"


@lru_cache(maxsize=1024)
def _currency_style(currency: str, locale: str) -> _CurrencyStyle | None:
    """The style of `currency` in `locale`, or None where the pattern is one this shortcut does not cover
    (then babel formats the amount itself)."""
    try:
        parsed = parsed_locale(locale)
        pattern = parsed.currency_formats["standard"]
        symbol = get_currency_symbol(currency, parsed)
        group, decimal = get_group_symbol(parsed), get_decimal_symbol(parsed)
        digits = get_currency_precision(currency)
    except (ValueError, KeyError, TypeError):
        return None
    affixes = (*pattern.prefix, *pattern.suffix)
    unusual = (
        pattern.exp_prec
        or pattern.scale
        or "@" in pattern.pattern
        or pattern.number_pattern == ""
        or any("¤¤¤" in affix or affix.count("'") % 2 for affix in affixes)
        or any(char in group + decimal + symbol for char in "'¤")
    )
    if unusual:
        return None

    def affix(text: str) -> str:
        text = text.replace("¤¤", currency.upper()).replace("¤", symbol)
        return re.sub(r"'([^']*)'", lambda match: match.group(1) or "'", text)

    return _CurrencyStyle(
        prefix=(affix(pattern.prefix[0]), affix(pattern.prefix[1])),
        suffix=(affix(pattern.suffix[0]), affix(pattern.suffix[1])),
        quantum=Decimal(1).scaleb(-digits),
        digits=digits,
        min_integer_digits=pattern.int_prec[0],
        grouping=tuple(pattern.grouping),
        group_symbol=group,
        decimal_symbol=decimal,
    )


def _is_signed(amount) -> bool:
    return amount.is_signed() if isinstance(amount, Decimal) else amount < 0


@lru_cache(maxsize=4096)
def _formatted(amount: Decimal, currency: str, locale: str | Locale, signed: bool = False) -> str:
    """Formatting an amount costs about 0.07 ms, and reports repeat amounts (zeros, the same contribution).
    `signed` is part of the key: -0.00 equals 0 but is written "-0.00"."""
    return format_currency(amount, currency, locale=parsed_locale(locale), currency_digits=True)


@lru_cache(maxsize=64)
def parsed_locale(locale: str | Locale) -> Locale:
    """Babel's Locale for a code, parsed once per process: Babel parses a code given as text on every call,
    which costs most of formatting one amount (a report formats hundreds)."""
    return Locale.parse(locale)


def sum_by_currency(pairs) -> dict[str, Decimal]:
    """Add (amount, currency) pairs per currency: sums never cross currencies."""
    totals: dict[str, Decimal] = {}
    for amount, currency in pairs:
        if amount is None:
            continue
        totals[currency] = totals.get(currency, Decimal("0")) + amount
    return dict(sorted(totals.items()))


# --- Exchange rates ----------------------------------------------------------------------------------------


class MissingRate(ValueError):
    """Two currencies differ and no exchange rate was given to cross them."""


@dataclass(frozen=True, slots=True)
class Converted:
    """An amount converted into `currency`, with the rate it used (None when nothing was converted)."""

    amount: Decimal
    currency: str
    #: Units of `currency` for one unit of the source currency; None for the same currency or a zero amount.
    rate: Decimal | None

    @property
    def converted(self) -> bool:
        return self.rate is not None


def convert(
    amount: Decimal, from_currency: str, to_currency: str, rate: Decimal | None, *, per_target: bool = False
) -> Converted:
    """`amount` in `to_currency` and the rate used: the same currency needs no rate; otherwise amount x rate,
    rounded half-up to the target's minor unit. Zero needs no rate either (it is zero in every currency).
    MissingRate when a rate is needed and none, or one not above zero, is given: never a 1:1 conversion.

    `rate` is the units of `to_currency` for one unit of `from_currency`; with `per_target`, it is quoted
    the other way, units of `from_currency` for one unit of `to_currency` (the plan's rates into the
    reporting currency: 1 USD = 0.92 EUR converts EUR into USD), and the amount is divided by it, exactly
    (never multiplied by a rounded inverse). The rate is kept as given."""
    if from_currency == to_currency:
        return Converted(amount, to_currency, None)
    if rate is None and amount == 0:
        return Converted(quantize(amount, to_currency), to_currency, None)
    if rate is None or rate <= 0:
        raise MissingRate(f"No rate from {from_currency} to {to_currency}.")
    return Converted(quantize(amount / rate if per_target else amount * rate, to_currency), to_currency, rate)


def format_rate(rate: Decimal, locale: str = "en", min_decimals: int = 4) -> str:
    """A rate in a locale with at least `min_decimals` and at most eight decimals: `0.9200`, `0,9200`,
    `1.08345` (with min_decimals=0, a rate as typed: `1.08`)."""
    pattern = "#,##0." + "0" * min_decimals + "#" * (8 - min_decimals)
    return format_decimal(rate, format=pattern, locale=locale)


def rate_label(from_currency: str, rate: Decimal, to_currency: str, locale: str = "en") -> str:
    """`1 USD = 0.9200 EUR`."""
    return f"1 {from_currency} = {format_rate(rate, locale)} {to_currency}"
