"""The plan's kept totals (app/pipeline/plan_totals.py): the open pipeline per stage, the asks per stage,
pledge instalments, gifts net of what is applied to instalments, and contribution payments net of refunds,
per fiscal year, plan source and currency, in cents; backfilled from the records. Also the indexes that
tell whether any record is dated after a day, and the one the board's top asks are read from.

Revision ID: plan01
Revises: pipe01
Create Date: 2026-12-01 20:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "plan01"
down_revision = "pipe01"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "plan_totals",
        sa.Column("measure", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=30), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("weighted", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "measure", "stage", "fiscal_year", "source", "currency", name=op.f("pk_plan_totals")
        ),
    )
    op.create_index("ix_opportunities_created_at", "opportunities", ["created_at"])
    op.create_index("ix_opportunities_currency_amount", "opportunities", ["currency", "amount"])
    # Backfill with the rules the listener keeps (the same code the test compares the kept rows with).
    from app.pipeline.plan_totals import rebuild_plan_totals

    rebuild_plan_totals(op.get_bind())


def downgrade():
    op.drop_index("ix_opportunities_currency_amount", table_name="opportunities")
    op.drop_index("ix_opportunities_created_at", table_name="opportunities")
    op.drop_table("plan_totals")
