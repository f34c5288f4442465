from wtforms import SelectField, StringField
from wtforms.validators import Optional

from ..common.fields import DateField
from ..common.forms import FilterForm, choices


class AuditFilterForm(FilterForm):
    user = SelectField("User", validators=[Optional()])
    record_type = SelectField("Record type", validators=[Optional()])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
    q = StringField("Record id or label", validators=[Optional()])

    def __init__(self, users, record_types, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user.choices = choices(
            ((user.id, f"{user.full_name} ({user.email})") for user in users), "Anyone"
        )
        self.record_type.choices = choices(((name, name) for name in record_types), "Any")
