"""The one way a typed amount or rate is read: strict, bounded by its column, refused rather than rounded."""

from datetime import date
from decimal import Decimal

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import StringField
from wtforms.validators import InputRequired, Optional

from app.common import db_types
from app.common.decimals import (
    AMOUNT,
    AMOUNT_MAX,
    AMOUNT_OR_ZERO,
    RATE,
    RATE_MAX,
    DecimalRefused,
    check_decimal,
    column_limit,
    decimal_problem,
    parse_decimal,
)
from app.common.fields import FIRST_DAY, LAST_DAY, AmountField, DateField, RateField


def refusal(text, bounds=AMOUNT, currency=None) -> str:
    with pytest.raises(DecimalRefused) as refused:
        parse_decimal(text, bounds, currency)
    return str(refused.value)


def test_the_bounds_come_from_the_columns_and_fit_inside_them():
    assert column_limit(db_types.MONEY) == Decimal("999999999999.99")
    assert column_limit(db_types.RATE) == Decimal("9999999999.99999999")
    assert AMOUNT.places == db_types.MONEY.scale and RATE.places == db_types.RATE.scale
    # A thousand of the largest amount still fit a MONEY column: sums of typed amounts cannot overflow it.
    assert column_limit(db_types.MONEY) >= AMOUNT_MAX * 1000
    assert column_limit(db_types.RATE) >= RATE_MAX


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.50", Decimal("1234.50")),
        (" 12.5 ", Decimal("12.50")),
        ("0.01", Decimal("0.01")),
        ("999999999.99", AMOUNT_MAX),
        ("+7", Decimal("7.00")),
        (".5", Decimal("0.50")),
    ],
)
def test_plain_amounts_are_read_with_the_columns_places(text, expected):
    amount = parse_decimal(text, AMOUNT)
    assert amount == expected and amount.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0.001", "Use at most 2 decimal places."),
        ("10.005", "Use at most 2 decimal places."),
        ("0", "An amount must be more than zero."),
        ("-5", "An amount must be more than zero."),
        ("1000000000", "An amount can be at most 999,999,999.99."),
        ("2147483648.00", "An amount can be at most 999,999,999.99."),
        ("99999999999999999999999999999", "An amount can be at most 999,999,999.99."),
        ("1e3", "Enter an amount in digits"),
        ("1E+999999999", "Enter an amount in digits"),
        ("1e309", "Enter an amount in digits"),
        ("1e-999999", "Enter an amount in digits"),
        ("NaN", "Enter an amount in digits"),
        ("sNaN", "Enter an amount in digits"),
        ("Infinity", "Enter an amount in digits"),
        ("-inf", "Enter an amount in digits"),
        ("1,500", "Enter an amount in digits"),
        ("1_000", "Enter an amount in digits"),
        ("١٢٣", "Enter an amount in digits"),
        ("12 345", "Enter an amount in digits"),
        ("1" * 41, "Enter an amount in digits"),
        ("", "Enter an amount, such as 1234.50."),
        ("   ", "Enter an amount, such as 1234.50."),
    ],
)
def test_hostile_amounts_are_refused_with_a_message_never_rounded(text, message):
    assert refusal(text).startswith(message)


def test_zero_is_an_amount_where_the_bounds_allow_it_but_a_negative_never_is():
    assert parse_decimal("0", AMOUNT_OR_ZERO) == Decimal("0.00")
    assert parse_decimal("-0", AMOUNT_OR_ZERO).is_signed() is False
    assert refusal("-0.01", AMOUNT_OR_ZERO) == "An amount cannot be negative."
    assert refusal("0.001", AMOUNT_OR_ZERO) == "Use at most 2 decimal places."


def test_the_currency_narrows_the_places_it_allows():
    assert parse_decimal("500", AMOUNT, "JPY") == Decimal("500")
    assert refusal("500.50", AMOUNT, "JPY") == "JPY amounts have no decimals."
    assert parse_decimal("10.50", AMOUNT, "EUR") == Decimal("10.50")
    # A currency code that is not one does not loosen or tighten anything.
    assert parse_decimal("10.50", AMOUNT, "XXQ") == Decimal("10.50")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "A rate must be more than zero."),
        ("-0.92", "A rate must be more than zero."),
        ("0.123456789", "Use at most 8 decimal places."),
        ("1e309", "Enter a rate in digits"),
        ("1000000.00000001", "A rate can be at most 1,000,000."),
        ("0,92", "Enter a rate in digits"),
    ],
)
def test_hostile_rates_are_refused(text, message):
    assert refusal(text, RATE).startswith(message)


