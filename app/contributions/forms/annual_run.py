"""The annual run pages' form: choosing a fiscal year (GET, no CSRF)."""

from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import DataRequired

from ...common.forms import choices


class FiscalYearForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: it only chooses which preview to open

    fiscal_year = SelectField("Fiscal year", validators=[DataRequired()])

    def __init__(self, years: list[int], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fiscal_year.choices = choices((year, f"FY{year}") for year in years)
