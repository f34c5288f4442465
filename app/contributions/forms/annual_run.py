"""The annual run pages' form: choosing a fiscal year (GET, no CSRF)."""

from wtforms import SelectField
from wtforms.validators import DataRequired

from ...common.forms import FilterForm, choices


class FiscalYearForm(FilterForm):
    fiscal_year = SelectField("Fiscal year", validators=[DataRequired()])

    def __init__(self, years: list[int], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fiscal_year.choices = choices((year, f"FY{year}") for year in years)
