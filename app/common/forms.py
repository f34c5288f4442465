"""Small helpers every area's forms share."""

from collections.abc import Callable, Iterable
from functools import cache

from babel import support
from flask import request
from flask_babel import get_locale
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import SelectField
from wtforms.fields.choices import Choice, SelectChoice
from wtforms.i18n import messages_path
from wtforms.validators import Optional, StopValidation, ValidationError
from wtforms.widgets import Select, html_params


@cache
def _wtforms_translations(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def share_wtforms_translations() -> None:
    """Before each request: WTForms' own messages in the request's locale, read once per process. Flask-WTF
    would otherwise parse WTForms' catalogue again in every request that shows or checks a form (it keeps
    what it read on the request, as `request.wtforms_translations`)."""
    request.wtforms_translations = _wtforms_translations(str(get_locale()))


def choices(pairs: Iterable[tuple[object, str]], blank: str | None = None) -> list[SelectChoice]:
    """Select options from (value, label) pairs, optionally led by an empty option."""
    options = [SelectChoice(value="", label=blank)] if blank is not None else []
    options += [SelectChoice(value=str(value), label=label) for value, label in pairs]
    return options


class FixedChoices(tuple):
    """Select options that never change while the process runs (every country): made once by
    `fixed_choices`, their <option> tags rendered once, for a `FixedSelectField`."""

    def __new__(cls, options: Iterable[SelectChoice]):
        made = super().__new__(cls, options)
        made.values = frozenset(option.value for option in made)
        made.tags = {option.value: _option_tag(option, selected=False) for option in made}
        made.selected_tags = {option.value: _option_tag(option, selected=True) for option in made}
        return made


def _option_tag(option: SelectChoice, selected: bool) -> Markup:
    return Select.render_option(Choice(option.value, option.label, selected, option.render_kw))


@cache
def fixed_choices(
    pairs: Callable[[], Iterable[tuple[object, str]]], blank: str | None = None
) -> FixedChoices:
    """`choices(pairs(), blank)` made once per process: for long lists that no request changes (countries),
    whose 250 options would otherwise be built, checked and rendered again on every request."""
    return FixedChoices(choices(pairs(), blank))


class FixedSelectWidget(Select):
    """Renders a FixedSelectField from its options' tags rendered once; only the chosen one is marked."""

    def __call__(self, field, **kwargs):
        options = field.choices
        if not isinstance(options, FixedChoices):
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for name in self.validation_attrs:
            if name not in kwargs and getattr(flags, name, False):
                kwargs[name] = getattr(flags, name)
        chosen = field.data if isinstance(field.data, str) else None
        tags = options.tags
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        html.extend(options.selected_tags[value] if value == chosen else tags[value] for value in tags)
        html.append("</select>")
        return Markup("".join(html))


class FixedSelectField(SelectField):
    """A SelectField whose choices are `fixed_choices(...)`: rendered and checked from what was made once
    per process (same markup and messages as a SelectField; other choices work as in a SelectField)."""

    widget = FixedSelectWidget()

    def pre_validate(self, form):
        options = self.choices
        if not isinstance(options, FixedChoices) or self.process_errors or not self.validate_choice:
            return super().pre_validate(form)
        if self.data not in options.values:
            raise ValidationError(self.invalid_choice_message or self.gettext("Not a valid choice."))


class OptionalChoice(Optional):
    """For a select that may be left blank: blank or whitespace means "none chosen" (its data becomes "").

    WTForms' Optional() stops there too, but leaves a whitespace value as the field's data (and wipes its
    "Not a valid choice"), so `int(form.owner.data)` would fail on " ". Any other value must be a choice."""

    def __call__(self, form, field):
        if not field.raw_data or not str(field.raw_data[0]).strip():
            field.data = ""
            field.errors[:] = []
            raise StopValidation()


def apply_field_errors(form: FlaskForm, field_errors: dict[str, list[str]]) -> None:
    """Put errors raised by a service beside the fields they concern (or on the form as a whole)."""
    for name, messages in field_errors.items():
        field = getattr(form, name, None)
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = list(field.errors) + list(messages)


def strip_text(value):
    """A field filter: text without surrounding whitespace (other data as it is)."""
    return value.strip() if isinstance(value, str) else value


class FilterForm(FlaskForm):
    """A list's filters, read from the query string: `InvoiceFilterForm(hubs, request.args)`.

    Every value is stripped, so a blank one (`hub= `) means "any". A select's value outside its choices
    (`method=unknown`) fails validation with its message beside the field, as in any form. `value(name)` gives
    a field's clean value, or None when it is blank or did not validate, for views that ignore a bad filter
    rather than show no rows.
    """

    class Meta:
        csrf = False  # a GET form: it changes nothing

        def bind_field(self, form, unbound_field, options):
            filters = (*unbound_field.kwargs.get("filters", ()), strip_text)
            return unbound_field.bind(form=form, **{**options, "filters": filters})

    _validated: bool | None = None

    def validate(self, extra_validators=None) -> bool:
        self._validated = super().validate(extra_validators)
        return self._validated

    def value(self, name: str):
        """The clean value of filter `name`: None when it is blank or not acceptable."""
        if self._validated is None:
            self.validate()
        field = self[name]
        if field.errors or field.data in ("", None):
            return None
        return field.data
