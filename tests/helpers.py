"""Helpers that tests of several areas read pages with."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.extensions import db


def count_queries(client, url: str) -> int:
    """How many SQL statements answering `url` runs (the page must answer 200)."""
    statements = []

    def seen(*args, **kwargs):
        statements.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        response = client.get(url)
        assert response.status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    return len(statements)


def visible_text(html: str) -> str:
    """What a reader sees: the page without its tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())
