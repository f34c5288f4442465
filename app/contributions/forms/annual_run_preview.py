"""The annual run preview's filter form (GET, no CSRF)."""

from wtforms import SelectField, StringField
from wtforms.validators import Optional

from ...common.forms import FilterForm, choices
from ..services.annual_run_preview import RowStatus


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
