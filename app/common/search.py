"""Substring search, accent- and case-insensitive, served by an index on both databases: one implementation
for every area (donors' organisations and contacts, members, invoices, payments, the audit log).

A searched table keeps `search_text`, a folded copy (`fold()`: unaccented, case-folded, spaces collapsed) of
what is searched. The model says what that is once, with `keep_search_text()`, and the copy is set on every
insert and update through the ORM; bulk inserts that bypass the model call `add_search_text()` (bench seed).
On PostgreSQL a pg_trgm GIN index serves `search_text LIKE '%...%'`. On SQLite (3.40 here, whose trigram
tokenizer cannot remove diacritics) an FTS5 trigram table over the folded copy, kept by triggers, serves the
same LIKE through its index. Trigrams need three characters: shorter queries read the column itself.

The objects are named `search_*`, which tells Alembic's autogenerate to leave them alone (migrations/env.py);
migrations create them with `create_search_objects()` (the same statements as create_all() in tests), and
on SQLite that fills the FTS table from the rows already there.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection

#: Queries shorter than this (after folding) cannot use a trigram index: they read the column.
MIN_INDEXED_LENGTH = 3

_SPACES = re.compile(r"\s+")
_PLAIN_LETTERS = str.maketrans(
    {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ß": "ss", "æ": "ae"}
)


def fold(text: str | None) -> str:
    """'  São  PAULO ' -> 'sao paulo': accents removed, case folded, whitespace collapsed."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    # Control characters (NUL among them, which PostgreSQL refuses) never belong in a search.
    unaccented = "".join(
        char for char in decomposed if not unicodedata.combining(char) and unicodedata.category(char) != "Cc"
    )
    # A few letters have no decomposition but an obvious plain spelling.
    unaccented = unaccented.translate(_PLAIN_LETTERS)
    return _SPACES.sub(" ", unaccented.casefold()).strip()


# --- What is searched --------------------------------------------------------------------------------------

#: Table name -> the function giving a row's searched parts (for tables registered by keep_search_text()).
_COMPOSERS: dict[str, Callable] = {}
#: Every searched table (each with an integer `id` and a `search_text` column).
SEARCHED_TABLES: list[str] = []


def register(table_name: str) -> None:
    """Name a table as searched: create_all() makes its index objects (see `install`)."""
    if table_name not in SEARCHED_TABLES:
        SEARCHED_TABLES.append(table_name)


def search_text_for(*parts: object) -> str:
    """The folded text a row is found by, from its searched parts (None and "" left out)."""
    return fold(" ".join(str(part) for part in parts if part not in (None, "")))


def keep_search_text(model, parts: Callable[[object], Iterable[object]]) -> None:
    """Keep `model.search_text` equal to search_text_for(*parts(row)) on every ORM insert and update."""
    table_name = model.__table__.name
    register(table_name)
    _COMPOSERS[table_name] = parts

    def refresh(mapper, connection, target) -> None:
        text = search_text_for(*parts(target))
        if target.search_text != text:
            target.search_text = text

    event.listen(model, "before_insert", refresh)
    event.listen(model, "before_update", refresh)


class _Row:
    """A dict read as attributes (a missing key reads as None), for the parts functions."""

    def __init__(self, row: dict):
        self._row = row

    def __getattr__(self, name: str):
        return self._row.get(name)


def add_search_text(table_name: str, rows: list[dict]) -> None:
    """For bulk inserts that bypass the model: give each row (without one) the search_text the model would."""
    parts = _COMPOSERS.get(table_name)
    if parts is None:
        return
    for row in rows:
        if "search_text" not in row:
            row["search_text"] = search_text_for(*parts(_Row(row)))


# --- The index objects -------------------------------------------------------------------------------------


def postgresql_statements(table: str) -> list[str]:
    return [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        f"CREATE INDEX IF NOT EXISTS search_{table}_trgm ON {table} USING gin (search_text gin_trgm_ops)",
    ]


def sqlite_statements(table: str) -> list[str]:
    fts = f"search_{table}"
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5("
        f"search_text, content='{table}', content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF search_text ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
        # Index whatever the table already holds (a migration on a database with rows).
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def create_search_objects(connection: Connection, table: str) -> None:
    """Create the index (PostgreSQL) or the FTS5 table and its triggers (SQLite) for one searched table."""
    statements = {"postgresql": postgresql_statements, "sqlite": sqlite_statements}[connection.dialect.name](
        table
    )
    for statement in statements:
        connection.exec_driver_sql(statement)


def drop_search_objects(connection: Connection, table: str) -> None:
    """Drop the index objects of one searched table (its column stays)."""
    if connection.dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS search_{table}_{trigger}")
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS search_{table}")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS search_{table}_trgm")


