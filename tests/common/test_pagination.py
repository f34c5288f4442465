"""Pages of a list of records: read by ids in the list's order however deep the page, counted up to a cap
(beyond it the page says there are more), and a page beyond the last shows the last."""

import pytest
import sqlalchemy as sa

from app.common import pagination
from app.common.audit import AuditEntry
from app.extensions import db


@pytest.fixture
def entries():
    """25 audit entries, newest first in the list's order."""
    rows = [
        dict(action="create", actor_label="t", record_type="Thing", record_id=str(n), record_label=f"#{n}")
        for n in range(25)
    ]
    db.session.execute(sa.insert(AuditEntry), rows)
    query = sa.select(AuditEntry).where(AuditEntry.record_type == "Thing").order_by(AuditEntry.id.desc())
    return query, [entry.id for entry in db.session.scalars(query)]


def page_of(app, query, number, **kwargs):
    with app.test_request_context(f"/?page={number}"):
        return pagination.paginate(query, per_page=10, **kwargs)


def test_each_page_holds_its_rows_in_the_lists_order(app, entries):
    query, ids = entries
    assert [entry.id for entry in page_of(app, query, 1).items] == ids[:10]
    third = page_of(app, query, 3)
    assert [entry.id for entry in third.items] == ids[20:]
    assert (third.total, third.pages, third.more, third.has_next) == (25, 3, False, False)


def test_a_page_beyond_the_last_shows_the_last(app, entries):
    query, ids = entries
    page = page_of(app, query, 99)
    assert page.page == 3 and [entry.id for entry in page.items] == ids[20:]


def test_a_long_list_is_counted_up_to_the_cap_and_says_there_are_more(app, entries, monkeypatch):
    query, ids = entries
    monkeypatch.setattr(pagination, "COUNT_CAP", 12)
    first = page_of(app, query, 1)
    assert (first.total, first.more, first.has_next) == (12, True, True)
    # A deeper page counts as far as itself, and the last page is exact again.
    second = page_of(app, query, 2)
    assert [entry.id for entry in second.items] == ids[10:20]
    assert second.has_next
    last = page_of(app, query, 3)
    assert (last.total, last.more, last.has_next) == (25, False, False)
    assert page_of(app, query, 1, exact_total=True).total == 25


def test_the_pager_says_more_than_and_offers_no_last_page(app, entries, monkeypatch):
    query, _ = entries
    monkeypatch.setattr(pagination, "COUNT_CAP", 12)
    with app.test_request_context("/?page=1"):
        page = pagination.paginate(query, per_page=5)
        html = app.jinja_env.from_string(
            '{% from "_macros/pagination.html" import pager %}{{ pager(page, "entries") }}'
        ).render(page=page)
    assert "1–5 of more than 12 entries" in html
    assert "Next" in html and ">4<" not in html
