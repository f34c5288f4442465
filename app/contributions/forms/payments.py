"""Forms for recording payments, allocating credit and writing off remainders."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ...common.decimals import AMOUNT_OR_ZERO
from ...common.fields import AmountField, DateField, RateField
from ...common.forms import FilterForm, choices
from ...common.money import is_currency
from ...common.time import today
from ..models import PaymentMethod

#: Methods recorded by hand; Stripe payments are recorded by the Stripe webhook.
MANUAL_METHODS = [PaymentMethod.WIRE, PaymentMethod.CHEQUE]


class AllocationRow(Form):
    """One open invoice of the member on the payment form (no CSRF of its own: it is part of the form)."""

    invoice_id = HiddenField()
    amount = AmountField("Amount to apply", bounds=AMOUNT_OR_ZERO, validators=[Optional()])
    rate = RateField("Exchange rate", validators=[Optional()])


class PaymentForm(FlaskForm):
    amount = AmountField("Amount received", validators=[InputRequired()], currency_field="currency")
    currency = SelectField("Currency", validators=[DataRequired()])
    received_on = DateField("Date received", validators=[InputRequired()], default=today)
    method = SelectField("Method", validators=[DataRequired()])
    reference = StringField("Bank reference or cheque number", validators=[Optional(), Length(max=200)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)])
    allocations = FieldList(FormField(AllocationRow))

    def __init__(self, currencies: list[str], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency.choices = choices((code, code) for code in currencies)
        self.method.choices = choices((method.value, method.label) for method in MANUAL_METHODS)

    def validate_currency(self, field):
        if not is_currency(field.data):
            raise ValidationError("Choose a currency.")

    def validate_received_on(self, field):
        if field.data and field.data > today():
            raise ValidationError("The date received cannot be in the future.")


class AllocateCreditForm(FlaskForm):
    """Apply a payment's credit on account to one open invoice."""

    invoice_id = SelectField("Invoice", validators=[DataRequired(message="Choose an invoice.")])
    amount = AmountField("Amount to apply (in the invoice's currency)", validators=[InputRequired()])
    rate = RateField(
        "Exchange rate (invoice currency for 1 unit of the payment's, only across currencies)",
        validators=[Optional()],
    )

    def __init__(self, invoices, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice_id.choices = choices(
            (
                (
                    invoice.id,
                    f"{invoice.number} · FY{invoice.fiscal_year} · owes {invoice.balance_due} "
                    f"{invoice.currency}",
                )
                for invoice in invoices
            ),
            blank="Choose an open invoice",
        )


class WriteOffForm(FlaskForm):
    amount = AmountField("Amount to write off", validators=[InputRequired()])
    reason = TextAreaField(
        "Reason", validators=[DataRequired(message="Say why the remainder is written off."), Length(max=2000)]
    )
    written_off_on = DateField("Date", validators=[InputRequired()], default=today)

    def __init__(self, *args, currency: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.amount.currency = currency


class PaymentFilterForm(FilterForm):
    q = StringField("Member or reference", validators=[Optional()])
    method = SelectField("Method", validators=[Optional()])
    date_from = DateField("Received from", validators=[Optional()])
    date_to = DateField("Received until", validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.method.choices = choices(((m.value, m.label) for m in PaymentMethod), blank="Any method")
