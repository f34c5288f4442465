"""Forms of the Stripe reconciliation page: attach a reviewed Stripe event, or dismiss it."""

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class AttachEventForm(FlaskForm):
    invoice_number = StringField(
        "Invoice number",
        validators=[
            DataRequired(message="Give the number of the invoice this payment is for."),
            Length(max=30),
        ],
        description="The amount and currency stay those Stripe reported.",
    )


class DismissEventForm(FlaskForm):
    note = TextAreaField(
        "Why dismiss it",
        validators=[DataRequired(message="Say why this event is dismissed."), Length(max=1000)],
    )
