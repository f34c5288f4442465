"""Credit notes keep the balance their PDF prints ("balance due on the invoice after this credit note"), taken
when the note is issued, so that the PDF can be rendered after the issuing transaction commits (as invoices
are) and still print the balance of that moment.

Notes issued before this revision keep a null balance: their PDF was rendered and stored in the transaction
that issued them, and is never rendered again (the balance of that moment cannot be recovered exactly once
payments have moved since).

Revision ID: issue01
Revises: coord01
Create Date: 2026-12-01 20:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "issue01"
down_revision = "coord01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("credit_notes") as batch_op:
        batch_op.add_column(sa.Column("balance_after", sa.Numeric(14, 2), nullable=True))


def downgrade():
    with op.batch_alter_table("credit_notes") as batch_op:
        batch_op.drop_column("balance_after")
