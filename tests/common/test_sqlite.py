"""SQLite with several processes writing at once: writing transactions take the write lock at BEGIN (and so
queue on the busy timeout instead of failing with "database is locked"), reads do not, and a file database is
in WAL mode. Each test makes its own file database, so they run whatever TEST_DATABASE_URL says."""

from __future__ import annotations

import threading
import time

import click
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.common import sqlite


@pytest.fixture
def file_engine(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'writers.sqlite'}")
    sqlite.configure(engine)
    sqlite.use_wal(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE counters (id INTEGER PRIMARY KEY, value INTEGER)")
        connection.exec_driver_sql("INSERT INTO counters VALUES (1, 0)")
    yield engine
    engine.dispose()


def begins(engine, run) -> list[str]:
    """The BEGIN statements `run(connection)` makes SQLAlchemy emit."""
    seen = []

    def record(connection, cursor, statement, *args):
        if statement.startswith("BEGIN"):
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.connect() as connection:
            run(connection)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen


def read(connection):
    connection.execute(sa.text("SELECT value FROM counters")).all()
    connection.rollback()


def test_a_file_database_is_in_wal_mode(file_engine):
    with file_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_an_autocommit_connection_keeps_what_it_does(file_engine):
    # bench.seed's ANALYZE runs so; a BEGIN of ours would have left it uncommitted, and lost.
    with file_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")
    with file_engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM sqlite_stat1").scalar() > 0


def test_a_post_takes_the_write_lock_at_begin_and_a_get_does_not(app, file_engine):
    with app.test_request_context("/", method="POST"):
        assert begins(file_engine, read) == ["BEGIN IMMEDIATE"]
    with app.test_request_context("/", method="GET"):
        assert begins(file_engine, read) == ["BEGIN"]


def test_a_command_takes_the_write_lock_and_a_script_asks_for_it(file_engine):
    with click.Context(click.Command("annual-run")):
        assert begins(file_engine, read) == ["BEGIN IMMEDIATE"]
    assert begins(file_engine, read) == ["BEGIN"]

    def asks_first(connection):
        with Session(bind=file_engine) as session:
            sqlite.begin_writing(session)
            session.execute(sa.text("SELECT value FROM counters")).all()

    assert begins(file_engine, asks_first) == ["BEGIN IMMEDIATE"]


def test_a_post_can_read_without_the_write_lock_when_it_asks(app, file_engine):
    # The issue view reads what its PDF needs after its commit: that read need not hold off every writer.
    def asks_to_read(connection):
        with Session(bind=file_engine) as session:
            sqlite.begin_reading(session)
            session.execute(sa.text("SELECT value FROM counters")).all()
            session.rollback()
            session.execute(sa.text("SELECT value FROM counters")).all()  # the next one writes as a POST does

    with app.test_request_context("/", method="POST"):
        assert begins(file_engine, asks_to_read) == ["BEGIN", "BEGIN IMMEDIATE"]


def test_writers_that_read_first_queue_instead_of_failing_with_database_is_locked(app, file_engine):
    errors = []

    def press_issue():
        # As the issue view does: read, then write, in one POST; the other writers are at the same point.
        try:
            with app.test_request_context("/", method="POST"), file_engine.connect() as connection:
                value = connection.execute(sa.text("SELECT value FROM counters WHERE id = 1")).scalar_one()
                time.sleep(0.05)
                connection.execute(
                    sa.text("UPDATE counters SET value = :value WHERE id = 1"), {"value": value + 1}
                )
                connection.commit()
        except Exception as error:  # noqa: BLE001 - reported by the test's thread
            errors.append(error)

    writers = [threading.Thread(target=press_issue) for _ in range(6)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()

    assert errors == []
    with file_engine.connect() as connection:
        # Each read what the one before wrote: no lost update either.
        assert connection.execute(sa.text("SELECT value FROM counters")).scalar_one() == 6
