"""`flask seed-demo`: idempotent demo data, each area's step in dependency order.

It sits above the areas (each area seeds its own data in its `seed` module), so that `app/common` imports none
of them.
"""

import click
from flask import current_app
from flask.cli import with_appcontext

from .auth import seed as auth_seed
from .common.audit import acting_as
from .contributions import seed as contributions_seed
from .donors import seed as donors_seed
from .extensions import db
from .hubs import seed as hubs_seed
from .pipeline import seed as pipeline_seed


def demo_steps(earlier_pdfs: bool = True):
    """Each area's seeding step, in dependency order: users, hubs, donors, contributions (billed from hubs,
    its members linked to donor organisations), then the pipeline (asks to donors, and the plan)."""
    return [
        ("users", lambda: auth_seed.seed_demo(current_app.config["DEMO_PASSWORD"])),
        ("hubs", hubs_seed.seed_demo),
        ("donors", donors_seed.seed_demo),
        ("contributions", lambda: contributions_seed.seed_demo(earlier_pdfs=earlier_pdfs)),
        ("pipeline", pipeline_seed.seed_demo),
    ]


def seed_demo(earlier_pdfs: bool = True) -> dict[str, int]:
    """Run every step; each one checks what exists, so running twice adds nothing. `earlier_pdfs=False`
    leaves the earlier years' invoice PDFs to `flask contributions render-invoice-pdfs`."""
    results = {}
    with acting_as(label="seed-demo"):
        for name, step in demo_steps(earlier_pdfs):
            results[name] = step()
            db.session.flush()
    return results


@click.command("seed-demo")
@click.option(
    "--pdfs-later",
    is_flag=True,
    help="Issue the earlier years' invoices without rendering their PDFs now (about 130 of them): "
    "`flask contributions render-invoice-pdfs` stores them, as `make run` does once the app serves.",
)
@with_appcontext
def seed_demo_command(pdfs_later: bool) -> None:
    """Add the demo data (idempotent)."""
    results = seed_demo(earlier_pdfs=not pdfs_later)
    db.session.commit()
    summary = ", ".join(f"{name}: {count}" for name, count in results.items())
    click.echo(f"Demo data ready ({summary} added).")
