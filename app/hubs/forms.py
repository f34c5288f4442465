"""Forms for hubs, their checklists and checklist templates.

Identifiers (IBAN, BIC, VAT and enterprise numbers) are checked by the service, which puts its messages beside
these fields; the forms check what is typed (required, lengths) and the logo file.
"""

from __future__ import annotations

from functools import cache

import pycountry
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..common.fields import DateField
from ..common.forms import FilterForm, FixedSelectField, OptionalChoice, choices, fixed_choices
from ..common.money import is_currency
from . import validation
from .models import ChecklistItemStatus, HubKind, HubStatus
from .services import LANGUAGE_NAMES, LANGUAGES


@cache
def country_pairs() -> list[tuple[str, str]]:
    pairs = [(country.alpha_2, validation.country_name(country.alpha_2)) for country in pycountry.countries]
    return sorted(pairs, key=lambda pair: pair[1])


@cache
def currency_pairs() -> list[tuple[str, str]]:
    pairs = [
        (currency.alpha_3, f"{currency.alpha_3} · {currency.name}")
        for currency in pycountry.currencies
        if is_currency(currency.alpha_3)
    ]
    return sorted(pairs)


class LogoFile:
    """Reads the upload once, decodes it with Pillow, and keeps the bytes for the view."""

    def __call__(self, form, field):
        upload = field.data
        if not upload or not getattr(upload, "filename", ""):
            form.logo_content = None
            return
        content = upload.read(validation.LOGO_MAX_BYTES + 1)
        try:
            validation.logo(content)
        except validation.InvalidValue as error:
            form.logo_content = None
            raise ValidationError(str(error)) from error
        form.logo_content = content


class HubForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)], description="e.g. Brussels hub")
    kind = SelectField("Kind", validators=[DataRequired()])
    status = SelectField("Status", validators=[DataRequired()])
    opening_date = DateField("Opening date", validators=[Optional()])

    legal_name = StringField(
        "Legal name",
        validators=[DataRequired(), Length(max=200)],
        description="As registered; printed on invoices.",
    )
    street_address = TextAreaField("Street address", validators=[Length(max=300)])
    postal_code = StringField("Postal code", validators=[Length(max=20)])
    city = StringField("City", validators=[Length(max=120)])
    country_code = FixedSelectField("Country", validators=[DataRequired()])
    registration_number = StringField(
        "Registration number",
        validators=[Length(max=60)],
        description="Belgium: enterprise number (0403.170.701). United States: EIN (12-3456789).",
    )
    vat_number = StringField(
        "VAT number",
        validators=[Length(max=40)],
        description="EU: with the country prefix, e.g. BE0403170701.",
    )

    base_currency = FixedSelectField("Base currency", validators=[DataRequired()])
    invoice_prefix = StringField(
        "Invoice number prefix",
        validators=[DataRequired(), Length(max=10)],
        description="Letters or digits; invoices read PREFIX-2027-0001.",
    )
    payment_terms_days = IntegerField(
        "Payment terms (days)",
        default=30,
        validators=[InputRequired(message="Required."), NumberRange(0, 365)],
    )

    bank_name = StringField("Bank name", validators=[Length(max=120)])
    iban = StringField("IBAN", validators=[Length(max=42)])
    bic = StringField("BIC (SWIFT)", validators=[Length(max=11)])
    account_number = StringField("Account number", validators=[Length(max=34)], description="US accounts.")
    routing_number = StringField("Routing number (ABA)", validators=[Length(max=20)])

    tax_statement_en = TextAreaField(
        "Tax statement (English)", render_kw={"rows": 4}, validators=[Length(max=1000)]
    )
    tax_statement_fr = TextAreaField(
        "Tax statement (French)", render_kw={"rows": 4}, validators=[Length(max=1000)]
    )
    tax_statement_es = TextAreaField(
        "Tax statement (Spanish)", render_kw={"rows": 4}, validators=[Length(max=1000)]
    )
    legal_mentions_en = TextAreaField(
        "Legal mentions (English)", render_kw={"rows": 4}, validators=[Length(max=2000)]
    )
    legal_mentions_fr = TextAreaField(
        "Legal mentions (French)", render_kw={"rows": 4}, validators=[Length(max=2000)]
    )
    legal_mentions_es = TextAreaField(
        "Legal mentions (Spanish)", render_kw={"rows": 4}, validators=[Length(max=2000)]
    )

    logo = FileField("Logo", validators=[LogoFile()], description="PNG or JPEG, at most 1 MB.")
    remove_logo = BooleanField("Remove the current logo")
    checklist_template = SelectField("Start the setup checklist from", validators=[OptionalChoice()])

    logo_content: bytes | None = None

    def __init__(self, *args, templates=(), locked: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = choices((kind.value, kind.label) for kind in HubKind)
        self.status.choices = choices((status.value, status.label) for status in HubStatus)
        self.country_code.choices = fixed_choices(country_pairs, blank="Choose a country")
        self.base_currency.choices = fixed_choices(currency_pairs, blank="Choose a currency")
        self.checklist_template.choices = choices(
            ((template.id, template.name) for template in templates), blank="No checklist"
        )
        self.locked = locked
        if locked:
            for name in ("base_currency", "invoice_prefix"):
                getattr(self, name).render_kw = {"disabled": True}

    def language_fields(self, kind: str):
        return [(LANGUAGE_NAMES[lang], getattr(self, f"{kind}_{lang}")) for lang in LANGUAGES]

    def texts(self, kind: str) -> dict[str, str]:
        return {lang: getattr(self, f"{kind}_{lang}").data or "" for lang in LANGUAGES}

    def fill_texts(self, hub) -> None:
        for kind in ("tax_statement", "legal_mentions"):
            for lang in LANGUAGES:
                getattr(self, f"{kind}_{lang}").data = (getattr(hub, kind) or {}).get(lang, "")


class ItemStatusForm(FlaskForm):
    status = SelectField("Status", validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = status_choices()


def status_choices():
    return choices((status.value, status.label) for status in ChecklistItemStatus)


def owner_choices(users):
    return choices(((user.id, user.full_name) for user in users), blank="Nobody yet")


class ChecklistItemForm(FlaskForm):
    description = StringField("Step", validators=[DataRequired(), Length(max=300)])
    owner_role = StringField(
        "Usually done by", validators=[Length(max=120)], description="A job role, e.g. Finance director."
    )
    owner = SelectField("Owner", validators=[OptionalChoice()])
    due_on = DateField("Due date", validators=[Optional()])
    status = SelectField("Status", validators=[DataRequired()])
    notes = TextAreaField("Notes", validators=[Length(max=5000)])

    def __init__(self, *args, users=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.owner.choices = owner_choices(users)
        self.status.choices = status_choices()


class NewChecklistItemForm(FlaskForm):
    description = StringField("Step", validators=[DataRequired(), Length(max=300)])
    owner_role = StringField("Usually done by", validators=[Length(max=120)])
    owner = SelectField("Owner", validators=[OptionalChoice()])
    due_on = DateField("Due date", validators=[Optional()])

    def __init__(self, *args, users=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.owner.choices = owner_choices(users)


class StartChecklistForm(FlaskForm):
    template = SelectField("Template", validators=[DataRequired(message="Choose a template.")])

    def __init__(self, *args, templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.template.choices = choices(((t.id, t.name) for t in templates), blank="Choose a template")


class TemplateForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField("Description", validators=[Length(max=2000)])


class TemplateItemForm(FlaskForm):
    description = StringField("Step", validators=[DataRequired(), Length(max=300)])
    default_owner_role = StringField(
        "Usually done by", validators=[Length(max=120)], description="A job role, e.g. Legal counsel."
    )


class SearchForm(FilterForm):
    q = StringField("Search", validators=[Optional()])
    status = SelectField("Status", validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = choices(((s.value, s.label) for s in HubStatus), blank="Any status")
