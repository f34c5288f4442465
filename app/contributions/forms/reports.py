"""Filter forms for the collection reports (GET: they change nothing)."""

from __future__ import annotations

from wtforms import BooleanField, DateField, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional

from ...common.forms import FilterForm, choices


def _hub_choices(hubs):
    return choices(((hub.id, hub.name) for hub in hubs), blank="All hubs")


class AgeingFilterForm(FilterForm):
    as_of = DateField("As of", validators=[Optional()])
    hub = SelectField("Hub", validators=[Optional()])
    bucket = SelectField("Invoices in", validators=[Optional()])

    def __init__(self, hubs, buckets, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hub.choices = _hub_choices(hubs)
        self.bucket.choices = choices(buckets, blank="Every overdue bucket")


class ArrearsFilterForm(FilterForm):
    first_year = IntegerField("From fiscal year", validators=[Optional(), NumberRange(min=2000, max=2100)])
    last_year = IntegerField("To fiscal year", validators=[Optional(), NumberRange(min=2000, max=2100)])
    hub = SelectField("Hub", validators=[Optional()])
    flagged = BooleanField("Only members with two or more consecutive unpaid years")

    def __init__(self, hubs, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hub.choices = _hub_choices(hubs)
