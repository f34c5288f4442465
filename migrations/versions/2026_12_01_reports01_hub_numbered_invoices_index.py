"""A partial index of each hub's numbered invoices, so that the hub's page counts what it issued from the
index alone instead of reading every invoice of the hub.

Revision ID: reports01
Revises: e12srch02
Create Date: 2026-12-01 17:05:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "reports01"
down_revision = "e12srch02"
branch_labels = None
depends_on = None

NUMBERED = sa.text("number IS NOT NULL")


def upgrade():
    op.create_index(
        "ix_invoices_hub_numbered", "invoices", ["hub_id"], sqlite_where=NUMBERED, postgresql_where=NUMBERED
    )


def downgrade():
    op.drop_index("ix_invoices_hub_numbered", table_name="invoices")
