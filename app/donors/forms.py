"""Forms for organisations, contacts, connectors, introductions, interactions, gifts; the list filters."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..common.decimals import AMOUNT_OR_ZERO
from ..common.fields import AmountField
from ..common.forms import FixedSelectField, choices, fixed_choices, strip_text
from ..common.money import is_currency
from ..common.time import today
from .models import (
    AcknowledgementStatus,
    ConnectorRole,
    GiftMethod,
    InteractionKind,
    IntroductionStatus,
    Language,
    LawfulBasis,
    OrganisationKind,
    OrganisationStatus,
)
from .services import countries
from .text import clean

GIFT_CURRENCIES = ["USD", "EUR", "GBP", "CHF", "CAD", "SEK", "NOK", "DKK", "JPY", "AUD"]


def _without_control_characters(value):
    return clean(value) if isinstance(value, str) else value


class DonorForm(FlaskForm):
    """Every donor form drops NUL and other control characters (PostgreSQL refuses NUL)."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = [*unbound_field.kwargs.get("filters", ()), _without_control_characters]
            return unbound_field.bind(form=form, **{**options, "filters": filters})


def enum_choices(enum_class, blank: str | None = None):
    return choices(((item.value, item.label) for item in enum_class), blank=blank)


def _not_in_future(form, field):
    if field.data and field.data > today():
        raise ValidationError("This date is in the future.")


