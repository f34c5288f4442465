"""WTForms' own messages ("Not a valid choice.", "This field is required.") in the interface's language, read
once per process rather than parsed again in every request that shows a form."""

from flask import request
from wtforms import SelectField
from wtforms.validators import DataRequired

from app.common.forms import FilterForm, choices


class PickForm(FilterForm):
    colour = SelectField("Colour", validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.colour.choices = choices([("red", "Red")], blank="Choose")


def test_every_request_shares_one_reading_of_the_form_messages(app):
    seen = []
    for query in ("/?colour=blue", "/?colour=green"):
        with app.test_request_context(query):
            app.preprocess_request()
            form = PickForm(request.args)
            assert not form.validate()
            assert form.errors == {"colour": ["Not a valid choice."]}
            seen.append(request.wtforms_translations)
    assert seen[0] is seen[1]
