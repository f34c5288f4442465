"""Pages of a list. The page number comes from the query string (`?page=`); one beyond the last page shows the
last page, and nonsense shows the first, so a stale or hand-edited link never ends in an error."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.sql import visitors
from sqlalchemy.sql.util import ClauseAdapter

from ..extensions import db
from .urls import page_arg


def _per_page(per_page: int | None) -> int:
    return per_page or current_app.config["ITEMS_PER_PAGE"]


def _last_page(total: int | None, per_page: int) -> int:
    return max(1, -(-(total or 0) // per_page))


#: Lists paged by ids count their rows up to this many (or up to the requested page): beyond it a page says
#: "more than N", so that a page costs the same however many rows the table holds.
COUNT_CAP = 5_000


def paginate(
    query: sa.Select,
    per_page: int | None = None,
    arg: str = "page",
    *,
    exact_total: bool = False,
    rows: Callable[[sa.Subquery], sa.Select] | None = None,
    row_type: Callable | None = None,
    searched: bool = False,
) -> Pagination:
    """The requested page of a select statement (db.paginate with a bounded page number). `arg` names the
    query argument of the page number, for a page that shows more than one paginated list.

    A select of one mapped entity is paged in two steps: the page's ids first (a narrow query that an index
    on the filter and order columns serves, however deep the page), then those rows with their eager loads.
    Its count reads ids only, and stops at COUNT_CAP rows or the requested page (`page.more` then says that
    there are more; `exact_total` counts them all, for a page that states the total). Other selects (several
    entities, columns, GROUP BY, DISTINCT) go to db.paginate.

    `rows`, for a list that shows columns rather than records: a function of the page's ids (a subquery with
    an `id` column) returning the select of the columns each row shows, joined to those ids. The page's
    items are then those rows (plain tuples, no objects built), read in the list's order in one query with
    the count (see `_paginate_rows`), or `row_type(*columns)` of each when given (a NamedTuple with the
    properties a row shows, say). The select may give a record several rows (its allocations joined, say):
    they come together, in the select's own ORDER BY after the list's, for the view to fold.

    `searched`: the query's filter is a text search (common/search.py), which no index in the list's order
    can serve. The page's ids are then taken from the matching rows found first, through the search's own
    indexes, and sorted (`_found_first`): PostgreSQL, which cannot tell how many rows a search matches, would
    otherwise walk the list's index through the whole table when few do.
    """
    per_page = _per_page(per_page)
    key = _entity_key(query)
    if rows is not None:
        if key is None:
            raise ValueError("paginate(rows=...) pages a select of one mapped entity")
        page = _paginate_rows(query, key, rows, row_type, per_page, exact_total, arg, searched)
        page.arg = arg
        return page
    if key is not None:
        page = _paginate_by_ids(query, key, per_page, exact_total, arg, searched)
        page.arg = arg
        return page
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


def _entity_key(query: sa.Select):
    """The primary key column of the select's single mapped entity, if it is paged by ids (else None)."""
    descriptions = query.column_descriptions
    if (
        len(descriptions) != 1
        or query._group_by_clauses
        or query._distinct
        or query._limit_clause is not None
        or query._offset_clause is not None
    ):
        return None
    entity = descriptions[0].get("entity")
    if entity is None or descriptions[0].get("expr") is not entity:
        return None
    primary_key = sa.inspect(entity).primary_key
    return primary_key[0] if len(primary_key) == 1 else None


def _ids_in_list_order(query: sa.Select, key, searched: bool) -> sa.Select:
    """The select of the query's ids (as `id`), in the list's order; found first when `searched`."""
    ids_query = query.with_only_columns(key.label("id"))
    return _found_first(ids_query, key) if searched else ids_query


def _found_first(ids_query: sa.Select, key) -> sa.Select:
    """The same ids in the same order, sorted from the rows the filter finds rather than read in order:
    the filter's rows with the columns of the ORDER BY, as a subquery that OFFSET 0 keeps whole (neither
    database folds a subquery with an OFFSET into the outer query), then ordered outside."""
    order = ids_query._order_by_clauses
    columns = {}
    for clause in (key, *order):
        for element in visitors.iterate(clause):
            if isinstance(element, sa.Column):
                columns.setdefault((element.table.name, element.name), element)
    matched = ids_query.with_only_columns(*columns.values()).order_by(None).offset(0).subquery("matched")
    adapt = ClauseAdapter(matched).traverse
    return sa.select(matched.corresponding_column(key).label("id")).order_by(*(adapt(c) for c in order))


