"""Numbers from a URL: ids beyond the integer columns are 404; a page beyond the last shows the last one."""

import flask
import pytest
import sqlalchemy as sa
from flask import Flask

from app.common import urls
from app.common.pagination import paginate, paginate_list
from app.common.urls import INTEGER_MAX, bounded_int, fiscal_year_arg, int_arg, page_arg
from app.hubs.models import Hub


@pytest.fixture(scope="module")
def tiny_app():
    app = Flask(__name__)
    urls.install(app)

    @app.route("/things/<int:thing_id>")
    def show_thing(thing_id):
        return str(thing_id)

    return app


@pytest.mark.parametrize(("path", "status"), [("/things/1", 200), (f"/things/{INTEGER_MAX}", 200)])
def test_ids_within_the_integer_column_reach_the_view(tiny_app, path, status):
    assert tiny_app.test_client().get(path).status_code == status


@pytest.mark.parametrize(
    "path",
    [f"/things/{INTEGER_MAX + 1}", "/things/9223372036854775808", "/things/" + "9" * 400, "/things/-1"],
)
def test_ids_beyond_the_integer_column_are_not_found(tiny_app, path):
    assert tiny_app.test_client().get(path).status_code == 404


def test_the_app_answers_404_for_an_invoice_id_postgresql_cannot_hold(login_as):
    client = login_as("operations")
    assert client.get("/contributions/invoices/2147483648").status_code == 404
    assert client.get("/hubs/99999999999999999999999/edit").status_code == 404


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        (" 12 ", 12),
        (str(INTEGER_MAX), INTEGER_MAX),
        (str(INTEGER_MAX + 1), None),
        ("0", None),
        ("-3", None),
        ("", None),
        (None, None),
        ("abc", None),
        ("1e3", None),
        ("١٢", None),
        ("9" * 5000, None),
    ],
)
def test_query_string_numbers_are_read_within_bounds(text, expected):
    assert bounded_int(text) == expected


def test_ids_years_and_pages_from_the_query_string(app):
    with app.test_request_context("/?member_id=2147483648&invoice_id=7&fiscal_year=99999&page=x"):
        assert int_arg("member_id") is None
        assert int_arg("invoice_id") == 7
        assert fiscal_year_arg() is None
        assert page_arg() == 1
    with app.test_request_context("/?fiscal_year=2027&page=99999999999999999999"):
        assert fiscal_year_arg() == 2027
        assert page_arg() == 1


def test_a_page_beyond_the_last_shows_the_last_page(app, make_hub):
    for _ in range(5):
        make_hub()
    query = sa.select(Hub).order_by(Hub.id)
    with app.test_request_context("/?page=40"):
        page = paginate(query, per_page=2)
    total = page.total
    assert page.page == page.pages == -(-total // 2) and page.items
    with app.test_request_context(f"/?page={INTEGER_MAX}"):
        assert paginate(query, per_page=2).page == page.pages


def test_rows_in_memory_are_paged_the_same_way(app):
    rows = list(range(7))
    with app.test_request_context("/?page=2"):
        assert paginate_list(rows, per_page=3).items == [3, 4, 5]
    with app.test_request_context("/?page=99999999999999999999999"):
        assert paginate_list(rows, per_page=3).items == [0, 1, 2]
    with app.test_request_context("/?page=9"):
        assert paginate_list(rows, per_page=3).items == [6]
    with app.test_request_context("/?page=9"):
        assert paginate_list([], per_page=3).items == []


def test_a_list_page_with_a_huge_page_number_still_answers(login_as):
    client = login_as("admin")
    for path in ("/hubs/?page=99999999999999999999", "/contributions/invoices/?page=2147483648"):
        assert client.get(path).status_code == 200


def test_a_row_url_is_the_url_for_each_id(tiny_app):
    with tiny_app.test_request_context("/"):
        thing_url = urls.row_url("show_thing", "thing_id")
        assert [thing_url(n) for n in (1, 42, INTEGER_MAX)] == [
            flask.url_for("show_thing", thing_id=n) for n in (1, 42, INTEGER_MAX)
        ]
