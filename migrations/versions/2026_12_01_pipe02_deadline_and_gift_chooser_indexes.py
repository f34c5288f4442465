"""Partial indexes of the deadlines page's two lists in their order (instalments not fully received by
expected date; deliverables to do or in progress by due date), so that a page's ids and the lists' counts
read only the rows the lists can show; and the donor's gifts by date, for the pledge page's chooser of the
latest gifts with money left.

Revision ID: pipe02
Revises: issue01
Create Date: 2026-12-01 20:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "pipe02"
down_revision = "issue01"
branch_labels = None
depends_on = None

#: As app.pipeline.services.deadlines: literals both databases match with the lists' queries.
NOT_FULLY_RECEIVED = "pledge_instalments.received_amount < pledge_instalments.amount"
NOT_SUBMITTED = "pledge_deliverables.status IN ('to_do', 'in_progress')"


def upgrade():
    op.create_index(
        "ix_pledge_instalments_late",
        "pledge_instalments",
        ["expected_on", "id"],
        sqlite_where=sa.text(NOT_FULLY_RECEIVED),
        postgresql_where=sa.text(NOT_FULLY_RECEIVED),
    )
    op.create_index(
        "ix_pledge_deliverables_open",
        "pledge_deliverables",
        ["due_on", "id"],
        sqlite_where=sa.text(NOT_SUBMITTED),
        postgresql_where=sa.text(NOT_SUBMITTED),
    )
    op.create_index("ix_gifts_organisation_received_on", "gifts", ["organisation_id", "received_on", "id"])


def downgrade():
    op.drop_index("ix_gifts_organisation_received_on", table_name="gifts")
    op.drop_index("ix_pledge_deliverables_open", table_name="pledge_deliverables")
    op.drop_index("ix_pledge_instalments_late", table_name="pledge_instalments")
