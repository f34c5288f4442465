"""An index of the open invoices in the invoice list's order (issue date, id), with their due date and status,
so that the list's overdue filter reads a page's ids from the newest open invoices backwards instead of
sorting every overdue invoice on each request.

Revision ID: lists01
Revises: board01
Create Date: 2026-12-01 17:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "lists01"
down_revision = "board01"
branch_labels = None
depends_on = None

#: As app.contributions.totals.OPEN_INVOICE: the open statuses, as a literal both databases match.
OPEN_INVOICE = "invoices.status IN ('issued', 'partially_paid')"


def upgrade():
    op.create_index(
        "ix_invoices_open_list_order",
        "invoices",
        ["issued_on", "id", "due_on", "status"],
        sqlite_where=sa.text(OPEN_INVOICE),
        postgresql_where=sa.text(OPEN_INVOICE),
    )


def downgrade():
    op.drop_index("ix_invoices_open_list_order", table_name="invoices")
