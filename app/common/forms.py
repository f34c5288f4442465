"""Small helpers every area's forms share."""

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, StopValidation


def choices(pairs: Iterable[tuple[object, str]], blank: str | None = None) -> list[SelectChoice]:
    """Select options from (value, label) pairs, optionally led by an empty option."""
    options = [SelectChoice(value="", label=blank)] if blank is not None else []
    options += [SelectChoice(value=str(value), label=label) for value, label in pairs]
    return options


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
