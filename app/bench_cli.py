"""`flask bench ...`: the benchmark suite's commands (bench/ at the top of the repository holds the code).

Registered by create_app() and imported by no area: the generator reads every area's models, so it sits
above them all.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

bench_cli = AppGroup("bench", help="Benchmark data and tools.")


@bench_cli.command("seed")
@click.option(
    "--scale", type=float, default=1.0, show_default=True, help="1: the real size; 10: the targets."
)
@click.option("--database-url", help="Fill this database instead of the app's (its tables are recreated).")
@click.option("--seed", "random_seed", type=int, default=20261128, show_default=True, help="Random seed.")
@click.option("--yes", is_flag=True, help="Do not ask before dropping the tables.")
def seed_command(scale: float, database_url: str | None, random_seed: int, yes: bool) -> None:
    """Drop and recreate every table, then fill them with a data set of the given scale."""
    import sqlalchemy as sa
    from flask import current_app

    from app.extensions import db
    from bench.seed import analyze, seed

    url = database_url or current_app.config["SQLALCHEMY_DATABASE_URI"]
    shown = sa.make_url(url).render_as_string(hide_password=True)
    if not yes:
        click.confirm(f"Drop every table of {shown} and fill it at scale {scale:g}?", abort=True)
    engine = sa.create_engine(url) if database_url else db.engine
    try:
        from app.common import sqlite

        sqlite.configure(engine)
        db.metadata.drop_all(engine)
        db.metadata.create_all(engine)
        with engine.begin() as connection:
            data = seed(connection, scale, random_seed)
        analyze(engine)
    finally:
        if database_url:
            engine.dispose()
    click.echo(f"{shown}: {data.summary()}")
