"""Forms for members, their billing contacts, income groups and adjustments, and the member list filters."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ...common.decimals import AMOUNT_OR_ZERO
from ...common.fields import AmountField, DateField
from ...common.forms import FilterForm, FixedSelectField, choices, fixed_choices
from ...common.languages import Language
from ..models import AdjustmentKind, IncomeGroup, MemberKind, MemberStatus
from ..services.members import MISSING, countries, month_name


def _enum_choices(enum_class):
    return choices((item.value, item.label) for item in enum_class)


class MemberForm(FlaskForm):
    kind = SelectField("Kind", validators=[DataRequired()])
    country_code = FixedSelectField("Country", validators=[DataRequired(message="Choose a country.")])
    name = StringField(
        "Name",
        validators=[Optional(), Length(max=200)],
        description="For a national member, leave blank to use the country's name. "
        "For a local member: the city or region.",
    )
    joined_on = DateField("Joined on", validators=[Optional()])
    status = SelectField("Status", validators=[DataRequired()])
    language = SelectField("Language for documents", validators=[DataRequired()])
    hub_id = SelectField(
        "Issuing hub", validators=[DataRequired(message="Choose a hub.")], description="Issues its invoices."
    )
    budget_year_start_month = SelectField("Budget year starts in", validators=[DataRequired()])
    budget_lead_days = IntegerField(
        "Days before the budget year that an invoice must arrive",
        validators=[InputRequired(message="Give a number of days."), NumberRange(min=0, max=730)],
        default=90,
        description="To be included in the member's national budget.",
    )
    billing_address = TextAreaField("Billing address", validators=[Optional(), Length(max=2000)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])

    def __init__(self, hubs, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = _enum_choices(MemberKind)
        self.country_code.choices = fixed_choices(countries, blank="Choose a country")
        self.status.choices = _enum_choices(MemberStatus)
        self.language.choices = _enum_choices(Language)
        self.hub_id.choices = choices((hub.id, f"{hub.name} ({hub.base_currency})") for hub in hubs)
        self.budget_year_start_month.choices = choices((month, month_name(month)) for month in range(1, 13))


class ContactForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Give the contact's name."), Length(max=200)])
    title = StringField("Title", validators=[Optional(), Length(max=200)])
    office = StringField("Ministry or office", validators=[Optional(), Length(max=200)])
    email = StringField("E-mail", validators=[Optional(), Length(max=254)])
    phone = StringField("Phone", validators=[Optional(), Length(max=50)])
    is_primary = BooleanField(
        "Primary billing contact", description="Invoices and reminders go to this person."
    )


class IncomeGroupForm(FlaskForm):
    fiscal_year = IntegerField(
        "Fiscal year",
        validators=[InputRequired(message="Give a fiscal year."), NumberRange(min=2000, max=2100)],
    )
    income_group = SelectField("Income group", validators=[DataRequired(message="Choose an income group.")])

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "ig")
        super().__init__(*args, **kwargs)
        self.income_group.choices = choices(
            ((item.value, item.label) for item in IncomeGroup), blank="Choose"
        )


class AdjustmentForm(FlaskForm):
    fiscal_year = IntegerField(
        "Fiscal year",
        validators=[InputRequired(message="Give a fiscal year."), NumberRange(min=2000, max=2100)],
    )
    kind = SelectField("Adjustment", validators=[DataRequired()])
    amount = AmountField(
        "Amount to bill instead",
        bounds=AMOUNT_OR_ZERO,
        validators=[Optional()],
        description="In the policy's currency; leave blank for a waiver.",
    )
    reason = TextAreaField("Reason", validators=[DataRequired(message="Say why: the reason is required.")])
    approval_reference = StringField(
        "Approval reference",
        validators=[
            DataRequired(message="Give the approval reference, e.g. a Steering Committee decision."),
            Length(max=200),
        ],
        description="For example: Steering Committee decision SC-2026-04.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = _enum_choices(AdjustmentKind)


class MemberFilterForm(FilterForm):
    q = StringField("Search", validators=[Optional()], render_kw={"placeholder": "Name or country code"})
    kind = SelectField("Kind", validators=[Optional()])
    status = SelectField("Status", validators=[Optional()])
    hub = SelectField("Hub", validators=[Optional()])
    income_group = SelectField("Income group", validators=[Optional()])

    def __init__(self, hubs, fiscal_year, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = choices(((item.value, item.label) for item in MemberKind), blank="Any")
        self.status.choices = choices(((item.value, item.label) for item in MemberStatus), blank="Any")
        self.hub.choices = choices(((hub.id, hub.name) for hub in hubs), blank="Any")
        self.income_group.label.text = f"Income group FY{fiscal_year}"
        self.income_group.choices = choices(
            [(item.value, item.label) for item in IncomeGroup] + [(MISSING, "Missing")],
            blank="Any",
        )
