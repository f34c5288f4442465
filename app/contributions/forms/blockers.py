"""Forms of the page saying what holds an invoice's payment up."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ...common.forms import choices
from ...common.time import today
from ..models import BlockerDocumentKind


class BlockerForm(FlaskForm):
    purchase_order_number = StringField(
        "Purchase-order or commitment number",
        validators=[Optional(), Length(max=100)],
        description="The ministry's number for this expense; documents issued from now on print it.",
    )
    note = TextAreaField(
        "Note",
        validators=[Optional(), Length(max=2000)],
        description="What the treasury said, who to call, when the next payment run is.",
    )


class RequestDocumentForm(FlaskForm):
    kind = SelectField("Document asked for", validators=[DataRequired(message="Choose the document.")])
    description = StringField("Which one (for another document)", validators=[Optional(), Length(max=300)])
    requested_on = DateField("Asked for on", validators=[DataRequired(message="Give a date.")], default=today)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = choices(
            ((kind.value, kind.label) for kind in BlockerDocumentKind), blank="Choose"
        )


class DocumentSentForm(FlaskForm):
    sent_on = DateField("Sent on", validators=[DataRequired(message="Give a date.")], default=today)
