"""Indexed searches of members, invoices, payments and the audit log (the common search, app/common/search.py).

Each table gets `search_text`, the folded (unaccented, case-folded) copy of what is searched, filled here for
the rows already there; then, as for the donors' tables, a pg_trgm GIN index on PostgreSQL, or on SQLite an
FTS5 trigram table kept by triggers (filled from the existing rows). Objects named search_* are left alone by
autogenerate (migrations/env.py).

Revision ID: e12srch01
Revises: b9dsc0001
Create Date: 2026-12-01 13:40:00

"""

import sqlalchemy as sa
from alembic import op

from app.common.search import create_search_objects, drop_search_objects, fill_search_text

# revision identifiers, used by Alembic.
revision = "e12srch01"
down_revision = "b9dsc0001"
branch_labels = None
depends_on = None

#: Each newly searched table and the columns its folded text is made of, in the models' order.
SEARCHED = {
    "members": ["name"],
    "invoices": ["number"],
    "payments": ["reference"],
    "audit_entries": ["record_type", "record_id", "record_label"],
}


def upgrade():
    connection = op.get_bind()
    for table, columns in SEARCHED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
        fill_search_text(connection, table, columns)
        create_search_objects(connection, table)


def downgrade():
    connection = op.get_bind()
    for table in reversed(SEARCHED):
        drop_search_objects(connection, table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("search_text")
