"""Forms for the contribution policy of a fiscal year, and for copying last year's policy forward."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ...common.decimals import AMOUNT_OR_ZERO
from ...common.fields import AmountField, RateField
from ..services.policy import rate_field_name


def _amount(label: str) -> AmountField:
    return AmountField(
        label,
        bounds=AMOUNT_OR_ZERO,
        validators=[InputRequired(message="Give an amount (0 if nothing is expected).")],
        currency_field="currency",
    )


class PolicyForm(FlaskForm):
    fiscal_year = IntegerField(
        "Fiscal year",
        validators=[InputRequired(message="Give a fiscal year."), NumberRange(min=2000, max=2100)],
    )
    currency = StringField(
        "Currency",
        validators=[InputRequired(message="Give a currency."), Length(min=3, max=3)],
        description="ISO 4217 code, e.g. USD.",
    )
    high = _amount("High income")
    upper_middle = _amount("Upper-middle income")
    lower_middle = _amount("Lower-middle income")
    low = _amount("Low income")
    local = _amount("Local members")
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])


class PolicyEditForm(PolicyForm):
    """The year of an existing policy does not change."""

    fiscal_year = None


class CopyPolicyForm(FlaskForm):
    fiscal_year = IntegerField(
        "Copy into fiscal year",
        validators=[InputRequired(message="Give a fiscal year."), NumberRange(min=2000, max=2100)],
    )


def with_rate_fields(form_class: type[FlaskForm], currencies: list[str]) -> type[FlaskForm]:
    """The policy form with one budget-rate field per currency (`rate_EUR`, ...), blank when not set."""

    class PolicyFormWithRates(form_class):
        rate_currencies = list(currencies)

        def rate_fields(self):
            return [(currency, self[rate_field_name(currency)]) for currency in self.rate_currencies]

    for currency in currencies:
        setattr(
            PolicyFormWithRates,
            rate_field_name(currency),
            RateField(f"{currency} for one unit of the policy currency", validators=[Optional()]),
        )
    return PolicyFormWithRates
