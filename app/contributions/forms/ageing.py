"""The ageing report's filter form (GET: it changes nothing)."""

from __future__ import annotations

from wtforms import SelectField
from wtforms.validators import Optional

from ...common.fields import DateField
from ...common.forms import FilterForm, choices


class AgeingFilterForm(FilterForm):
    as_of = DateField("As of", validators=[Optional()])
    hub = SelectField("Hub", validators=[Optional()])
    bucket = SelectField("Invoices in", validators=[Optional()])

    def __init__(self, hubs, buckets, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hub.choices = choices(((hub.id, hub.name) for hub in hubs), blank="All hubs")
        self.bucket.choices = choices(buckets, blank="Every overdue bucket")
