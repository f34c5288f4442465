"""PostgreSQL keeps its prepared statements between requests; what a transaction wrote still rolls back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import ProgrammingError

from app.auth.models import User
from app.extensions import db

pytestmark = pytest.mark.real_commits


@pytest.fixture(autouse=True)
def postgresql_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("prepared statements and psycopg are a PostgreSQL matter")


def _prepared_statements(connection) -> int:
    return connection.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar()


def _read_users(connection) -> None:
    connection.execute(sa.select(User.id).where(User.email == "nobody@example.org")).all()


def test_prepared_statements_outlive_transactions_that_only_read():
    with db.engine.connect() as connection:
        for _ in range(8):  # as eight requests on one pooled connection, each ending with a rollback
            _read_users(connection)
            connection.rollback()
        assert _prepared_statements(connection) >= 1


def test_a_transaction_that_wrote_is_still_rolled_back(make_user):
    with db.engine.connect() as connection:
        for _ in range(6):
            _read_users(connection)
            connection.rollback()
        connection.execute(
            sa.insert(User).values(
                email="rolled-back@example.org", full_name="Never", role="board", password_hash="x"
            )
        )
        connection.rollback()
    with db.engine.connect() as other:
        found = other.execute(sa.select(User.id).where(User.email == "rolled-back@example.org")).all()
    assert found == []


def test_a_failed_transaction_is_rolled_back_and_the_connection_serves_again():
    with db.engine.connect() as connection:
        with pytest.raises(ProgrammingError):
            connection.exec_driver_sql("SELECT no_such_column FROM users")
        connection.rollback()
        assert connection.exec_driver_sql("SELECT 1").scalar() == 1


def test_a_pooled_connection_given_back_after_reading_is_clean():
    with db.engine.connect() as connection:
        _read_users(connection)
    with db.engine.connect() as connection:
        status = connection.connection.dbapi_connection.info.transaction_status
        assert status == connection.connection.dbapi_connection.info.transaction_status.IDLE
