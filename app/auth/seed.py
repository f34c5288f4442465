"""Demo users, one per role (called first by `flask seed-demo`)."""

import sqlalchemy as sa

from ..extensions import db
from .models import User
from .services import create_user

DEMO_USERS = [
    ("admin@example.org", "Ada Admin", "admin"),
    ("fundraising@example.org", "Fatima Fundraiser", "fundraising"),
    ("operations@example.org", "Oscar Operations", "operations"),
    ("board@example.org", "Beatriz Board", "board"),
]


def seed_demo(password: str) -> int:
    """The four demo users; existing ones are left as they are."""
    created = 0
    for email, name, role in DEMO_USERS:
        if db.session.scalar(sa.select(User.id).where(User.email == email)) is None:
            create_user(email, name, role, password)
            created += 1
    return created
