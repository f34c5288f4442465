"""PostgreSQL, made to keep what it learns between requests.

psycopg prepares a statement on the server once it has run five times on a connection, so that PostgreSQL
parses and plans it once instead of on every request (the planning of a list's joins costs about as much as
running them). But psycopg forgets every prepared statement at each ROLLBACK (and deallocates them with one
more round trip), and every request ends with one: the session is closed at the end of the request, which
rolls back, and the pool rolls back what it is given back. So nothing was ever prepared.

A transaction that ran only SELECT statements changed nothing: ending it with COMMIT is the same as ending
it with ROLLBACK (READ COMMITTED, no SET, no function with side effects in any SELECT here), and psycopg keeps
its prepared statements across a COMMIT. So such a transaction ends with COMMIT; one that ran anything else
(an INSERT, an UPDATE, a DELETE, a SAVEPOINT, DDL, a LOCK, a SET), or whose last statement failed, still
rolls back.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

#: Set in a connection's info while its transaction has run a statement that is not a plain SELECT.
WROTE = "tributary_wrote"


def _is_plain_read(statement: str) -> bool:
    return statement.lstrip()[:6].upper() == "SELECT"


def configure(engine: Engine) -> None:
    if engine.dialect.name != "postgresql" or getattr(engine, "_tributary_configured", False):
        return
    engine._tributary_configured = True
    dialect = engine.dialect
    rollback, commit = dialect.do_rollback, dialect.do_commit
    in_transaction = dialect.dbapi.pq.TransactionStatus.INTRANS

    @event.listens_for(engine, "before_cursor_execute")
    def note_writes(connection, cursor, statement, parameters, context, executemany):
        if not _is_plain_read(statement):
            connection.info[WROTE] = True

    def do_rollback(dbapi_connection) -> None:
        if not _wrote(dbapi_connection) and _status(dbapi_connection) == in_transaction:
            try:
                commit(dbapi_connection)
                return
            except dialect.dbapi.Error:
                pass  # then as before: roll back
        rollback(dbapi_connection)

    def do_commit(dbapi_connection) -> None:
        _wrote(dbapi_connection)
        commit(dbapi_connection)

    dialect.do_rollback = do_rollback
    dialect.do_commit = do_commit


def _wrote(pooled_connection) -> bool:
    """Whether the connection's transaction ran anything but a SELECT; forgets it (the transaction ends)."""
    try:
        info = pooled_connection.info  # the pool's record of the connection, as Connection.info
    except (AttributeError, NotImplementedError):  # the engine's first connection has none
        return True
    return info.pop(WROTE, False) if isinstance(info, dict) else True


def _status(pooled_connection):
    return getattr(pooled_connection, "dbapi_connection", pooled_connection).info.transaction_status
