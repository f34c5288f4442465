"""Long selects whose options never change in a process (countries, currencies): made and rendered once, and
seen by users exactly as an ordinary select (same markup, same choice marked, same refusal of a bad value)."""

from werkzeug.datastructures import MultiDict
from wtforms import SelectField
from wtforms.validators import DataRequired, Optional

from app.common.forms import FilterForm, FixedSelectField, choices, fixed_choices

COUNTRIES = [("BE", "Belgium"), ("CI", "Côte d'Ivoire"), ("FR", "France & <Overseas>")]


def country_pairs():
    return COUNTRIES


class PlainForm(FilterForm):
    country = SelectField("Country", validators=[Optional()])
    required_country = SelectField("Country", validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = choices(country_pairs(), blank="Any country")
        self.required_country.choices = choices(country_pairs(), blank="Choose a country")


class FixedForm(FilterForm):
    country = FixedSelectField("Country", validators=[Optional()])
    required_country = FixedSelectField("Country", validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = fixed_choices(country_pairs, blank="Any country")
        self.required_country.choices = fixed_choices(country_pairs, blank="Choose a country")


def both(app, **args):
    with app.test_request_context("/"):
        plain, fixed = PlainForm(MultiDict(args)), FixedForm(MultiDict(args))
        plain.validate(), fixed.validate()
        return plain, fixed


def test_the_choices_are_made_once_per_process():
    made = fixed_choices(country_pairs, blank="Any country")
    assert fixed_choices(country_pairs, blank="Any country") is made
    assert [option.value for option in fixed_choices(country_pairs, blank="Any")] == ["", "BE", "CI", "FR"]


def test_a_fixed_select_renders_as_an_ordinary_one_with_the_chosen_option_marked(app):
    for args in ({}, {"country": "CI", "required_country": "FR"}, {"country": "", "required_country": "BE"}):
        plain, fixed = both(app, **args)
        assert str(fixed.country()) == str(plain.country())
        assert str(fixed.required_country()) == str(plain.required_country())
        assert str(fixed.country(class_="wide")) == str(plain.country(class_="wide"))
    _, fixed = both(app, country="CI")
    assert '<option selected value="CI">Côte d&#39;Ivoire</option>' in str(fixed.country())
    assert "France &amp; &lt;Overseas&gt;" in str(fixed.country())


def test_a_value_outside_the_choices_is_refused_with_the_usual_message(app):
    plain, fixed = both(app, country="XX", required_country="BE")
    assert fixed.errors == plain.errors == {"country": ["Not a valid choice."]}
    plain, fixed = both(app, country=" ", required_country="")
    assert fixed.errors == plain.errors
    assert list(fixed.errors) == ["required_country"]


def test_ordinary_choices_still_work_in_a_fixed_select_field(app):
    with app.test_request_context("/"):
        form = FixedForm(MultiDict({"country": "FR"}))
        form.country.choices = choices(country_pairs(), blank="Any")
        form.required_country.choices = choices(country_pairs())
        assert not form.validate()
        assert '<option selected value="FR">' in str(form.country())
        assert list(form.errors) == ["required_country"]
