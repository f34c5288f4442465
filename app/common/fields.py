"""Form fields every area shares: the one field type for typed money and rates, and a bounded date field.

    amount = AmountField("Amount received", validators=[InputRequired()], currency_field="currency")
    amount = AmountField("Amount to bill instead", bounds=AMOUNT_OR_ZERO, validators=[Optional()])
    rate = RateField("Exchange rate", validators=[Optional()])
    received_on = DateField("Date received", validators=[InputRequired()])

The field parses strictly (ASCII digits and a point; no grouping commas, exponent, NaN or Infinity)
and refuses, with a message beside it, any value outside its bounds (`app.common.decimals`) or with more
decimals than the column, or than the currency, allows. It never rounds. Leave the bounds to the field: no
NumberRange. The currency that narrows the places comes from a sibling field (`currency_field`) or is set on
the field by the form or view (`form.amount.currency = invoice.currency`). DateField refuses days outside
FIRST_DAY..LAST_DAY, so that no date arithmetic downstream overflows.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import wtforms
from wtforms import DecimalField
from wtforms.validators import ValidationError

from .decimals import AMOUNT, RATE, DecimalBounds, DecimalRefused, check_decimal, parse_decimal


class AmountField(DecimalField):
    """A Decimal amount a person types, within `bounds` (AMOUNT unless told), refused rather than rounded."""

    def __init__(
        self,
        label=None,
        validators=None,
        *,
        bounds: DecimalBounds = AMOUNT,
        currency: str | None = None,
        currency_field: str | None = None,
        **kwargs,
    ):
        super().__init__(label, validators, places=None, **kwargs)
        self.bounds = bounds
        self.currency = currency
        self.currency_field = currency_field

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0] or "").strip():
            self.data = None
            return
        try:
            self.data = parse_decimal(str(valuelist[0]), self.bounds)
        except DecimalRefused as refused:
            self.data = None
            raise ValueError(str(refused)) from refused

    def pre_validate(self, form):
        currency = self.currency
        if currency is None and self.currency_field is not None and self.currency_field in form:
            currency = form[self.currency_field].data
        if self.data is None or not currency:
            return
        try:
            self.data = check_decimal(self.data, self.bounds, str(currency).strip().upper())
        except DecimalRefused as refused:
            self.data = None
            raise ValidationError(str(refused)) from refused

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if not isinstance(self.data, Decimal) or not self.data.is_finite():
            return ""
        if self.bounds.is_money:
            return f"{self.data.quantize(Decimal(1).scaleb(-self.bounds.places)):f}"
        return f"{self.data:f}"


class RateField(AmountField):
    """An exchange or budget rate: positive, at most the RATE column's places, within the RATE bounds."""

    def __init__(self, label=None, validators=None, *, bounds: DecimalBounds = RATE, **kwargs):
        super().__init__(label, validators, bounds=bounds, **kwargs)


#: The days anyone may type: far enough either way for any record here, and safely inside what date
#: arithmetic reaches (a due date 30 days on, an ageing bucket 90 days back: 9999-12-31 has no next day).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2199, 12, 31)


class DateField(wtforms.DateField):
    """WTForms' DateField, refusing a day before FIRST_DAY or after LAST_DAY with a message beside it."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not FIRST_DAY <= self.data <= LAST_DAY:
            self.data = None
            raise ValueError(f"Enter a date between {FIRST_DAY.year} and {LAST_DAY.year}.")
