"""`flask seed-demo`: idempotent demo data. Each area adds its own step to DEMO_STEPS."""

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from .audit import acting_as

DEMO_USERS = [
    ("admin@example.org", "Ada Admin", "admin"),
    ("fundraising@example.org", "Fatima Fundraiser", "fundraising"),
    ("operations@example.org", "Oscar Operations", "operations"),
    ("board@example.org", "Beatriz Board", "board"),
]


def seed_users(password: str) -> int:
    """The four demo users, one per role; existing ones are left as they are."""
    from ..auth.models import User
    from ..auth.services import create_user

    created = 0
    for email, name, role in DEMO_USERS:
        if db.session.scalar(sa.select(User.id).where(User.email == email)) is None:
            create_user(email, name, role, password)
            created += 1
    return created


def demo_steps():
    """Each area's seeding step, in dependency order: users, hubs, donors, then contributions (billed from
    hubs, its members linked to donor organisations)."""
    from ..contributions.seed import seed_demo as seed_contributions
    from ..donors.seed import seed_demo as seed_donors
    from ..hubs.seed import seed_demo as seed_hubs

    return [
        ("users", lambda: seed_users(current_app.config["DEMO_PASSWORD"])),
        ("hubs", seed_hubs),
        ("donors", seed_donors),
        ("contributions", seed_contributions),
    ]


def seed_demo() -> dict[str, int]:
    """Run every step; each one checks what exists, so running twice adds nothing."""
    results = {}
    with acting_as(label="seed-demo"):
        for name, step in demo_steps():
            results[name] = step()
            db.session.flush()
    return results


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Add the demo data (idempotent)."""
    results = seed_demo()
    db.session.commit()
    summary = ", ".join(f"{name}: {count}" for name, count in results.items())
    click.echo(f"Demo data ready ({summary} added).")
