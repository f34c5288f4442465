"""List filters read from the query string: blank means "any", a value outside the choices is refused beside
its field, and no filter value ever reaches the database unchecked."""

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Optional

from app.common.forms import FilterForm, choices
from app.contributions.models import PaymentMethod


class ThingFilterForm(FilterForm):
    q = StringField("Search", validators=[Optional()])
    hub = SelectField("Hub", validators=[Optional()])
    method = SelectField("Method", validators=[Optional()])
    since = DateField("Since", validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hub.choices = choices([(1, "Brussels"), (2, "Washington")], blank="Any")
        self.method.choices = choices(((m.value, m.label) for m in PaymentMethod), blank="Any method")


def read(app, **args) -> ThingFilterForm:
    with app.test_request_context("/"):
        return ThingFilterForm(MultiDict(args))


@pytest.mark.parametrize("blank", ["", " ", "\t", "   "])
def test_a_blank_filter_means_any(app, blank):
    form = read(app, hub=blank, method=blank, q=blank, since=blank)
    assert form.validate()
    assert [form.value(name) for name in ("q", "hub", "method", "since")] == [None, None, None, None]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("hub", "2147483648"),
        ("hub", " 3 "),
        ("method", "unknown"),
        ("method", "WIRE"),
        ("since", "2026-13-45"),
    ],
)
def test_a_value_outside_the_choices_is_an_error_beside_its_field(app, name, value):
    form = read(app, **{name: value})
    assert not form.validate()
    assert list(form.errors) == [name]
    assert form.value(name) is None


def test_acceptable_values_are_given_clean_and_a_bad_one_does_not_hide_the_others(app):
    form = read(app, q="  Belgium ", hub=" 1 ", method="unknown")
    assert not form.validate()
    assert form.value("q") == "Belgium"
    assert form.value("hub") == "1"
    assert form.value("method") is None
    assert PaymentMethod(read(app, method="wire").value("method")) is PaymentMethod.WIRE


def test_filter_forms_need_no_csrf_token(app):
    assert read(app).meta.csrf is False


def test_the_payments_list_ignores_an_unknown_method_with_a_message(login_as):
    response = login_as("operations").get("/contributions/payments/?method=unknown&q=%20")
    assert response.status_code == 200
    assert "Not a valid choice" in response.text


@pytest.mark.parametrize(
    "query",
    ["/contributions/invoices/?hub=%20", "/contributions/members/?hub=%20&kind=%20", "/hubs/?status=%20"],
)
def test_a_blank_hub_filter_lists_every_hub(login_as, query):
    assert login_as("board").get(query).status_code == 200
