"""Donors' searched tables: organisations (by name) and contacts (by name and e-mail).

The search itself (folding, the PostgreSQL trigram indexes and SQLite FTS5 tables, the query) is the common
one, app/common/search.py; the models keep their `search_text` (see models.py).
"""

from __future__ import annotations

from ..common.search import matching_ids, register

__all__ = ["SEARCHED_TABLES", "matching_ids"]

SEARCHED_TABLES = ("organisations", "contacts")
for _table in SEARCHED_TABLES:
    register(_table)
