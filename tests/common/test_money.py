from datetime import date
from decimal import Decimal

import pytest

from app.common.fiscal import fiscal_year, fiscal_year_of
from app.common.money import CurrencyMismatch, Money, format_money, quantize, sum_by_currency


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
