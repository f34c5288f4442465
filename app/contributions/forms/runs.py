"""Forms of the annual run pages: choosing a fiscal year, and filtering the preview (both GET, no CSRF)."""

from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Optional

from ...common.forms import FilterForm, choices
from ..services.annual_run import RowStatus


class FiscalYearForm(FilterForm):
    fiscal_year = SelectField("Fiscal year", validators=[DataRequired()])

    def __init__(self, years: list[int], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fiscal_year.choices = choices((year, f"FY{year}") for year in years)


class PreviewFilterForm(FilterForm):
    q = StringField(
        "Search", validators=[Optional()], render_kw={"placeholder": "Member name or country code"}
    )
    status = SelectField("What the run does", validators=[Optional()])
    hub = SelectField("Hub", validators=[Optional()])

    def __init__(self, hub_names: list[str], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = choices(((status.value, status.label) for status in RowStatus), blank="All")
        self.hub.choices = choices(((name, name) for name in hub_names), blank="All")
