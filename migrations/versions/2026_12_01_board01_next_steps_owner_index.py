"""The plain index on interactions.next_step_owner_id goes: the partial index of open next steps
(ix_interactions_open_next_steps_due, owner first) serves every query by owner, but SQLite without
statistics picked the plain one and read 20,000 rows of a 1,000,000-row table for one user's 2,000 open
steps ("my next steps" and the donors landing: 300 ms a query). The app never deletes a user, the only other
reader of that index (ON DELETE SET NULL).

Revision ID: board01
Revises: reports01
Create Date: 2026-12-01 17:05:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "board01"
down_revision = "reports01"
branch_labels = None
depends_on = None

def upgrade():
    op.drop_index("ix_interactions_next_step_owner_id", table_name="interactions")


def downgrade():
    op.create_index("ix_interactions_next_step_owner_id", "interactions", ["next_step_owner_id"], unique=False)
