"""Forms for opportunities: details with their fiscal-year split, stage moves, and list filters."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ...common.fields import AmountField
from ...common.forms import choices
from ..stages import Stage


class SplitRowForm(Form):
    fiscal_year = IntegerField("Fiscal year", validators=[Optional(), NumberRange(min=2000, max=2100)])
    amount = AmountField("Amount", validators=[Optional()])


class ContactRoleForm(Form):
    contact_id = SelectField("Contact", validators=[Optional()], validate_choice=False)
    role = StringField("Role in this ask", validators=[Optional(), Length(max=200)])


SPLIT_ROWS = 5
CONTACT_ROWS = 3


class OpportunityForm(FlaskForm):
    organisation_id = SelectField(
        "Organisation", validators=[InputRequired(message="Choose the organisation.")], validate_choice=False
    )
    title = StringField("Title", validators=[InputRequired(message="Give the ask a title."), Length(max=300)])
    owner_id = SelectField(
        "Owner", validators=[InputRequired(message="Choose the owner.")], validate_choice=False
    )
    primary_contact_id = SelectField("Primary contact", validators=[Optional()], validate_choice=False)
    amount = AmountField(
        "Amount asked",
        currency_field="currency",
        validators=[InputRequired(message="Give the amount asked.")],
    )
    currency = StringField(
        "Currency",
        validators=[InputRequired(message="Give a currency."), Length(min=3, max=3)],
        default="USD",
    )
    probability = IntegerField(
        "Probability (%)",
        validators=[Optional(), NumberRange(min=0, max=100, message="Between 0 and 100.")],
        description="Leave blank for the stage's default.",
    )
    is_restricted = BooleanField("Restricted")
    purpose = StringField("Purpose (for a restricted ask)", validators=[Optional(), Length(max=500)])
    expected_decision_on = DateField("Expected decision", validators=[Optional()])
    proposal_due_on = DateField("Proposal due", validators=[Optional()])
    next_step = StringField("Next step", validators=[Optional(), Length(max=500)])
    next_step_due_on = DateField("Next step due", validators=[Optional()])
    introduction_id = SelectField("Introduction credited", validators=[Optional()], validate_choice=False)
    split = FieldList(FormField(SplitRowForm), min_entries=SPLIT_ROWS, max_entries=SPLIT_ROWS)
    contacts = FieldList(FormField(ContactRoleForm), min_entries=CONTACT_ROWS, max_entries=CONTACT_ROWS)


class StageForm(FlaskForm):
    stage = SelectField(
        "Move to",
        choices=choices((stage.value, stage.label) for stage in Stage),
        validators=[InputRequired()],
    )
    reason = TextAreaField("Reason (needed for lost or declined)", validators=[Optional(), Length(max=5000)])
    probability = IntegerField(
        "Probability (%)", validators=[Optional(), NumberRange(min=0, max=100, message="Between 0 and 100.")]
    )
    agreed_on = DateField("Agreement date (when won)", validators=[Optional()])


class OpportunityFilterForm(FlaskForm):
    class Meta:
        csrf = False

    owner = SelectField("Owner", validators=[Optional()], validate_choice=False)
    stage = SelectField("Stage", validators=[Optional()], validate_choice=False)
    fiscal_year = IntegerField("Fiscal year", validators=[Optional(), NumberRange(min=2000, max=2100)])
    kind = SelectField("Kind of funder", validators=[Optional()], validate_choice=False)
    restricted = SelectField(
        "Restricted",
        choices=choices([("yes", "Restricted"), ("no", "Unrestricted")], blank="Either"),
        validators=[Optional()],
        validate_choice=False,
    )
