"""Acknowledgement letters e-mailed through the common mail log: which message carried which letter.

Revision ID: d3a1lettermsg
Revises: p1b0pipe0002
Create Date: 2026-12-01 12:03:45.865288

"""

import sqlalchemy as sa
from alembic import op

revision = "d3a1lettermsg"
down_revision = "p1b0pipe0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "acknowledgement_letter_messages",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["acknowledgement_letters.id"],
            name=op.f("fk_acknowledgement_letter_messages_letter_id_acknowledgement_letters"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["mail_messages.id"],
            name=op.f("fk_acknowledgement_letter_messages_message_id_mail_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_acknowledgement_letter_messages")),
    )
    op.create_index(
        op.f("ix_acknowledgement_letter_messages_letter_id"),
        "acknowledgement_letter_messages",
        ["letter_id"],
        unique=False,
    )


def downgrade():
    op.drop_index(
        op.f("ix_acknowledgement_letter_messages_letter_id"), table_name="acknowledgement_letter_messages"
    )
    op.drop_table("acknowledgement_letter_messages")
