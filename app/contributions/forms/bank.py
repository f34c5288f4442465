"""Forms of the bank pages: uploading a statement, and deciding on an entry (confirm, split, ignore)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ...common.fields import AmountField, RateField
from ...common.forms import choices

#: The largest bank file accepted (a year of daily statements is far smaller).
MAX_STATEMENT_BYTES = 5 * 1024 * 1024


class StatementUploadForm(FlaskForm):
    file = FileField(
        "Bank statement file",
        validators=[FileRequired(message="Choose the statement file to import.")],
        description="camt.053 or camt.054 (XML) or MT940, at most 5 MB. The account in the file says which "
        "hub it belongs to.",
    )


def _rate_field() -> RateField:
    return RateField(
        "Exchange rate",
        validators=[Optional()],
        description="Only when the invoice is in another currency: the invoice's currency for 1 unit of the "
        "entry's.",
    )


class ConfirmEntryForm(FlaskForm):
    invoice_number = StringField(
        "Invoice number",
        validators=[DataRequired(message="Give the number of the invoice this entry pays."), Length(max=30)],
    )
    exchange_rate = _rate_field()
    write_off_difference = BooleanField(
        "Write a small shortfall off as bank charges",
        description="Within the write-off limit (5% of the invoice); otherwise the rest stays owed.",
    )


class SplitRow(Form):
    """One invoice of a split (no CSRF of its own: it is part of the split form)."""

    invoice_number = StringField("Invoice number", validators=[Optional(), Length(max=30)])
    amount = AmountField("Amount", validators=[Optional()])


class SplitEntryForm(FlaskForm):
    rows = FieldList(FormField(SplitRow), min_entries=3, max_entries=20)
    exchange_rate = _rate_field()


class IgnoreEntryForm(FlaskForm):
    note = TextAreaField(
        "Why ignore it",
        validators=[DataRequired(message="Say why this entry is ignored."), Length(max=1000)],
        description="E.g. a refund from a supplier, a transfer between our own accounts.",
    )


class CsvUploadForm(FlaskForm):
    hub = SelectField("Account of", validators=[DataRequired(message="Choose the hub whose account it is.")])
    file = FileField(
        "CSV export of the account",
        validators=[FileRequired(message="Choose the CSV file to import.")],
        description="CSV (or XLSX) as the bank's online banking exports it, at most 2 MB: a date column, "
        "an amount column (or credit and debit), and the counterparty and description if the bank gives "
        "them.",
    )

    def __init__(self, hubs, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hub.choices = choices(
            (
                (hub.id, f"{hub.name} · {hub.iban or hub.account_number} ({hub.base_currency})")
                for hub in hubs
            ),
            blank="Choose",
        )


class CsvMappingForm(FlaskForm):
    """The preview's mapping: how dates are written and the header row (the file travels signed; the column
    selects, one per column the import reads, are named `column-<key>` and read by the view)."""

    file_token = HiddenField(validators=[DataRequired()])
    header_row = IntegerField("Header row", validators=[Optional(), NumberRange(min=1, max=100000)])
    date_order = SelectField("Dates are written", validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from ..services.bank_csv import DateOrder

        self.date_order.choices = choices(DateOrder.LABELS.items())


class CsvConfirmForm(FlaskForm):
    payload = HiddenField(validators=[DataRequired()])
