"""Forms of the income groups pages: the overview's filters, copying forward, and the import's two steps."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from ...common.forms import FilterForm, choices
from ..services.income_groups import FIRST_YEAR, LAST_YEAR


def _fiscal_year_field(label: str = "Fiscal year") -> IntegerField:
    return IntegerField(
        label,
        validators=[
            InputRequired(message="Give a fiscal year."),
            NumberRange(min=FIRST_YEAR, max=LAST_YEAR, message="Give a fiscal year such as 2027."),
        ],
    )


class IncomeGroupFilterForm(FilterForm):
    fiscal_year = IntegerField(
        "Fiscal year",
        validators=[Optional(), NumberRange(min=FIRST_YEAR, max=LAST_YEAR, message="A year such as 2027.")],
    )
    q = StringField("Search", validators=[Optional()], render_kw={"placeholder": "Name or country code"})
    hub = SelectField("Hub", validators=[Optional()])
    missing = BooleanField("Only members missing a group", validators=[Optional()])

    def __init__(self, hubs, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hub.choices = choices(((hub.id, hub.name) for hub in hubs), blank="Any")


class CopyForwardForm(FlaskForm):
    fiscal_year = _fiscal_year_field("Copy into fiscal year")


class ImportForm(FlaskForm):
    fiscal_year = _fiscal_year_field()
    file = FileField(
        "World Bank classification file",
        validators=[FileRequired(message="Choose the CSV or XLSX file to import.")],
        description="CSV or XLSX, at most 2 MB: one row per country, with a country column (ISO code such as "
        "KEN or KE, or the name) and an income group column (High income, Upper middle income, "
        "Lower middle income, Low income).",
    )


class ConfirmImportForm(FlaskForm):
    payload = HiddenField(validators=[DataRequired()])