def fill_search_text(connection: Connection, table: str, columns: list[str], batch: int = 5000) -> None:
    """Set `search_text` of every row from `columns` (a migration adding search to a table with rows)."""
    source = sa.table(table, sa.column("id"), sa.column("search_text"), *(sa.column(c) for c in columns))
    rows = connection.execute(sa.select(source.c.id, *(source.c[c] for c in columns))).all()
    update = sa.update(source).where(source.c.id == sa.bindparam("row_id"))
    update = update.values(search_text=sa.bindparam("text"))
    values = [{"row_id": row[0], "text": search_text_for(*row[1:])} for row in rows]
    for offset in range(0, len(values), batch):
        connection.execute(update, values[offset : offset + batch])


def _after_create(target: sa.Table, connection: Connection, **kw) -> None:
    create_search_objects(connection, target.name)


def _before_drop(target: sa.Table, connection: Connection, **kw) -> None:
    drop_search_objects(connection, target.name)


def install(metadata: sa.MetaData) -> None:
    """Create and drop the search objects with their tables in create_all() and drop_all() (tests, bench)."""
    for name in SEARCHED_TABLES:
        table = metadata.tables[name]
        if not event.contains(table, "after_create", _after_create):
            event.listen(table, "after_create", _after_create)
            event.listen(table, "before_drop", _before_drop)


# --- The query ---------------------------------------------------------------------------------------------


def like_pattern(query: str) -> str:
    """The query folded into a LIKE pattern that matches it anywhere (% and _ taken literally)."""
    escaped = fold(query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _dialect_name(dialect: str | None) -> str:
    if dialect:
        return dialect
    from ..extensions import db

    return db.session.get_bind().dialect.name


def matching_ids(table: sa.Table, query: str, dialect: str | None = None) -> sa.Select:
    """SELECT id FROM `table` WHERE its folded text contains the folded query, through the index."""
    folded = fold(query)
    if _dialect_name(dialect) == "sqlite" and len(folded) >= MIN_INDEXED_LENGTH:
        # FTS5 serves only the two-argument LIKE: no ESCAPE, so a literal % or _ widens the match a little.
        fts = sa.table(f"search_{table.name}", sa.column("rowid"), sa.column("search_text"))
        return sa.select(fts.c.rowid).where(fts.c.search_text.like(f"%{folded}%"))
    return sa.select(table.c.id).where(_column_matches(table, query))


#: A search through a related table reads that table's matching ids first and names them in the condition,
#: up to this many; beyond it (a very short query) the condition keeps the subquery.
RELATED_IDS_LISTED = 1_000


def matches(
    table: sa.Table,
    query: str,
    related: Iterable[tuple[sa.ColumnElement, sa.Table]] = (),
    dialect: str | None = None,
) -> sa.ColumnElement[bool]:
    """A condition on `table`'s rows: its folded text contains the folded query, or one of its foreign keys
    points at a row of a related searched table whose text does (`related`: (foreign key, table) pairs, as
    (Invoice.member_id, Member.__table__) finds invoices by their member's name).

    One table, one condition (an OR that each database answers from an index per branch: a trigram bitmap
    and a foreign-key bitmap on PostgreSQL, a multi-index OR on SQLite), rather than `id IN (a UNION of id
    selects)`, which PostgreSQL answered by reading the whole table to join it with the union. The related
    tables' matching ids are read first, in one query each, and written into the condition: the planner
    then knows how many rows they stand for (a subquery's ids it can only guess). A list paged by such a
    condition should find its rows before ordering them (common/pagination.py, `searched=True`)."""
    dialect = _dialect_name(dialect)
    branches = [table.c.id.in_(matching_ids(table, query, dialect))]
    if dialect == "postgresql" or len(fold(query)) < MIN_INDEXED_LENGTH:
        branches = [_column_matches(table, query)]
    for foreign_key, related_table in related:
        related_ids = matching_ids(related_table, query, dialect)
        listed = _listed_ids(related_ids)
        branches.append(foreign_key.in_(listed if listed is not None else related_ids))
    return sa.or_(*branches)


def _column_matches(table: sa.Table, query: str) -> sa.ColumnElement[bool]:
    return table.c.search_text.like(like_pattern(query), escape="\\")


def _listed_ids(ids: sa.Select) -> list[int] | None:
    """The ids a select finds, or None when there are more than RELATED_IDS_LISTED."""
    from ..extensions import db

    found = list(db.session.scalars(ids.limit(RELATED_IDS_LISTED + 1)))
    return found if len(found) <= RELATED_IDS_LISTED else None


def is_searchable(query: str | None) -> bool:
    """Whether a typed query searches at all (not empty once folded)."""
    return bool(fold(query))
