"""SQLite, the embedded default, made to behave: foreign keys on, real transactions with savepoints, and
writers that queue instead of failing with "database is locked".

pysqlite's own transaction handling starts transactions late and breaks SAVEPOINT; the SQLAlchemy recipe
("Enabling Transactions / Using SQLAlchemy to emit BEGIN in lieu of SQLite's transaction control": the
`connect` hook sets `isolation_level = None`, the `begin` hook emits BEGIN) hands control back to SQLAlchemy.

Several processes writing at once (gunicorn's workers, the annual run beside them): a transaction that reads
and then writes starts as a reader, and SQLite refuses its upgrade to a writer with SQLITE_BUSY at once,
without waiting, whenever another connection is writing or has written since the read began (the busy
timeout cannot help: waiting could deadlock). So a transaction that may write starts with BEGIN IMMEDIATE,
which takes the write lock first and waits for it (up to the busy timeout), and never has to upgrade:
- in a request, every method but GET, HEAD and OPTIONS (GET never changes state; the rare GET that stores
  something asks for it with `begin_writing`);
- in a `flask` command (the annual run, the demo data, imports), every transaction;
- elsewhere (scripts, benchmarks, tests) only when asked with `begin_writing`.
Read-only requests keep the plain BEGIN, so that readers never queue behind each other. In WAL mode
(`use_wal`, switched on by `flask db upgrade`; it is a property of the database file) readers never wait for
the writer nor it for them.

Table hints given for SQLite (`select.with_hint(table, "INDEXED BY ix_name", "sqlite")`) are written after
the table's name: SQLAlchemy's SQLite compiler drops them otherwise. Without statistics SQLite can prefer an
equality index and sort every row where a partial index would read a page in order.
"""

import click
from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, scoped_session

#: The execution option that makes a connection's next transaction begin IMMEDIATE (True) or not (False).
WRITE_LOCK_OPTION = "tributary_sqlite_write_lock"
#: Request methods that never write (GET never changes state).
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: How long a writer waits for the write lock before "database is locked", in milliseconds.
BUSY_TIMEOUT_MS = 10000


def _from_hint_text(self, table, text):
    return text


SQLiteCompiler.get_from_hint_text = _from_hint_text


def _takes_the_write_lock(connection: Connection) -> bool:
    chosen = connection.get_execution_options().get(WRITE_LOCK_OPTION)
    if chosen is not None:
        return chosen
    if has_request_context():
        return request.method not in READING_METHODS
    return click.get_current_context(silent=True) is not None


def configure(engine: Engine) -> None:
    if engine.dialect.name != "sqlite" or getattr(engine, "_tributary_configured", False):
        return
    engine._tributary_configured = True

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # each statement on its own: a BEGIN here would never be committed (ANALYZE was lost)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _takes_the_write_lock(connection) else "BEGIN")


def begin_writing(session: Session) -> None:
    """Begin the session's transaction now, holding SQLite's write lock from its start (PostgreSQL: nothing),
    for a transaction that writes where the default would not take it. No-op inside an open transaction."""
    if isinstance(session, scoped_session):
        session = session()
    bind = session.get_bind()
    # A session bound to a connection (a test's) has its transaction already: nothing to choose.
    if isinstance(bind, Engine) and bind.dialect.name == "sqlite" and not session.in_transaction():
        session.connection(execution_options={WRITE_LOCK_OPTION: True})


def begin_reading(session: Session) -> None:
    """Begin the session's transaction now without SQLite's write lock (PostgreSQL: nothing), for a read in a
    request that writes elsewhere (what a POST reads after its commit, before rendering a PDF, need not hold
    off every other writer). No-op inside an open transaction."""
    if isinstance(session, scoped_session):
        session = session()
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "sqlite" and not session.in_transaction():
        session.connection(execution_options={WRITE_LOCK_OPTION: False})


def use_wal(engine: Engine) -> None:
    """Switch a file database to WAL journaling (kept in the file): readers and the one writer stop waiting
    for each other. In-memory databases keep their own journal."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA journal_mode=WAL")
    finally:
        raw.close()