def _paginate_by_ids(
    query: sa.Select, key, per_page: int, exact_total: bool, arg: str, searched: bool
) -> Pagination:
    ids_query = query.with_only_columns(key)
    requested = page_arg(arg)
    count, limit = _counted_ids(ids_query, requested, per_page, exact_total)
    total = db.session.scalar(count)
    more = limit is not None and total == limit
    if more:
        total -= 1
    page = requested if more else min(requested, _last_page(total, per_page))
    in_order = _ids_in_list_order(query, key, searched)
    ids = list(db.session.scalars(in_order.limit(per_page).offset((page - 1) * per_page)))
    # Loaded even when there are no ids, so that a page runs as many queries empty as full.
    rows = db.session.scalars(_rows_by_ids(query, key, ids)).unique()
    loaded = {sa.inspect(item).identity[0]: item for item in rows}
    items = [loaded[id_] for id_ in dict.fromkeys(ids) if id_ in loaded]
    return _LoadedPagination(
        page=page, per_page=per_page, max_per_page=None, error_out=False, items=items, total=total, more=more
    )


def _counted_ids(ids_query: sa.Select, requested: int, per_page: int, exact_total: bool):
    """(count statement, its limit or None): the ids counted up to COUNT_CAP or the requested page."""
    counted = ids_query.order_by(None)
    limit = None
    if not exact_total:
        limit = max(COUNT_CAP, requested * per_page) + 1
        counted = counted.limit(limit)
    return sa.select(sa.func.count()).select_from(counted.subquery()), limit


def _paginate_rows(
    query: sa.Select, key, rows, row_type, per_page: int, exact_total: bool, arg: str, searched: bool
) -> Pagination:
    """One query: the requested page's ids (LIMIT/OFFSET on the narrow id select, which an index serves)
    joined to the columns its rows show, in the list's order, each row carrying the count as a last column
    (an uncorrelated subquery, computed once). A page beyond the last comes back empty: it is counted on its
    own then, and the last page read instead."""
    requested = page_arg(arg)
    count, limit = _counted_ids(query.with_only_columns(key), requested, per_page, exact_total)
    in_order = _ids_in_list_order(query, key, searched)

    def read(page: int) -> list:
        page_ids = in_order.limit(per_page).offset((page - 1) * per_page).subquery("page_ids")
        statement = rows(page_ids).add_columns(count.scalar_subquery().label("counted_rows"))
        own_order = statement._order_by_clauses
        statement = statement.order_by(None).order_by(*query._order_by_clauses, *own_order)
        return db.session.execute(statement).all()

    page, items = requested, read(requested)
    if items:
        total = items[0][-1]
    elif requested == 1:
        total = 0
    else:
        total = db.session.scalar(count)
    more = limit is not None and total == limit
    if more:
        total -= 1
    if not items:
        page = _last_page(total, per_page)
        if total:
            items = read(page)
    if row_type is not None:
        items = [row_type(*row[:-1]) for row in items]
    return _LoadedPagination(
        page=page, per_page=per_page, max_per_page=None, error_out=False, items=items, total=total, more=more
    )


def _rows_by_ids(query: sa.Select, key, ids: list) -> sa.Select:
    """The select's rows with these ids, its joins and eager loads kept but not its filters (the ids already
    passed them; a search would otherwise run twice), nor the index hints that served those filters (a
    partial index cannot serve a lookup by id)."""
    load = query.where(key.in_(ids))
    load._where_criteria = (key.in_(ids),)
    load._hints = type(load._hints)()
    return load


class _LoadedPagination(Pagination):
    """A page whose items and total are already known (see _paginate_by_ids). When `more`, the list holds
    more than `total` rows: one page beyond the counted ones is offered, and no last page."""

    def _query_items(self) -> list:
        return self._query_args["items"]

    def _query_count(self) -> int:
        return self._query_args["total"]

    @property
    def more(self) -> bool:
        return self._query_args["more"]

    @property
    def pages(self) -> int:
        return super().pages + (1 if self.more else 0)


class _ListPagination(Pagination):
    """db.paginate()'s page object for rows computed in Python, for the same pager macro."""

    more = False

    def _query_items(self) -> list:
        items = self._query_args["items"]
        return items[self._query_offset : self._query_offset + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["items"])


def paginate_list(items: list, per_page: int | None = None, arg: str = "page") -> Pagination:
    """The requested page of rows already in memory (a preview), with the same bounds as `paginate`; `arg`
    names the query argument of the page number, for a page that shows more than one list."""
    per_page = _per_page(per_page)
    page = min(page_arg(arg), _last_page(len(items), per_page))
    pagination = _ListPagination(
        page=page, per_page=per_page, max_per_page=None, error_out=False, items=items
    )
    pagination.arg = arg
    return pagination


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


def ids_first(query: sa.Select) -> Callable[[int, int], sa.Select]:
    """For `paginate_counted`, a select of one mapped entity with eager loads: a function of (limit, offset)
    giving the page read as its ids first (LIMIT/OFFSET on the narrow select of ids, which an index on the
    filter serves) and then only those rows with their joins and eager loads, in the same order. Joined
    directly, the database would join every matching row (a big organisation's hundreds of contacts) to
    its related rows before sorting them to keep ten."""
    key = _entity_key(query)
    if key is None:
        raise ValueError("ids_first() pages a select of one mapped entity")

    def page(limit: int, offset: int) -> sa.Select:
        ids = query.with_only_columns(key).limit(limit).offset(offset)
        return _rows_by_ids(query, key, ids.scalar_subquery())

    return page


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
