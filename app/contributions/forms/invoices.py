"""Forms for invoices: the draft (member, fiscal year, lines), credit notes, and the list's filters."""

from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ...common.fields import AmountField
from ...common.forms import FilterForm, OptionalChoice, choices
from ...common.languages import Language
from ..models import InvoiceKind, InvoiceStatus

#: Blank line rows offered on a new draft (empty rows are ignored).
NEW_LINE_ROWS = 4
#: Extra blank rows offered below a draft's lines when it is edited.
EXTRA_LINE_ROWS = 2


class InvoiceLineForm(Form):
    description = StringField("Description", validators=[Optional(), Length(max=500)])
    amount = AmountField("Amount", validators=[Optional()])

    def validate_amount(self, field):
        if field.data is not None and not (self.description.data or "").strip():
            self.description.errors = [*self.description.errors, "Describe what this amount is for."]
            raise ValidationError("This amount has no description.")

    def validate_description(self, field):
        if (field.data or "").strip() and self.amount.data is None and not self.amount.errors:
            raise ValidationError("Give this line an amount.")


class InvoiceForm(FlaskForm):
    member_id = SelectField("Member", validators=[DataRequired(message="Choose the member to bill.")])
    fiscal_year = IntegerField(
        "Fiscal year",
        validators=[
            InputRequired(message="Enter the fiscal year."),
            NumberRange(min=2000, max=2100, message="Enter a fiscal year such as 2027."),
        ],
    )
    kind = SelectField("Kind", default=InvoiceKind.OTHER.value)
    currency = StringField(
        "Currency",
        validators=[Optional(), Length(min=3, max=3, message="Use a three-letter ISO code such as EUR.")],
        description="Leave empty for the issuing hub's base currency.",
    )
    language = SelectField("Document language", validators=[OptionalChoice()])
    notes = TextAreaField("Notes printed on the invoice", validators=[Optional(), Length(max=2000)])
    lines = FieldList(FormField(InvoiceLineForm), min_entries=NEW_LINE_ROWS)

    def __init__(self, members, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.member_id.choices = choices(
            ((member.id, f"{member.name} ({member.hub.invoice_prefix})") for member in members),
            "Choose a member",
        )
        self.kind.choices = choices((kind.value, kind.label) for kind in InvoiceKind)
        self.language.choices = choices(
            ((language.value, language.label) for language in Language), "The member's language"
        )

    def validate_lines(self, field):
        filled = [entry for entry in field.entries if entry.form.amount.data is not None]
        if not filled:
            raise ValidationError("Add at least one line with a description and an amount.")
        if sum((entry.form.amount.data for entry in filled), Decimal("0")) <= 0:
            raise ValidationError("The invoice total must be more than zero.")

    def line_pairs(self) -> list[tuple[str, Decimal]]:
        """The filled rows as (description, amount), in order."""
        return [
            ((entry.form.description.data or "").strip(), entry.form.amount.data)
            for entry in self.lines.entries
            if entry.form.amount.data is not None or (entry.form.description.data or "").strip()
        ]


class CreditNoteForm(FlaskForm):
    amount = AmountField(
        "Amount to credit", validators=[InputRequired(message="Enter the amount to credit.")]
    )
    reason = TextAreaField(
        "Reason",
        validators=[DataRequired(message="Say why the invoice is credited."), Length(max=2000)],
        description="Printed on the credit note, e.g. 'Contribution reduced by Steering Committee decision'.",
    )

    def __init__(self, *args, currency: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.amount.currency = currency


class InvoiceFilterForm(FilterForm):
    q = StringField("Member or number", validators=[Optional()])
    status = SelectField("Status", validators=[Optional()])
    hub = SelectField("Hub", validators=[Optional()])
    fiscal_year = IntegerField("Fiscal year", validators=[Optional(), NumberRange(min=2000, max=2100)])
    overdue = BooleanField("Overdue only", validators=[Optional()])
    blocked = BooleanField("Payment held up only", validators=[Optional()])

    def __init__(self, hubs, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = choices(((status.value, status.label) for status in InvoiceStatus), "Any")
        self.hub.choices = choices(((hub.id, hub.name) for hub in hubs), "Any")
