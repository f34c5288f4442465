"""Donors pages at scale: the organisation list's order, an organisation's newest interactions and a user's open
next steps are read from indexes instead of sorted or scanned.

Revision ID: b9dsc0001
Revises: c12tot0001
Create Date: 2026-12-01 14:30:00

"""

import sqlalchemy as sa
from alembic import op

OPEN_STEPS = "next_step_done_at IS NULL AND next_step <> ''"

revision = "b9dsc0001"
down_revision = "c12tot0001"
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    if _sqlite():  # on PostgreSQL a search would walk it instead of the trigram index
        op.create_index("ix_organisations_list_order", "organisations", ["search_text", "id"], unique=False)
    op.create_index(
        "ix_interactions_organisation_recent",
        "interactions",
        ["organisation_id", "occurred_on", "id"],
        unique=False,
    )
    op.create_index(
        "ix_interactions_open_next_steps_due",
        "interactions",
        ["next_step_owner_id", "next_step_due_on", "id"],
        unique=False,
        sqlite_where=sa.text(OPEN_STEPS),
        postgresql_where=sa.text(OPEN_STEPS),
    )
    # Replaced by the partial index (the planners misjudged it: most rows are done steps).
    op.drop_index("ix_interactions_open_next_steps", table_name="interactions")


def downgrade():
    op.create_index(
        "ix_interactions_open_next_steps",
        "interactions",
        ["next_step_owner_id", "next_step_done_at", "next_step_due_on"],
        unique=False,
    )
    op.drop_index("ix_interactions_open_next_steps_due", table_name="interactions")
    op.drop_index("ix_interactions_organisation_recent", table_name="interactions")
    if _sqlite():
        op.drop_index("ix_organisations_list_order", table_name="organisations")
