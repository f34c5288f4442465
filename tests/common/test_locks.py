"""Lock these rows, then read them again: the second writer waits and decides on what the first committed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from app.auth.models import User
from app.common.locks import lock_and_refresh
from app.extensions import db


def test_a_locked_record_is_read_again_as_the_database_has_it(make_user):
    user = make_user(full_name="Before")
    db.session.execute(
        sa.update(User).where(User.id == user.id).values(full_name="After"),
        execution_options={"synchronize_session": False},  # as another transaction's change would be
    )
    assert user.full_name == "Before"  # what this session read earlier

    lock_and_refresh(user)

    assert user.full_name == "After"


def test_pending_changes_are_flushed_before_the_lock(make_user):
    user = make_user(full_name="Before")
    user.full_name = "Changed here"
    lock_and_refresh(user)
    assert user.full_name == "Changed here"


@pytest.mark.real_commits
def test_on_postgresql_a_locked_row_cannot_be_locked_by_another_transaction(make_user):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter; SQLite serialises writers anyway")
    user = make_user()
    db.session.commit()
    lock_or_fail = sa.text("SELECT id FROM users WHERE id = :id FOR UPDATE NOWAIT")

    lock_and_refresh(user)
    with db.engine.connect() as other, pytest.raises(OperationalError, match="could not obtain lock"):
        other.execute(lock_or_fail, {"id": user.id})
    db.session.rollback()  # the lock ends with the transaction

    with db.engine.connect() as other:
        assert other.execute(lock_or_fail, {"id": user.id}).scalar() == user.id
