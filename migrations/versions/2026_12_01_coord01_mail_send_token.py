"""The one-time token of the send form that asked for a message, unique, so that a second click on the same
button (or a browser retrying the POST) is recognised and sends nothing more. Earlier messages have none.

Revision ID: coord01
Revises: dpages01
Create Date: 2026-12-01 20:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "coord01"
down_revision = "dpages01"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("mail_messages", sa.Column("send_token", sa.String(length=64), nullable=True))
    op.create_index("ix_mail_messages_send_token", "mail_messages", ["send_token"], unique=True)


def downgrade():
    op.drop_index("ix_mail_messages_send_token", table_name="mail_messages")
    with op.batch_alter_table("mail_messages") as batch_op:
        batch_op.drop_column("send_token")
