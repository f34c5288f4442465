"""Users: `make_user`, and the password every built user has."""

from __future__ import annotations

import itertools

import pytest

from app.auth.models import User
from app.auth.passwords import hash_password
from app.auth.permissions import Role
from app.extensions import db

PASSWORD = "correct horse battery staple"

_emails = itertools.count(1)


@pytest.fixture
def make_user():
    """Build a user: make_user(role="operations", email=..., full_name=..., password=...)."""

    def build(role: Role | str = Role.OPERATIONS, **overrides) -> User:
        number = next(_emails)
        password = overrides.pop("password", PASSWORD)
        user = User(
            email=overrides.pop("email", f"user{number}@example.org"),
            full_name=overrides.pop("full_name", f"User {number}"),
            role=Role(role),
            password_hash=hash_password(password),
            **overrides,
        )
        db.session.add(user)
        db.session.flush()
        return user

    return build