class OrganisationForm(DonorForm):
    name = StringField(
        "Name", validators=[DataRequired(message="Give the organisation's name."), Length(max=300)]
    )
    kind = SelectField("Kind", validators=[DataRequired()])
    status = SelectField("Status", validators=[DataRequired()])
    country_code = FixedSelectField("Country", validators=[Optional()])
    website = StringField("Website", validators=[Optional(), Length(max=300)])
    owner_id = SelectField("Relationship owner", validators=[Optional()])
    themes = StringField(
        "Focus themes",
        validators=[Optional(), Length(max=1000)],
        description="Separated by commas, e.g. Civic space, Gender and inclusion.",
    )
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=10000)])

    def __init__(self, staff, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = enum_choices(OrganisationKind)
        self.status.choices = enum_choices(OrganisationStatus)
        self.country_code.choices = fixed_choices(countries, blank="Not known")
        self.owner_id.choices = choices(((user.id, user.full_name) for user in staff), blank="Nobody yet")


class OrganisationFilterForm(DonorForm):
    class Meta:
        csrf = False  # a GET filter: it changes nothing

        def bind_field(self, form, unbound_field, options):
            # As every list filter (common.forms.FilterForm): a blank value (`kind= `) means "any".
            filters = [*unbound_field.kwargs.get("filters", ()), _without_control_characters, strip_text]
            return unbound_field.bind(form=form, **{**options, "filters": filters})

    q = StringField(
        "Search",
        validators=[Optional(), Length(max=200)],
        render_kw={"placeholder": "Organisation, contact name or e-mail", "type": "search"},
    )
    kind = SelectField("Kind", validators=[Optional()])
    status = SelectField("Status", validators=[Optional()])
    owner = SelectField("Owner", validators=[Optional()])
    country = FixedSelectField("Country", validators=[Optional()])
    theme = SelectField("Theme", validators=[Optional()])

    def __init__(self, staff, themes, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = enum_choices(OrganisationKind, blank="Any kind")
        self.status.choices = enum_choices(OrganisationStatus, blank="Any status")
        self.owner.choices = choices(((user.id, user.full_name) for user in staff), blank="Anyone")
        self.country.choices = fixed_choices(countries, blank="Any country")
        self.theme.choices = choices(((theme.id, theme.name) for theme in themes), blank="Any theme")


class ContactForm(DonorForm):
    name = StringField("Name", validators=[DataRequired(message="Give the person's name."), Length(max=200)])
    title = StringField("Title", validators=[Optional(), Length(max=200)], description="E.g. Dr, Ms, Mr.")
    email = StringField("E-mail", validators=[Optional(), Length(max=254)])
    phone = StringField(
        "Phone",
        validators=[Optional(), Length(max=40)],
        description="With + and the country code, or as dialled in the organisation's country.",
    )
    language = SelectField("Language for letters", validators=[DataRequired()])
    do_not_contact = BooleanField(
        "Do not contact", description="No letters or e-mails are sent to this person."
    )
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=10000)])
    lawful_basis = SelectField("Lawful basis (GDPR)", validators=[DataRequired()])
    source = StringField(
        "Where the data came from",
        validators=[Optional(), Length(max=300)],
        description="E.g. met at an event.",
    )
    privacy_notice_sent_on = DateField("Privacy notice sent on", validators=[Optional(), _not_in_future])
    email_consent = BooleanField("Consents to receive e-mail", description="Separate from the lawful basis.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = enum_choices(Language)
        self.lawful_basis.choices = enum_choices(LawfulBasis)


class NewContactForm(ContactForm):
    role = StringField("Role at the organisation", validators=[Optional(), Length(max=200)])
    started_on = DateField("Since", validators=[Optional()])


class MoveContactForm(DonorForm):
    organisation = StringField(
        "New organisation",
        validators=[DataRequired(message="Give the organisation's name."), Length(max=300)],
        description="Its name as on its page; accents and case do not matter.",
    )
    role = StringField("Role there", validators=[Optional(), Length(max=200)])
    moved_on = DateField("Since", validators=[InputRequired(message="Give the date.")], default=today)


class EndAffiliationForm(DonorForm):
    ended_on = DateField("Left on", validators=[InputRequired(message="Give the date.")], default=today)


class ConnectorForm(DonorForm):
    name = StringField(
        "Name", validators=[DataRequired(message="Give the connector's name."), Length(max=200)]
    )
    role = SelectField("Role", validators=[DataRequired()])
    user_id = SelectField("Login", validators=[Optional()], description="If they sign in to Tributary.")
    email = StringField("E-mail", validators=[Optional(), Length(max=254)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])

    def __init__(self, users, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = enum_choices(ConnectorRole)
        self.user_id.choices = choices(
            ((user.id, f"{user.full_name} ({user.email})") for user in users), blank="None"
        )


class ConnectionForm(DonorForm):
    connector_id = SelectField("Who knows them", validators=[DataRequired(message="Choose a connector.")])
    nature = StringField(
        "How they know each other",
        validators=[Optional(), Length(max=300)],
        description="E.g. Steering Committee member, former colleague.",
    )

    def __init__(self, connectors, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connector_id.choices = choices(
            ((c.id, f"{c.name} · {c.role.label}") for c in connectors), blank="Choose a connector"
        )


class IntroductionForm(DonorForm):
    connector_id = SelectField("Connector", validators=[DataRequired(message="Choose who is asked.")])
    target_contact_id = SelectField("Contact to meet", validators=[DataRequired(message="Choose a contact.")])
    for_user_id = SelectField(
        "Who is introduced", validators=[DataRequired(message="Choose whom to introduce.")]
    )
    purpose = TextAreaField("Why", validators=[Optional(), Length(max=5000)])
    requested_on = DateField("Asked on", validators=[InputRequired(), _not_in_future], default=today)

    def __init__(self, connections, staff, *args, **kwargs):
        super().__init__(*args, **kwargs)
        connectors = {c.connector.id: c.connector for c in connections}
        contacts = {c.contact.id: c.contact for c in connections}
        self.connector_id.choices = choices(((c.id, c.name) for c in connectors.values()), blank="Choose")
        self.target_contact_id.choices = choices(((c.id, c.name) for c in contacts.values()), blank="Choose")
        self.for_user_id.choices = choices(((user.id, user.full_name) for user in staff), blank="Choose")


class IntroductionStatusForm(DonorForm):
    status = SelectField("Status", validators=[DataRequired()])
    on = DateField("On", validators=[InputRequired(), _not_in_future], default=today)
    outcome = TextAreaField("Outcome", validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = enum_choices(IntroductionStatus)


class InteractionForm(DonorForm):
    kind = SelectField("Kind", validators=[DataRequired()])
    occurred_on = DateField("Date", validators=[InputRequired(message="Give the date.")], default=today)
    contact_ids = SelectMultipleField("Their participants", validators=[Optional()], coerce=int)
    staff_ids = SelectMultipleField("Our participants", validators=[Optional()], coerce=int)
    summary = TextAreaField("Summary", validators=[Optional(), Length(max=20000)])
    next_step = StringField(
        "Next step", validators=[Optional(), Length(max=500)], description="What happens next."
    )
    next_step_due_on = DateField("Due on", validators=[Optional()])
    next_step_owner_id = SelectField("Who takes it", validators=[Optional()])

    def __init__(self, contacts, staff, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = enum_choices(InteractionKind)
        self.contact_ids.choices = [(c.id, c.name) for c in contacts]
        self.staff_ids.choices = [(user.id, user.full_name) for user in staff]
        self.next_step_owner_id.choices = choices(
            ((user.id, user.full_name) for user in staff), blank="Nobody"
        )


class GiftForm(DonorForm):
    received_on = DateField("Received on", validators=[InputRequired(), _not_in_future], default=today)
    amount = AmountField("Amount", validators=[InputRequired()], currency_field="currency")
    currency = SelectField("Currency", validators=[DataRequired()])
    hub_id = SelectField("Received by", validators=[DataRequired(message="Choose the receiving hub.")])
    method = SelectField("Method", validators=[DataRequired()])
    contact_id = SelectField("Thank-you addressed to", validators=[Optional()])
    is_restricted = BooleanField("Restricted", description="For a given purpose only.")
    purpose = StringField("Purpose", validators=[Optional(), Length(max=500)])
    introduction_id = SelectField("Introduced by", validators=[Optional()])
    goods_or_services = StringField(
        "Goods or services given in exchange",
        validators=[Optional(), Length(max=500)],
        description="Leave blank when nothing was given (the US letter says so).",
    )
    goods_or_services_value = AmountField(
        "Their good-faith value", bounds=AMOUNT_OR_ZERO, validators=[Optional()], currency_field="currency"
    )
    do_not_acknowledge = BooleanField("Do not acknowledge", description="E.g. an anonymous gift.")
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])

    def __init__(self, hubs, contacts, introductions, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency.choices = choices((code, code) for code in GIFT_CURRENCIES)
        self.hub_id.choices = choices(
            ((hub.id, f"{hub.name} ({hub.base_currency})") for hub in hubs), blank="Choose"
        )
        self.method.choices = enum_choices(GiftMethod)
        self.contact_id.choices = choices(((c.id, c.name) for c in contacts), blank="The organisation")
        self.introduction_id.choices = choices(
            ((i.id, f"{i.connector.name} → {i.target_contact.name}") for i in introductions), blank="None"
        )

    def validate_currency(self, field):
        if not is_currency(field.data):
            raise ValidationError("Choose a currency.")


class AcknowledgeForm(DonorForm):
    acknowledged_on = DateField(
        "Acknowledged on", validators=[InputRequired(), _not_in_future], default=today
    )
    acknowledged_how = StringField(
        "How",
        validators=[DataRequired(message="Say how."), Length(max=200)],
        description="E.g. letter by e-mail, call from the CEO.",
    )


class AcknowledgementStatusForm(DonorForm):
    status = SelectField("Status", validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = choices(
            (s.value, s.label) for s in AcknowledgementStatus if s is not AcknowledgementStatus.ACKNOWLEDGED
        )


class LetterForm(DonorForm):
    language = SelectField("Language", validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = enum_choices(Language, blank="The contact's language")


class YearlySummaryForm(DonorForm):
    year = SelectField("Year", validators=[DataRequired(message="Choose a year.")])
    hub_id = SelectField("Gifts received by", validators=[DataRequired(message="Choose a hub.")])
    contact_id = SelectField("Addressed to", validators=[Optional()])
    language = SelectField("Language", validators=[Optional()])

    def __init__(self, years, hubs, contacts, *args, **kwargs):
        super().__init__(*args, **kwargs)
        years = list(years)
        self.year.choices = choices(((year, str(year)) for year in years), blank="Choose")
        if years and not self.is_submitted():
            # The summary usually asked for is of the latest year the donor gave in.
            self.year.data = str(years[0])
        self.hub_id.choices = choices((hub.id, hub.name) for hub in hubs)
        self.contact_id.choices = choices(((c.id, c.name) for c in contacts), blank="The organisation")
        self.language.choices = enum_choices(Language, blank="The contact's language")


class ImportUploadForm(DonorForm):
    kind = RadioField(
        "The file holds",
        choices=choices([("organisations", "Organisations"), ("contacts", "Contacts (people)")]),
        default="organisations",
        validators=[InputRequired(message="Choose organisations or contacts.")],
    )
    file = FileField(
        "File",
        validators=[FileRequired(message="Choose the CSV or XLSX file to import.")],
        description="CSV (UTF-8) or Excel (.xlsx), at most 4 MB and 10,000 rows, with a header row.",
    )


class ImportMappingForm(DonorForm):
    """The columns chosen (one `column-<key>` select each, read by the view) and the file, signed."""

    file_token = HiddenField(validators=[DataRequired()])
    header_row = IntegerField(
        "Header row", validators=[InputRequired(), NumberRange(min=1, max=30)], default=1
    )


class ImportConfirmForm(DonorForm):
    """The signed preview; each duplicate's choice comes as `choice-<row>` (read by the service)."""

    payload = HiddenField(validators=[DataRequired()])
