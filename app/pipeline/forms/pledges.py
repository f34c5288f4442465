"""Forms for pledges: the award and the unpaid instalments, gifts applied, deliverables."""

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from ...common.fields import AmountField
from ...common.forms import choices
from ..models import DeliverableKind, DeliverableStatus

NEW_INSTALMENT_ROWS = 2


class InstalmentRowForm(Form):
    amount = AmountField("Amount", validators=[Optional()])
    expected_on = DateField("Expected on", validators=[Optional()])


class ScheduleForm(FlaskForm):
    awarded_amount = AmountField(
        "Awarded amount", validators=[InputRequired(message="Give the awarded amount.")]
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
