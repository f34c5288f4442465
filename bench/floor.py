"""The floor every page is compared with: a minimal Flask route running one indexed query and rendering a
50-row table, on the same database as the app.

    gunicorn 'bench.floor:create_floor_app()'   (FLOOR_DATABASE_URL names the database)

Its table, `bench_floor_rows` (10,000 rows, an index on (category, id)), is not part of the app's schema:
`prepare_floor()` makes it beside the benchmark data.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask, render_template_string, request

FLOOR_ROWS = 10_000
CATEGORIES = 20

metadata = sa.MetaData()
floor_rows = sa.Table(
    "bench_floor_rows",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("category", sa.Integer, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("amount", sa.Numeric(14, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("created_on", sa.Date, nullable=False),
    sa.Index("ix_bench_floor_rows_category_id", "category", "id"),
)

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Floor</title></head>
<body><main><h1>Floor: category {{ category }}</h1>
<table>
  <thead><tr><th>#</th><th>Name</th><th>Date</th><th>Amount</th></tr></thead>
  <tbody>
  {%- for row in rows %}
    <tr><td>{{ row.id }}</td><td><a href="/floor/{{ row.id }}">{{ row.name }}</a></td>
        <td>{{ row.created_on.isoformat() }}</td><td>{{ row.amount }} {{ row.currency }}</td></tr>
  {%- endfor %}
  </tbody>
</table></main></body></html>"""


def prepare_floor(engine: sa.Engine) -> None:
    """(Re)create the floor's table with its rows."""
    metadata.drop_all(engine)
    metadata.create_all(engine)
    start = date(2024, 1, 1)
    rows = [
        dict(
            id=number,
            category=number % CATEGORIES,
            name=f"Row {number:05d} of the floor table",
            amount=Decimal(number % 5000) + Decimal("0.25"),
            currency="USD" if number % 2 else "EUR",
            created_on=start + timedelta(days=number % 700),
        )
        for number in range(1, FLOOR_ROWS + 1)
    ]
    with engine.begin() as connection:
        for offset in range(0, len(rows), 5000):
            connection.execute(floor_rows.insert(), rows[offset : offset + 5000])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE bench_floor_rows")


def ensure_floor(database_url: str) -> None:
    """Make the floor's table unless it is there already."""
    engine = sa.create_engine(database_url)
    try:
        if not sa.inspect(engine).has_table(floor_rows.name):
            prepare_floor(engine)
    finally:
        engine.dispose()


def create_floor_app(database_url: str | None = None) -> Flask:
    """The floor as a WSGI app: GET /floor?category=N answers a 50-row table."""
    url = database_url or os.environ["FLOOR_DATABASE_URL"]
    engine = sa.create_engine(url, pool_pre_ping=True)
    app = Flask(__name__)
    query = (
        sa.select(floor_rows.c.id, floor_rows.c.name, floor_rows.c.amount, floor_rows.c.currency,
                  floor_rows.c.created_on)
        .where(floor_rows.c.category == sa.bindparam("category"))
        .order_by(floor_rows.c.id)
        .limit(50)
    )  # fmt: skip

    @app.get("/floor")
    def floor():
        category = request.args.get("category", 7, type=int) % CATEGORIES
        with engine.connect() as connection:
            rows = connection.execute(query, {"category": category}).all()
        return render_template_string(TEMPLATE, rows=rows, category=category)

    app.extensions["bench_floor_engine"] = engine
    return app
