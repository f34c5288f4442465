"""Forms for pledges: the award and the unpaid instalments, gifts applied, deliverables."""

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from ...common.forms import choices
from ..models import DeliverableKind, DeliverableStatus

NEW_INSTALMENT_ROWS = 2


class InstalmentRowForm(Form):
    amount = DecimalField(
        "Amount", places=2, invalid_value_message="Give an amount such as 50000.00.", validators=[Optional()]
    )
    expected_on = DateField("Expected on", validators=[Optional()])


class ScheduleForm(FlaskForm):
    awarded_amount = DecimalField(
        "Awarded amount",
        places=2,
        invalid_value_message="Give an amount such as 250000.00.",
        validators=[InputRequired(message="Give the awarded amount.")],
    )
    agreed_on = DateField("Agreement date", validators=[InputRequired(message="Give the agreement date.")])
    instalments = FieldList(FormField(InstalmentRowForm), min_entries=0)


class ApplyGiftForm(FlaskForm):
    gift_id = SelectField("Gift", validators=[InputRequired(message="Choose a gift.")], validate_choice=False)


class DeliverableForm(FlaskForm):
    kind = SelectField(
        "Kind",
        choices=choices((kind.value, kind.label) for kind in DeliverableKind),
        validators=[InputRequired()],
    )
    title = StringField("Title", validators=[Optional(), Length(max=300)])
    due_on = DateField("Due on", validators=[InputRequired(message="Give the due date.")])
    status = SelectField(
        "Status",
        choices=choices((status.value, status.label) for status in DeliverableStatus),
        validators=[InputRequired()],
    )
    submitted_on = DateField("Submitted on", validators=[Optional()])
    requirements = TextAreaField("Requirements", validators=[Optional(), Length(max=5000)])
