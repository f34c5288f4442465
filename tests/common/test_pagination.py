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


def audit_rows(page_ids):
    """A list's columns for the page's ids (paginate's `rows`)."""
    return sa.select(AuditEntry.id, AuditEntry.record_label).join(page_ids, page_ids.c.id == AuditEntry.id)


def test_a_page_of_columns_holds_the_same_rows_and_count_as_a_page_of_records(app, entries, monkeypatch):
    query, ids = entries
    for number in (1, 2, 3):
        records = page_of(app, query, number)
        columns = page_of(app, query, number, rows=audit_rows)
        assert [row.id for row in columns.items] == [entry.id for entry in records.items]
        assert [row.record_label for row in columns.items] == [entry.record_label for entry in records.items]
        assert (columns.page, columns.total, columns.more) == (records.page, records.total, records.more)
    assert page_of(app, query, 99, rows=audit_rows).page == 3
    empty = page_of(app, query.where(sa.false()), 2, rows=audit_rows)
    assert (empty.items, empty.total, empty.page) == ([], 0, 1)
    monkeypatch.setattr(pagination, "COUNT_CAP", 12)
    capped = page_of(app, query, 1, rows=audit_rows)
    assert (capped.total, capped.more, capped.has_next) == (12, True, True)


def test_a_page_of_columns_can_be_named_tuples_and_give_a_record_several_rows(app, entries):
    query, ids = entries
    labelled = page_of(app, query, 1, rows=audit_rows, row_type=lambda id, label: (label, id))
    assert [row[1] for row in labelled.items] == ids[:10]
    twice = sa.select(sa.literal(1).label("copy")).union_all(sa.select(sa.literal(2))).subquery("copies")

    def two_rows_each(page_ids):
        rows = audit_rows(page_ids).add_columns(twice.c.copy).join(twice, sa.true())
        return rows.order_by(twice.c.copy.desc())

    page = page_of(app, query, 1, rows=two_rows_each)
    assert [(row.id, row.copy) for row in page.items] == [(id, copy) for id in ids[:10] for copy in (2, 1)]
    assert page.total == 25


def test_a_searched_list_keeps_its_order_and_count(app, entries):
    query, ids = entries
    for number in (1, 3):
        assert [e.id for e in page_of(app, query, number, searched=True).items] == [
            e.id for e in page_of(app, query, number).items
        ]
        by_rows = page_of(app, query, number, rows=audit_rows, searched=True)
        assert [row.id for row in by_rows.items] == ids[(number - 1) * 10 : number * 10]
        assert by_rows.total == 25
