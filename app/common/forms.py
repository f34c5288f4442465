"""Small helpers every area's forms share."""

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice


def choices(pairs: Iterable[tuple[object, str]], blank: str | None = None) -> list[SelectChoice]:
    """Select options from (value, label) pairs, optionally led by an empty option."""
    options = [SelectChoice(value="", label=blank)] if blank is not None else []
    options += [SelectChoice(value=str(value), label=label) for value, label in pairs]
    return options


def apply_field_errors(form: FlaskForm, field_errors: dict[str, list[str]]) -> None:
    """Put errors raised by a service beside the fields they concern (or on the form as a whole)."""
    for name, messages in field_errors.items():
        field = getattr(form, name, None)
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = list(field.errors) + list(messages)
