"""Pages of a list. The page number comes from the query string (`?page=`); one beyond the last page shows the
last page, and nonsense shows the first, so a stale or hand-edited link never ends in an error."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app
from flask_sqlalchemy.pagination import Pagination

from ..extensions import db
from .urls import page_arg


def _per_page(per_page: int | None) -> int:
    return per_page or current_app.config["ITEMS_PER_PAGE"]


def _last_page(total: int | None, per_page: int) -> int:
    return max(1, -(-(total or 0) // per_page))


def paginate(query: sa.Select, per_page: int | None = None, arg: str = "page") -> Pagination:
    """The requested page of a select statement (db.paginate with a bounded page number). `arg` names the
    query argument of the page number, for a page that shows more than one paginated list."""
    per_page = _per_page(per_page)
    page = db.paginate(query, page=page_arg(arg), per_page=per_page, max_per_page=None, error_out=False)
    if not page.items and page.page > 1 and page.total:
        page = db.paginate(
            query,
            page=_last_page(page.total, per_page),
            per_page=per_page,
            max_per_page=None,
            error_out=False,
        )
    page.arg = arg
    return page


class _ListPagination(Pagination):
    """db.paginate()'s page object for rows computed in Python, for the same pager macro."""

    def _query_items(self) -> list:
        items = self._query_args["items"]
        return items[self._query_offset : self._query_offset + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["items"])


def paginate_list(items: list, per_page: int | None = None) -> Pagination:
    """The requested page of rows already in memory (a preview), with the same bounds as `paginate`."""
    per_page = _per_page(per_page)
    page = min(page_arg(), _last_page(len(items), per_page))
    return _ListPagination(page=page, per_page=per_page, max_per_page=None, error_out=False, items=items)


class _CountedPagination(Pagination):
    """A page of a select statement whose total the caller counted (with other totals, in one query)."""

    def _query_items(self) -> list:
        query = self._query_args["select"]
        if callable(query):  # builds the page's statement itself, from (limit, offset)
            statement = query(self.per_page, self._query_offset)
        else:
            statement = query.limit(self.per_page).offset(self._query_offset)
        return list(db.session.execute(statement).unique().scalars())

    def _query_count(self) -> int:
        return self._query_args["total"]


def paginate_counted(
    query: sa.Select | Callable[[int, int], sa.Select],
    total: int,
    per_page: int | None = None,
    arg: str = "page",
) -> Pagination:
    """Like `paginate`, for a total already known: one query (the page's rows) instead of two. `query` may
    instead be a function of (limit, offset) returning the page's statement (to page an inner query)."""
    per_page = _per_page(per_page)
    page = min(page_arg(arg), _last_page(total, per_page))
    pagination = _CountedPagination(
        page=page, per_page=per_page, max_per_page=None, error_out=False, select=query, total=total
    )
    pagination.arg = arg
    return pagination
