"""Forms for the plan's targets (fundraising) and its exchange rates (operations)."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ...common.decimals import AMOUNT_OR_ZERO
from ...common.fields import AmountField, RateField
from ..sources import Source


def _target(label: str) -> AmountField:
    return AmountField(label, bounds=AMOUNT_OR_ZERO, validators=[Optional()])


class TargetsForm(FlaskForm):
    """One fiscal year's target per source; a blank field means no target for that source."""

    foundations = _target(Source.FOUNDATIONS.label)
    bilateral = _target(Source.BILATERAL.label)
    country_contributions = _target(Source.COUNTRY_CONTRIBUTIONS.label)
    other = _target(Source.OTHER.label)
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])

    def amounts(self) -> dict[Source, object]:
        return {source: self[source.value].data for source in Source}


class RateForm(FlaskForm):
    fiscal_year = IntegerField(
        "Fiscal year",
        validators=[InputRequired(message="Give a fiscal year."), NumberRange(min=2000, max=2100)],
    )
    currency = StringField(
        "Currency",
        validators=[InputRequired(message="Give a currency."), Length(min=3, max=3)],
        description="ISO 4217 code, e.g. EUR.",
    )
    rate = RateField("Rate", validators=[InputRequired(message="Give a rate.")])
