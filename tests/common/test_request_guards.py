"""Checks made once per request: a NUL character is refused with a 400; a database that is down is a 503."""

import pytest
from flask import Flask

from app import create_app
from app.common import request_guards
from app.hubs.models import ChecklistTemplate
from config import TestConfig
from tests.conftest import count, sign_in


@pytest.fixture(scope="module")
def echo_app():
    app = Flask(__name__)
    request_guards.register(app)

    @app.route("/echo", methods=["GET", "POST"])
    def echo():
        return "reached"

    @app.route("/echo/<path:rest>")
    def echo_path(rest):
        return "reached"

    return app


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("get", "/echo?q=a%00b", {}),
        ("get", "/echo?a%00=1", {}),
        ("get", "/echo/a%00b", {}),
        ("post", "/echo", {"data": {"name": "a\x00b"}}),
        ("post", "/echo", {"data": {"name\x00": "x"}}),
        ("post", "/echo", {"data": {"notes": ["fine", "bad\x00"]}}),
    ],
)
def test_a_nul_character_anywhere_a_view_reads_text_is_refused(echo_app, method, path, kwargs):
    response = getattr(echo_app.test_client(), method)(path, **kwargs)
    assert response.status_code == 400 and b"reached" not in response.data


def test_requests_without_nul_and_bodies_that_are_not_forms_pass(echo_app):
    client = echo_app.test_client()
    assert client.get("/echo?q=caf%C3%A9").status_code == 200
    assert client.post("/echo", data={"name": "O'Brien <b>"}).status_code == 200
    # A JSON body (the Stripe webhook) is left to its view: it checks its own signature on the raw bytes.
    assert client.post("/echo", data=b'{"a": "\\u0000"}', content_type="application/json").status_code == 200


def test_the_app_refuses_a_nul_in_a_search_box_with_its_own_page(login_as):
    response = login_as("operations").get("/contributions/invoices/?q=a%00b")
    assert response.status_code == 400
    assert "contained a NUL character" in response.text and "<nav" in response.text


def test_a_form_with_a_nul_saves_nothing(login_as):
    before = count(ChecklistTemplate)
    response = login_as("operations").post(
        "/hubs/templates/new", data={"name": "Office\x00", "description": ""}
    )
    assert response.status_code == 400
    assert count(ChecklistTemplate) == before


@pytest.mark.real_commits
def test_a_signed_in_page_answers_503_with_the_apps_own_page_when_the_database_is_down(tmp_path):
    class Unreachable(TestConfig):
        # Nothing listens on port 1: every connection is refused at once.
        SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2"
        TRIBUTARY_OUTBOX = str(tmp_path)

    down_app = create_app(Unreachable)
    down_app.instance_path = str(tmp_path)
    client = down_app.test_client()

    class SignedIn:
        id = 1

    sign_in(client, SignedIn)
    response = client.get("/contributions/")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert "The database is not answering" in response.text and "Tributary" in response.text
    with down_app.app_context():
        from app.extensions import db

        db.engine.dispose()