def test_a_rate_keeps_the_digits_typed():
    assert str(parse_decimal("0.9200", RATE)) == "0.9200"
    assert parse_decimal("0.00000001", RATE) == RATE.minimum


def test_services_check_decimals_they_are_handed_the_same_way():
    assert check_decimal(Decimal("12.5"), AMOUNT) == Decimal("12.50")
    assert decimal_problem(Decimal("Infinity"), AMOUNT) == "Enter an amount, such as 1234.50."
    assert decimal_problem(Decimal("NaN"), RATE) == "Enter a rate, such as 0.9215."
    assert decimal_problem(Decimal("1E+400"), AMOUNT) == "An amount can be at most 999,999,999.99."
    assert decimal_problem(Decimal("0.001"), AMOUNT) == "Use at most 2 decimal places."
    assert decimal_problem(Decimal("100"), AMOUNT) is None


def test_a_float_never_becomes_money():
    with pytest.raises(TypeError):
        parse_decimal(0.1, AMOUNT)  # a float is the point of this test


class PaymentLikeForm(FlaskForm):
    class Meta:
        csrf = False

    amount = AmountField("Amount", validators=[InputRequired()], currency_field="currency")
    currency = StringField("Currency")
    rate = RateField("Rate", validators=[Optional()])


def submitted(app, **data) -> PaymentLikeForm:
    with app.test_request_context(method="POST", data=data):
        form = PaymentLikeForm(MultiDict(data))
        form.validate()
        return form


def test_the_field_gives_a_decimal_and_no_error_for_a_plain_amount(app):
    form = submitted(app, amount="1500.5", currency="EUR", rate="1.0835")
    assert form.errors == {}
    assert form.amount.data == Decimal("1500.50") and form.rate.data == Decimal("1.0835")


@pytest.mark.parametrize("typed", ["0.001", "1e309", "NaN", "2147483648.00", "-1", "Infinity"])
def test_the_field_puts_the_refusal_beside_itself_and_keeps_no_data(app, typed):
    form = submitted(app, amount=typed, currency="EUR")
    assert list(form.errors) == ["amount"] and len(form.errors["amount"]) == 1
    assert form.amount.data is None
    # What was typed is shown back, so that the person sees what to correct.
    assert form.amount._value() == typed


def test_the_field_follows_the_currency_of_its_sibling_field(app):
    assert submitted(app, amount="500.50", currency="JPY").errors == {
        "amount": ["JPY amounts have no decimals."]
    }
    assert submitted(app, amount="500", currency="jpy").errors == {}


def test_a_blank_optional_field_is_none_and_a_blank_required_one_is_an_error(app):
    form = submitted(app, amount="", currency="EUR", rate="  ")
    assert form.rate.data is None and "rate" not in form.errors
    assert "amount" in form.errors


def test_a_currency_set_on_the_field_narrows_it(app):
    with app.test_request_context(method="POST", data={"amount": "7.5"}):
        form = PaymentLikeForm(MultiDict({"amount": "7.5"}))
        form.amount.currency = "JPY"
        assert not form.validate()
        assert form.errors["amount"] == ["JPY amounts have no decimals."]


def test_a_stored_amount_is_shown_with_its_places(app):
    with app.test_request_context():
        form = PaymentLikeForm(formdata=None, data={"amount": Decimal("12.5"), "rate": Decimal("0.92000000")})
        assert form.amount._value() == "12.50"
        assert form.rate._value() == "0.92000000"


class DayForm(FlaskForm):
    class Meta:
        csrf = False

    day = DateField("Day", validators=[Optional()])


@pytest.mark.parametrize(
    ("typed", "expected"), [("2027-01-15", date(2027, 1, 15)), ("1900-01-01", FIRST_DAY)]
)
def test_a_plain_date_is_read(app, typed, expected):
    with app.test_request_context(method="POST"):
        form = DayForm(MultiDict({"day": typed}))
        assert form.validate() and form.day.data == expected


@pytest.mark.parametrize("typed", ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31"])
def test_a_day_no_date_arithmetic_could_reach_is_refused_beside_the_field(app, typed):
    with app.test_request_context(method="POST"):
        form = DayForm(MultiDict({"day": typed}))
        assert not form.validate()
        assert form.errors == {"day": [f"Enter a date between {FIRST_DAY.year} and {LAST_DAY.year}."]}
        assert LAST_DAY.year == 2199
