"""The arrears matrix's filter form (GET: it changes nothing)."""

from __future__ import annotations

from wtforms import BooleanField, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional

from ...common.forms import FilterForm, choices
from ..services.arrears import ARREARS_RULE


class ArrearsFilterForm(FilterForm):
    first_year = IntegerField("From fiscal year", validators=[Optional(), NumberRange(min=2000, max=2100)])
    last_year = IntegerField("To fiscal year", validators=[Optional(), NumberRange(min=2000, max=2100)])
    hub = SelectField("Hub", validators=[Optional()])
    flagged = BooleanField(f"Only members with {ARREARS_RULE}")

    def __init__(self, hubs, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hub.choices = choices(((hub.id, hub.name) for hub in hubs), blank="All hubs")
