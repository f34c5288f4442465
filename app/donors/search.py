"""Substring search over organisations and contacts, fast at 50,000 organisations and 200,000 contacts.

Both tables keep `search_text`, a folded copy (unaccented, case-folded) of what is searched, set by the model.
On PostgreSQL a pg_trgm GIN index serves `search_text LIKE '%...%'`. On SQLite (3.40 here, whose trigram
tokenizer cannot remove diacritics) an FTS5 trigram table over the folded copy, kept by triggers, serves the
same LIKE through its index. Trigrams need three characters: shorter queries read the column itself.

The objects are named `search_*`, which tells Alembic's autogenerate to leave them alone (migrations/env.py);
the migration creates them with the same statements as `create_search_objects()`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection

from .text import fold

#: The tables searched, each with a `search_text` column and an integer `id`.
SEARCHED_TABLES = ("organisations", "contacts")
MIN_INDEXED_LENGTH = 3


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
    """Drop the SQLite FTS5 table (its triggers and the PostgreSQL index go with the base table)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS search_{table}")


def _after_create(target: sa.Table, connection: Connection, **kw) -> None:
    create_search_objects(connection, target.name)


def _before_drop(target: sa.Table, connection: Connection, **kw) -> None:
    drop_search_objects(connection, target.name)


def install(metadata: sa.MetaData) -> None:
    """Create and drop the search objects with their tables in create_all() and drop_all() (tests)."""
    for name in SEARCHED_TABLES:
        table = metadata.tables[name]
        if not event.contains(table, "after_create", _after_create):
            event.listen(table, "after_create", _after_create)
            event.listen(table, "before_drop", _before_drop)


def like_pattern(query: str) -> str:
    """The query folded into a LIKE pattern that matches it anywhere (% and _ taken literally)."""
    folded = fold(query)
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matching_ids(table: sa.Table, query: str, dialect: str) -> sa.Select:
    """SELECT id FROM `table` WHERE its folded text contains the folded query, through the index."""
    if dialect == "sqlite" and len(fold(query)) >= MIN_INDEXED_LENGTH:
        # FTS5 serves only the two-argument LIKE: no ESCAPE, so a literal % or _ widens the match a little.
        fts = sa.table(f"search_{table.name}", sa.column("rowid"), sa.column("search_text"))
        return sa.select(fts.c.rowid).where(fts.c.search_text.like(f"%{fold(query)}%"))
    pattern = like_pattern(query)
    return sa.select(table.c.id).where(table.c.search_text.like(pattern, escape="\\"))
