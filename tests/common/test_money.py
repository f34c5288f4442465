from datetime import date
from decimal import Decimal

import pytest

from app.common.fiscal import fiscal_year, fiscal_year_of
from app.common.money import (
    Converted,
    CurrencyMismatch,
    MissingRate,
    Money,
    convert,
    format_money,
    format_rate,
    quantize,
    rate_label,
    sum_by_currency,
)


def test_money_is_never_built_from_a_float():
    with pytest.raises(TypeError):
        Money(0.1, "USD")  # a float is the point of this test


def test_money_does_not_add_across_currencies():
    with pytest.raises(CurrencyMismatch):
        Money(Decimal("1"), "USD") + Money(Decimal("1"), "EUR")


def test_formatting_follows_the_locale():
    assert format_money(Decimal("1234.5"), "USD", "en") == "$1,234.50"
    assert format_money(Decimal("1234.5"), "EUR", "fr") == "1\u202f234,50\xa0€"
    assert format_money(Decimal("1234"), "JPY", "en") == "¥1,234"


def test_rounding_uses_the_currency_minor_unit():
    assert quantize(Decimal("10.005"), "EUR") == Decimal("10.01")
    assert quantize(Decimal("10.5"), "JPY") == Decimal("11")


def test_sums_stay_per_currency():
    assert sum_by_currency([(Decimal("1"), "USD"), (Decimal("2"), "EUR"), (Decimal("3"), "USD")]) == {
        "EUR": Decimal("2"),
        "USD": Decimal("4"),
    }


def test_fiscal_year_follows_the_start_month():
    assert fiscal_year_of(date(2026, 6, 30), first_month=7) == 2026
    assert fiscal_year_of(date(2026, 7, 1), first_month=7) == 2027
    assert fiscal_year_of(date(2026, 7, 1), first_month=1) == 2026
    fy = fiscal_year(2027, first_month=7)
    assert (fy.starts_on, fy.ends_on) == (date(2026, 7, 1), date(2027, 6, 30))


def test_a_conversion_says_the_amount_and_the_rate_it_used():
    converted = convert(Decimal("10000.00"), "USD", "EUR", Decimal("0.92"))
    assert converted == Converted(Decimal("9200.00"), "EUR", Decimal("0.92"))
    assert converted.converted


def test_a_conversion_rounds_half_up_to_the_target_currencys_minor_unit():
    assert convert(Decimal("100.00"), "EUR", "JPY", Decimal("162.345")).amount == Decimal("16235")
    assert convert(Decimal("0.05"), "USD", "EUR", Decimal("0.9")).amount == Decimal("0.05")  # 0.045 -> 0.05


def test_the_same_currency_and_a_zero_amount_need_no_rate():
    assert convert(Decimal("12.345"), "EUR", "EUR", None) == Converted(Decimal("12.345"), "EUR", None)
    assert convert(Decimal("0"), "USD", "EUR", None) == Converted(Decimal("0.00"), "EUR", None)
    assert not convert(Decimal("0"), "USD", "EUR", None).converted


@pytest.mark.parametrize("rate", [None, Decimal("0"), Decimal("-0.92")])
def test_crossing_currencies_without_a_usable_rate_is_refused_never_one_to_one(rate):
    with pytest.raises(MissingRate, match="No rate from USD to EUR"):
        convert(Decimal("10.00"), "USD", "EUR", rate)


def test_rates_are_written_as_the_reader_writes_numbers():
    assert format_rate(Decimal("0.92")) == "0.9200"
    assert format_rate(Decimal("0.92"), "fr") == "0,9200"
    assert format_rate(Decimal("1.083456789")) == "1.08345679"  # at most eight decimals
    assert format_rate(Decimal("1.08"), "fr", min_decimals=0) == "1,08"
    assert format_rate(Decimal("1250"), "en", min_decimals=0) == "1,250"
    assert rate_label("USD", Decimal("0.92"), "EUR") == "1 USD = 0.9200 EUR"
    assert rate_label("USD", Decimal("0.92"), "EUR", "es") == "1 USD = 0,9200 EUR"


def test_format_money_writes_what_babel_writes_for_every_locale_and_currency():
    from babel.numbers import format_currency

    amounts = [Decimal(text) for text in ("0", "-0.00", "0.005", "0.015", "-0.004", "7", "100.10", "999.995")]
    amounts += [Decimal("1234567.891"), Decimal("-12.5"), Decimal("1E+3"), Decimal("-98765432.1")]
    for locale in ("en", "fr", "es", "de", "de_CH", "en_IN", "nl_BE", "ar", "ja", "pt_BR"):
        for currency in ("USD", "EUR", "GBP", "JPY", "CHF", "XOF", "BHD", "INR"):
            for amount in amounts:
                expected = format_currency(amount, currency, locale=locale, currency_digits=True)
                assert format_money(amount, currency, locale) == expected, (locale, currency, amount)
