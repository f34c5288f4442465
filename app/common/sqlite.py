"""SQLite, the embedded default, made to behave: foreign keys on, and real transactions with savepoints.

pysqlite's own transaction handling starts transactions late and breaks SAVEPOINT; the SQLAlchemy recipe
("Serializable isolation / Savepoints / Transactional DDL") hands control back to SQLAlchemy.

Table hints given for SQLite (`select.with_hint(table, "INDEXED BY ix_name", "sqlite")`) are written after
the table's name: SQLAlchemy's SQLite compiler drops them otherwise. Without statistics SQLite can prefer an
equality index and sort every row where a partial index would read a page in order.
"""

from sqlalchemy import event
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Engine


def _from_hint_text(self, table, text):
    return text


SQLiteCompiler.get_from_hint_text = _from_hint_text


def configure(engine: Engine) -> None:
    if engine.dialect.name != "sqlite" or getattr(engine, "_tributary_configured", False):
        return
    engine._tributary_configured = True

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN")
