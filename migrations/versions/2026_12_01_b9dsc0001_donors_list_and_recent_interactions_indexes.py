"""Donors pages at scale: the organisation list's order and an organisation's newest interactions are read from
indexes instead of sorted.

Revision ID: b9dsc0001
Revises: d3a1lettermsg
Create Date: 2026-12-01 14:30:00

"""

from alembic import op

revision = "b9dsc0001"
down_revision = "d3a1lettermsg"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_organisations_list_order", "organisations", ["search_text", "id"], unique=False)
    op.create_index(
        "ix_interactions_organisation_recent",
        "interactions",
        ["organisation_id", "occurred_on", "id"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_interactions_organisation_recent", table_name="interactions")
    op.drop_index("ix_organisations_list_order", table_name="organisations")
